//! The per-connection SSH session: both identification lines, both first KEXINITs, NEWKEYS,
//! then the size heuristic over the encrypted segments (module doc); one [`Txn`] per
//! connection, published when the flow closes.

use super::fields::{Algorithms, Fields, Negotiated, NetworkTraffic, Side, SshFields};
use super::parser::{
    hassh_algorithms, negotiate, parse_kexinit, parse_line, parse_packet, Banner, KexInit, Line,
    MSG_KEXINIT, MSG_NEWKEYS,
};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::tls::fingerprint::md5_hex;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};

/// Lines before the identification string beyond which the stream is not SSH.
const MAX_LINES: u32 = 64;

/// Server segments of sizes other than the failure reply's, and client segments, after the
/// first such segment, that make a session (the login succeeded).
const SESSION_SERVER_SEGMENTS: u64 = 3;
const SESSION_CLIENT_SEGMENTS: u64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Lines up to and with the identification string.
    Lines,
    /// Cleartext binary packets up to NEWKEYS.
    Packets,
    /// After NEWKEYS: only segment sizes are looked at.
    Encrypted,
    /// Not followed any more (SSH-1, malformed, bytes lost, buffer limit).
    Opaque,
}

struct SideState {
    buf: Vec<u8>,
    stage: Stage,
    lines: u32,
    /// Cleartext packets parsed.
    packets: u64,
    banner: Option<Banner>,
    kexinit: Option<KexInit>,
    bytes: u64,
}

impl SideState {
    fn new() -> Self {
        SideState {
            buf: Vec::new(),
            stage: Stage::Lines,
            lines: 0,
            packets: 0,
            banner: None,
            kexinit: None,
            bytes: 0,
        }
    }
}

/// The authentication heuristic's state over encrypted segments.
#[derive(Debug, Default)]
struct Auth {
    client_segments: u64,
    server_segments: u64,
    /// Client segments after the service request up to a session.
    attempts: u64,
    /// Size of the server's first reply after an authentication request.
    failure_size: Option<usize>,
    failure_replies: u64,
    /// Since the first server reply of another size: (server segments, client segments).
    candidate: Option<(u64, u64)>,
    success: bool,
    /// Bytes were lost after NEWKEYS: sizes cannot be trusted.
    unreliable: bool,
}

impl Auth {
    fn segment(&mut self, dir: Dir, len: usize) {
        if dir == Dir::ToServer {
            self.client_segments += 1;
            if self.success || self.client_segments == 1 {
                // The first is SSH_MSG_SERVICE_REQUEST "ssh-userauth".
                return;
            }
            match &mut self.candidate {
                Some((_, c)) => *c += 1,
                None => self.attempts += 1,
            }
            return;
        }
        self.server_segments += 1;
        if self.success || self.attempts == 0 {
            // SERVICE_ACCEPT, EXT_INFO: before any authentication request.
            return;
        }
        match self.failure_size {
            None => {
                self.failure_size = Some(len);
                self.failure_replies = 1;
            }
            Some(f) if f == len => {
                self.failure_replies += 1;
                if let Some((_, c)) = self.candidate.take() {
                    self.attempts += c;
                }
            }
            Some(_) => {
                let (s, c) = self.candidate.get_or_insert((0, 0));
                *s += 1;
                if *s >= SESSION_SERVER_SEGMENTS && *c >= SESSION_CLIENT_SEGMENTS {
                    self.success = true;
                }
            }
        }
    }

    /// The inferred outcome of the login.
    fn outcome(&self) -> Outcome {
        if self.unreliable {
            Outcome::Unknown
        } else if self.success {
            Outcome::Success
        } else if self.candidate.is_none() && self.failure_replies >= 2 && self.attempts >= 2 {
            Outcome::Failure
        } else {
            Outcome::Unknown
        }
    }
}

pub struct SshParser {
    sides: [SideState; 2],
    auth: Auth,
    start_ns: Option<i64>,
    last_ns: i64,
    notes: Vec<String>,
    max_buffer: usize,
    published: bool,
    /// A side's banner is SSH-1 (1.x other than 1.99).
    ssh1: bool,
    counters: ParserCounters,
}

fn side_index(dir: Dir) -> usize {
    usize::from(dir == Dir::ToClient)
}

