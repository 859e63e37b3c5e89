//! The per-flow QUIC session: one connection per client Initial DCID (a Retry or a Version
//! Negotiation keeps the connection; the client's next Initial re-derives the keys from its new
//! DCID and version). Initial packets of both sides are decrypted, their CRYPTO frames
//! reassembled by offset (bounded by `max_buffer_bytes`) into the ClientHello and ServerHello.
//! The event is published when the flow ends or after `transaction_timeout` of silence.

use super::crypto::{self, Keys};
use super::fields::{
    tls_fields, version_hex, ConnectionClose, Fields, NetworkTraffic, QuicFields,
    VersionNegotiation,
};
use super::parser::{initial_prefix, parse_frames, parse_packet, Frame, Kind, LongHeader, LongType, Packet};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::tls::hello::{self, ClientHello, ServerHello};
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::BTreeMap;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One direction's CRYPTO stream of the Initial space, reassembled by offset.
#[derive(Default)]
pub struct CryptoStream {
    /// Contiguous bytes from offset 0.
    pub data: Vec<u8>,
    /// Frames beyond a hole, by offset.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
}

impl CryptoStream {
    /// Adds a CRYPTO frame; false when the buffer limit refused (part of) it.
    pub fn insert(&mut self, offset: u64, data: &[u8], max: usize) -> bool {
        let end = offset.saturating_add(data.len() as u64);
        if end > max as u64 {
            return false;
        }
        let have = self.data.len() as u64;
        if end <= have {
            return true;
        }
        if offset > have {
            if self.pending_bytes + data.len() > max {
                return false;
            }
            self.pending_bytes += data.len();
            if let Some(old) = self.pending.insert(offset, data.to_vec()) {
                self.pending_bytes -= old.len();
            }
            return true;
        }
        let skip = usize::try_from(have - offset).unwrap_or(usize::MAX);
        self.data.extend_from_slice(data.get(skip..).unwrap_or_default());
        while let Some((&off, _)) = self.pending.first_key_value() {
            if off > self.data.len() as u64 {
                break;
            }
            if let Some((off, chunk)) = self.pending.pop_first() {
                self.pending_bytes -= chunk.len();
                let skip = usize::try_from(self.data.len() as u64 - off).unwrap_or(usize::MAX);
                self.data.extend_from_slice(chunk.get(skip..).unwrap_or_default());
            }
        }
        true
    }

    /// The first complete handshake message of the stream: (type, body).
    pub fn first_message(&self) -> Option<(u8, &[u8])> {
        let typ = *self.data.first()?;
        let len = self.data.get(1..4)?;
        let len = (usize::from(len[0]) << 16) | (usize::from(len[1]) << 8) | usize::from(len[2]);
        Some((typ, self.data.get(4..4 + len)?))
    }
}

#[derive(Default)]
struct Side {
    keys: Option<Keys>,
    largest_pn: Option<u64>,
    crypto: CryptoStream,
}

struct Conn {
    start: i64,
    last: i64,
    version: u32,
    /// (version, DCID) the Initial keys come from.
    keyed: Option<(u32, Vec<u8>)>,
    first_dcid: Vec<u8>,
    scid: Vec<u8>,
    server_scid: Option<Vec<u8>>,
    /// Connection IDs the server chose (Retry, Initial and Handshake SCIDs).
    server_cids: Vec<Vec<u8>>,
    sides: [Side; 2],
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    quic: QuicFields,
    /// A Retry or Version Negotiation came: the client's next Initial starts over.
    restart: bool,
    handshake_seen: [bool; 2],
    bytes: [u64; 2],
    notes: Vec<String>,
}

impl Conn {
    fn new(ts: i64) -> Conn {
        Conn {
            start: ts,
            last: ts,
            version: 0,
            keyed: None,
            first_dcid: Vec::new(),
            scid: Vec::new(),
            server_scid: None,
            server_cids: Vec::new(),
            sides: [Side::default(), Side::default()],
            client_hello: None,
            server_hello: None,
            quic: QuicFields::default(),
            restart: false,
            handshake_seen: [false; 2],
            bytes: [0; 2],
            notes: Vec::new(),
        }
    }

    fn note(&mut self, n: &str) {
        if !self.notes.iter().any(|x| x == n) && self.notes.len() < 16 {
            self.notes.push(n.to_owned());
        }
    }

    /// Whether a client Initial of this version to this DCID uses the current keys: the DCID
    /// the keys come from, or one the server gave (its SCID, which the client switches to).
    fn same_keys(&self, version: u32, dcid: &[u8]) -> bool {
        match &self.keyed {
            Some((v, d)) => {
                *v == version && (d == dcid || (!self.restart && self.server_cids.iter().any(|c| c == dcid)))
            }
            None => false,
        }
    }

    /// A connection ID the server chose.
    fn learn(&mut self, cid: &[u8]) {
        if self.server_cids.len() < 8 && !self.server_cids.iter().any(|c| c == cid) {
            self.server_cids.push(cid.to_vec());
        }
    }

    /// Keys of both sides for the client's Initial (version, DCID).
    fn key(&mut self, version: u32, dcid: &[u8]) {
        self.sides[0] = Side {
            keys: Keys::initial(version, dcid, false),
            ..Side::default()
        };
        self.sides[1] = Side { keys: Keys::initial(version, dcid, true), ..Side::default() };
        self.keyed = Some((version, dcid.to_vec()));
        self.client_hello = None;
        self.server_hello = None;
    }
}

pub struct QuicParser {
    conn: Option<Conn>,
    max_buffer: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

impl QuicParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        QuicParser {
            conn: None,
            max_buffer: ctx.limits.max_buffer_bytes,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn publish(&mut self, out: &mut Vec<Txn>) {
        let Some(c) = self.conn.take() else { return };
        let established = c.handshake_seen[0] && c.handshake_seen[1];
        let mut quic = c.quic;
        if c.version != 0 {
            quic.version = Some(version_hex(c.version));
        }
        quic.dcid = (!c.first_dcid.is_empty() || c.version != 0).then(|| hex(&c.first_dcid));
        quic.scid = (!c.scid.is_empty()).then(|| hex(&c.scid));
        quic.server_scid = c.server_scid.as_deref().map(hex);
        let mut tls = tls_fields(c.client_hello.as_ref(), c.server_hello.as_ref(), established);
        let sni = c.client_hello.as_ref().and_then(|h| h.ext.server_names.first().cloned());
        let failed = quic.connection_close.as_ref().is_some_and(|cc| cc.error_code != 0);
        // The server's ALPN choice travels in EncryptedExtensions (Handshake packets, not
        // decrypted here). QUIC requires ALPN (RFC 9001 section 8.1): a server that answered
        // with a ServerHello and did not close the connection took the client's protocol when
        // the client offered only one.
        if let (Some(ch), Some(_), false) = (&c.client_hello, &c.server_hello, failed) {
            if let [only] = ch.ext.alpn.as_slice() {
                tls.next_protocol.get_or_insert_with(|| String::from_utf8_lossy(only).into_owned());
            }
        }
        let mut t =
            Txn::new(&PROTOCOL, c.start, Fields { tls, network_traffic: NetworkTraffic { quic } });
        t.end_ns = Some(c.last);
        t.client_bytes = c.bytes[0];
        t.server_bytes = c.bytes[1];
        t.outcome = if failed {
            Outcome::Failure
        } else if established || c.server_hello.is_some() {
            Outcome::Success
        } else {
            Outcome::Unknown
        };
        if failed {
            t.status = "Error";
        }
        if c.client_hello.is_none() {
            t.notes.push("no ClientHello seen".into());
        }
        t.notes.extend(c.notes);
        if let Some(s) = &sni {
            t.related_hosts.push(s.clone());
        }
        t.server_domain = sni;
        out.push(t);
    }

    fn long(&mut self, side: usize, ts: i64, h: &LongHeader<'_>, pkt: &[u8], out: &mut Vec<Txn>) {
        // A client Initial whose DCID this connection never named, once the hello is known
        // and no Retry or Version Negotiation asked for a new Initial: a new connection.
        if side == 0 && matches!(h.kind, Kind::Protected { kind: LongType::Initial, .. }) {
            if let Some(c) = &self.conn {
                if c.client_hello.is_some() && !c.restart && !c.same_keys(h.version, h.dcid) {
                    self.publish(out);
                }
            }
        }
        let max = self.max_buffer;
        let c = self.conn.get_or_insert_with(|| Conn::new(ts));
        c.last = ts;
        c.bytes[side] += h.len as u64;
        match &h.kind {
            Kind::VersionNegotiation(v) => {
                c.quic.packets.version_negotiation += 1;
                c.quic.version_negotiation = Some(VersionNegotiation {
                    offered_versions: v.iter().map(|x| version_hex(*x)).collect(),
                });
                c.restart = true;
            }
            Kind::UnknownVersion => {
                if side == 0 {
                    if c.version == 0 {
                        c.version = h.version;
                        c.first_dcid = h.dcid.to_vec();
                        c.scid = h.scid.to_vec();
                    }
                    c.note("unknown QUIC version");
                }
            }
            Kind::Retry { .. } => {
                c.quic.packets.retry += 1;
                c.quic.retry = true;
                c.server_scid = Some(h.scid.to_vec());
                c.learn(h.scid);
                c.restart = true;
            }
            Kind::Protected { kind, pn_offset, .. } => {
                match kind {
                    LongType::Initial => c.quic.packets.initial += 1,
                    LongType::ZeroRtt => c.quic.packets.zero_rtt += 1,
                    LongType::Handshake => {
                        c.quic.packets.handshake += 1;
                        c.handshake_seen[side] = true;
                    }
                    LongType::Retry => {}
                }
                if side == 1 {
                    c.server_scid.get_or_insert_with(|| h.scid.to_vec());
                    c.learn(h.scid);
                }
                if *kind != LongType::Initial {
                    return;
                }
                if side == 0 {
                    if c.version == 0 || c.version != h.version {
                        c.version = h.version;
                    }
                    if c.first_dcid.is_empty() && c.keyed.is_none() {
                        c.first_dcid = h.dcid.to_vec();
                        c.scid = h.scid.to_vec();
                    }
                    if !c.same_keys(h.version, h.dcid) {
                        c.key(h.version, h.dcid);
                    }
                    c.restart = false;
                }
                let mut buf = pkt.get(..h.len).unwrap_or_default().to_vec();
                let s = &mut c.sides[side];
                let Some(keys) = &s.keys else {
                    c.quic.packets.undecryptable += 1;
                    c.note("Initial without keys (client Initial not seen)");
                    return;
                };
                let range = match crypto::open(keys, &mut buf, *pn_offset, s.largest_pn) {
                    Ok((pn, range)) => {
                        s.largest_pn = Some(s.largest_pn.map_or(pn, |l| l.max(pn)));
                        range
                    }
                    Err(why) => {
                        c.quic.packets.undecryptable += 1;
                        self.counters.malformed += 1;
                        c.note(&format!("undecryptable Initial: {why}"));
                        return;
                    }
                };
                let plain = buf.get(range).unwrap_or_default();
                let frames = match parse_frames(plain) {
                    Ok(f) => f,
                    Err(e) => {
                        self.counters.malformed += 1;
                        c.note(&format!("Initial frames: {e}"));
                        return;
                    }
                };
                for f in frames {
                    match f {
                        Frame::Crypto { offset, data } => {
                            if !c.sides[side].crypto.insert(offset, data, max) {
                                self.counters.limit_hits += 1;
                                c.note("CRYPTO data over the buffer limit");
                            }
                        }
                        Frame::ConnectionClose { code, reason, .. } => {
                            c.quic.connection_close = Some(ConnectionClose {
                                source: if side == 0 { "client" } else { "server" },
                                error_code: code,
                                reason: String::from_utf8_lossy(reason).into_owned(),
                            });
                        }
                        Frame::Padding | Frame::Ping | Frame::Ack { .. } => {}
                    }
                }
                self.hellos(side);
            }
        }
    }