fn split(list: &str) -> Vec<String> {
    list.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn algorithms(k: &KexInit) -> Algorithms {
    Algorithms {
        kex: split(&k.kex),
        host_key: split(&k.host_key),
        cipher_c2s: split(&k.enc_c2s),
        cipher_s2c: split(&k.enc_s2c),
        mac_c2s: split(&k.mac_c2s),
        mac_s2c: split(&k.mac_s2c),
        compression_c2s: split(&k.cmp_c2s),
        compression_s2c: split(&k.cmp_s2c),
    }
}

fn side_fields(s: &SideState) -> Side {
    Side {
        banner: s.banner.as_ref().map(|b| b.text.clone()),
        version: s.banner.as_ref().map(|b| b.proto_version.clone()),
        software: s.banner.as_ref().map(|b| b.software.clone()),
        comments: s.banner.as_ref().and_then(|b| b.comments.clone()),
        algorithms: s.kexinit.as_ref().map(algorithms),
    }
}

impl SshParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        SshParser {
            sides: [SideState::new(), SideState::new()],
            auth: Auth::default(),
            start_ns: None,
            last_ns: 0,
            notes: Vec::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            published: false,
            ssh1: false,
            counters: ParserCounters::default(),
        }
    }

    fn note(&mut self, dir: Dir, what: &str) {
        let who = if dir == Dir::ToServer { "client" } else { "server" };
        let n = format!("{who}: {what}");
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// Parses what the side's buffer holds, as far as its stage allows.
    fn advance(&mut self, dir: Dir) {
        let i = side_index(dir);
        loop {
            let side = &mut self.sides[i];
            match side.stage {
                Stage::Lines => match parse_line(&side.buf) {
                    Ok((Line::Banner(b), used)) => {
                        side.buf.drain(..used);
                        self.counters.messages += 1;
                        // SSH-1 (not 1.99, which also speaks 2.0) has another packet format;
                        // when either side speaks it, so does the connection.
                        let v1 = b.proto_version.starts_with("1.") && b.proto_version != "1.99";
                        side.banner = Some(b);
                        self.ssh1 |= v1;
                        if self.ssh1 {
                            for s in &mut self.sides {
                                if s.stage == Stage::Packets || s.banner.is_some() {
                                    s.stage = Stage::Opaque;
                                    s.buf.clear();
                                }
                            }
                            if !self.notes.iter().any(|n| n.starts_with("SSH-1")) {
                                self.notes.push("SSH-1 protocol: packets not decoded".into());
                            }
                            return;
                        }
                        side.stage = Stage::Packets;
                    }
                    Ok((Line::Other, used)) => {
                        side.buf.drain(..used);
                        side.lines += 1;
                        if side.lines > MAX_LINES {
                            side.stage = Stage::Opaque;
                            side.buf.clear();
                            self.counters.malformed += 1;
                            self.note(dir, "no identification string");
                            return;
                        }
                    }
                    Err(ParseError::Incomplete) => return,
                    Err(ParseError::Malformed(why)) => return self.malformed(dir, why),
                },
                Stage::Packets => match parse_packet(&side.buf) {
                    Ok((p, used)) => {
                        self.counters.messages += 1;
                        side.packets += 1;
                        let msg = p.msg;
                        let kex = (msg == MSG_KEXINIT).then(|| parse_kexinit(p.body));
                        side.buf.drain(..used);
                        match kex {
                            Some(Ok(k)) if side.kexinit.is_none() => side.kexinit = Some(k),
                            Some(Err(e)) => {
                                self.counters.malformed += 1;
                                let why = match e {
                                    ParseError::Malformed(w) => w,
                                    ParseError::Incomplete => "KEXINIT cut short",
                                };
                                self.note(dir, why);
                            }
                            _ => {}
                        }
                        if msg == MSG_NEWKEYS {
                            let side = &mut self.sides[i];
                            side.stage = Stage::Encrypted;
                            let rest = std::mem::take(&mut side.buf).len();
                            if rest > 0 {
                                self.auth.segment(dir, rest);
                            }
                            return;
                        }
                    }
                    Err(ParseError::Incomplete) => return,
                    Err(ParseError::Malformed(why)) => return self.packet_error(dir, why),
                },
                Stage::Encrypted | Stage::Opaque => return,
            }
        }
    }

    /// A packet that does not parse: malformed, unless a `1.99` side that sent no packet yet
    /// answers an SSH-1 peer (maybe not captured) in SSH-1.
    fn packet_error(&mut self, dir: Dir, why: &'static str) {
        let side = &mut self.sides[side_index(dir)];
        let compat = side.banner.as_ref().is_some_and(|b| b.proto_version == "1.99");
        if !compat || side.packets > 0 {
            return self.malformed(dir, why);
        }
        side.stage = Stage::Opaque;
        side.buf.clear();
        self.ssh1 = true;
        self.note(dir, "SSH-1 after a 1.99 banner: packets not decoded");
    }

    fn malformed(&mut self, dir: Dir, why: &'static str) {
        self.counters.malformed += 1;
        let side = &mut self.sides[side_index(dir)];
        side.stage = Stage::Opaque;
        side.buf.clear();
        self.note(dir, why);
    }

    fn txn(&mut self) -> Txn {
        let [c, s] = &self.sides;
        let mut f =
            SshFields { client: side_fields(c), server: side_fields(s), ..Default::default() };
        if let Some(k) = &c.kexinit {
            let a = hassh_algorithms(k, true);
            f.hassh = Some(md5_hex(&a));
            f.hassh_algorithms = Some(a);
        }
        if let Some(k) = &s.kexinit {
            let a = hassh_algorithms(k, false);
            f.hassh_server = Some(md5_hex(&a));
            f.hassh_server_algorithms = Some(a);
        }
        if let (Some(ck), Some(sk)) = (&c.kexinit, &s.kexinit) {
            f.negotiated = Some(Negotiated {
                kex: negotiate(&ck.kex, &sk.kex),
                host_key: negotiate(&ck.host_key, &sk.host_key),
                cipher_c2s: negotiate(&ck.enc_c2s, &sk.enc_c2s),
                cipher_s2c: negotiate(&ck.enc_s2c, &sk.enc_s2c),
                mac_c2s: negotiate(&ck.mac_c2s, &sk.mac_c2s),
                mac_s2c: negotiate(&ck.mac_s2c, &sk.mac_s2c),
                compression_c2s: negotiate(&ck.cmp_c2s, &sk.cmp_c2s),
                compression_s2c: negotiate(&ck.cmp_s2c, &sk.cmp_s2c),
            });
        }
        let encrypted = c.stage == Stage::Encrypted && s.stage == Stage::Encrypted;
        f.encrypted = encrypted;
        let (cb, sb) = (c.bytes, s.bytes);
        let mut auth = None;
        if encrypted {
            let a = self.auth.outcome();
            auth = Some(a);
            f.client_encrypted_packets = Some(self.auth.client_segments);
            f.server_encrypted_packets = Some(self.auth.server_segments);
            if self.auth.attempts > 0 {
                f.auth_attempts = Some(self.auth.attempts);
            }
        }
        let mut hashes = Vec::new();
        hashes.extend(f.hassh.clone());
        hashes.extend(f.hassh_server.clone());
        let start = self.start_ns.unwrap_or(self.last_ns);
        let mut t =
            Txn::new(&PROTOCOL, start, Fields { network_traffic: NetworkTraffic { ssh: f } });
        t.end_ns = Some(self.last_ns);
        t.client_bytes = cb;
        t.server_bytes = sb;
        t.related_hashes = hashes;
        t.auth = auth;
        t.outcome = auth.unwrap_or(Outcome::Unknown);
        if t.outcome == Outcome::Failure {
            t.status = "Error";
        }
        t.notes = std::mem::take(&mut self.notes);
        t
    }
}