    fn hellos(&mut self, side: usize) {
        let Some(c) = self.conn.as_mut() else { return };
        if (side == 0 && c.client_hello.is_some()) || (side == 1 && c.server_hello.is_some()) {
            return;
        }
        let Some((typ, body)) = c.sides[side].crypto.first_message() else { return };
        match (side, typ) {
            (0, 1) => match hello::parse_client_hello(body) {
                Ok(ch) => c.client_hello = Some(ch),
                Err(e) => {
                    self.counters.malformed += 1;
                    c.note(e);
                }
            },
            (1, 2) => match hello::parse_server_hello(body) {
                Ok(sh) => c.server_hello = Some(sh),
                Err(e) => {
                    self.counters.malformed += 1;
                    c.note(e);
                }
            },
            _ => {
                self.counters.malformed += 1;
                c.note("unexpected first handshake message in the Initial CRYPTO stream");
            }
        }
        if side == 0 && c.client_hello.is_some() {
            // The hello is read: the stream's bytes are no longer needed.
            c.sides[0].crypto = CryptoStream::default();
        }
        if side == 1 && c.server_hello.is_some() {
            c.sides[1].crypto = CryptoStream::default();
        }
    }
}

impl Parser for QuicParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = usize::from(dir == Dir::ToClient);
        let mut at = 0;
        while at < bytes.len() {
            let rest = bytes.get(at..).unwrap_or_default();
            match parse_packet(rest) {
                Ok(Packet::Short) => {
                    // Zero bytes after coalesced packets are padding, not a packet.
                    if at > 0 && rest.first().is_some_and(|b| b & 0x40 == 0) {
                        break;
                    }
                    if let Some(c) = self.conn.as_mut() {
                        c.quic.packets.short += 1;
                        c.handshake_seen[side] = true;
                        c.last = ts_ns;
                        c.bytes[side] += rest.len() as u64;
                        self.counters.messages += 1;
                    }
                    break;
                }
                Ok(Packet::Long(h)) => {
                    self.counters.messages += 1;
                    let len = h.len.max(1);
                    self.long(side, ts_ns, &h, rest, out);
                    at += len;
                }
                Err(e) => {
                    self.counters.malformed += 1;
                    let c = self.conn.get_or_insert_with(|| Conn::new(ts_ns));
                    c.last = ts_ns;
                    c.bytes[side] += rest.len() as u64;
                    // A client Initial cut short still names the keys of the server's Initial.
                    if let (0, Some((version, dcid, scid))) = (side, initial_prefix(rest)) {
                        c.quic.packets.initial += 1;
                        if c.keyed.is_none() || c.restart {
                            c.version = version;
                            if c.first_dcid.is_empty() {
                                c.first_dcid = dcid.to_vec();
                                c.scid = scid.to_vec();
                            }
                            c.key(version, dcid);
                            c.restart = false;
                        }
                    }
                    c.note(match e {
                        ParseError::Incomplete => "truncated QUIC packet",
                        ParseError::Malformed(why) => why,
                    });
                    break;
                }
            }
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        if self.conn.as_ref().is_some_and(|c| now_ns - c.last > self.timeout_ns) {
            self.publish(out);
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        self.publish(out);
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