impl Parser for SshParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], _out: &mut Vec<Txn>) {
        if self.published || bytes.is_empty() {
            return;
        }
        self.start_ns.get_or_insert(ts_ns);
        self.last_ns = self.last_ns.max(ts_ns);
        let i = side_index(dir);
        self.sides[i].bytes += bytes.len() as u64;
        match self.sides[i].stage {
            Stage::Encrypted => return self.auth.segment(dir, bytes.len()),
            Stage::Opaque => return,
            Stage::Lines | Stage::Packets => {}
        }
        if self.sides[i].buf.len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            let side = &mut self.sides[i];
            side.stage = Stage::Opaque;
            side.buf.clear();
            self.note(dir, "message larger than the buffer limit");
            return;
        }
        self.sides[i].buf.extend_from_slice(bytes);
        self.advance(dir);
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let side = &mut self.sides[side_index(dir)];
        match side.stage {
            Stage::Lines | Stage::Packets => {
                side.stage = Stage::Opaque;
                side.buf.clear();
                self.note(dir, "bytes missing before the keys were in use");
            }
            Stage::Encrypted => {
                self.auth.unreliable = true;
                self.note(dir, "bytes missing after NEWKEYS");
            }
            Stage::Opaque => {}
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        if std::mem::replace(&mut self.published, true) {
            return;
        }
        if self.sides.iter().all(|s| s.banner.is_none()) {
            if self.start_ns.is_some() {
                self.counters.unmatched += 1;
            }
            return;
        }
        out.push(self.txn());
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
