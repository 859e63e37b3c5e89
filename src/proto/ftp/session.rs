//! The FTP control connection's session: pairs each command with its final reply (2xx-5xx;
//! 1xx replies are preliminary and kept), bounded by the pending-command limit and the
//! transaction timeout, with a buffer limit per direction; every limit hit and anomaly is
//! counted.

use super::fields::{DataEndpoint, Fields, File, FtpFields, NetworkTraffic, User};
use super::parser::{epsv_port, eprt, host_port, parse_command, parse_reply, size_in_text};
use super::parser::{Command, Reply};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

/// Bytes kept of arguments and reply texts.
const MAX_TEXT: usize = 1024;

/// Commands whose argument is a file path.
const FILE_COMMANDS: &[&str] =
    &["RETR", "STOR", "STOU", "APPE", "DELE", "SIZE", "MDTM", "RNFR", "RNTO", "MLST"];

struct Pending {
    ts: i64,
    cmd: Command,
    bytes: u64,
    preliminary: Vec<u16>,
    server_bytes: u64,
    size: Option<u64>,
}

pub struct FtpParser {
    buf: [Vec<u8>; 2],
    pending: VecDeque<Pending>,
    user: Option<String>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    /// Input of this side is skipped to the next line end after a malformed or overlong line.
    resync: [bool; 2],
    /// Time of the first packet of the message being buffered on each side.
    first_ts: [i64; 2],
    switched: bool,
    counters: ParserCounters,
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut n = MAX_TEXT;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    s
}

impl FtpParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        FtpParser {
            buf: [Vec::new(), Vec::new()],
            pending: VecDeque::new(),
            user: None,
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            resync: [false; 2],
            first_ts: [0; 2],
            switched: false,
            counters: ParserCounters::default(),
        }
    }

    /// The event of a command (or a lone reply) with its final reply when there was one.
    fn txn(&mut self, req: Option<Pending>, reply: Option<(i64, Reply, u64)>, start: i64) -> Txn {
        let mut ftp = FtpFields::default();
        let mut file = None;
        let mut auth = None;
        let (mut t_client, mut t_server, mut t_start) = (0, 0, start);
        if let Some(r) = &req {
            t_client = r.bytes;
            t_server = r.server_bytes;
            t_start = r.ts;
            ftp.command = Some(r.cmd.verb.clone());
            ftp.preliminary_codes = r.preliminary.clone();
            match r.cmd.verb.as_str() {
                "PASS" => ftp.password_sent = true,
                _ if !r.cmd.args.is_empty() => ftp.arguments = Some(cut(r.cmd.args.clone())),
                _ => {}
            }
            if r.cmd.verb == "USER" && !r.cmd.args.is_empty() {
                self.user = Some(cut(r.cmd.args.clone()));
            }
            if FILE_COMMANDS.contains(&r.cmd.verb.as_str()) && !r.cmd.args.is_empty() {
                let path = cut(r.cmd.args.clone());
                let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
                file = Some(File { name, path, size: r.size });
            }
            match r.cmd.verb.as_str() {
                "PORT" => {
                    ftp.data = host_port(&r.cmd.args).map(|(ip, port)| DataEndpoint {
                        ip: Some(ip.to_string()),
                        port,
                        passive: false,
                    })
                }
                "EPRT" => {
                    ftp.data = eprt(&r.cmd.args).map(|(ip, port)| DataEndpoint {
                        ip: Some(ip.to_string()),
                        port,
                        passive: false,
                    })
                }
                _ => {}
            }
        }
        let mut t = Txn::new(&PROTOCOL, t_start, Fields {
            user: None,
            file: None,
            network_traffic: NetworkTraffic { ftp: FtpFields::default() },
        });
        if let Some((ts, reply, bytes)) = &reply {
            t.end_ns = Some(*ts);
            t_server += bytes;
            ftp.reply_code = Some(reply.code);
            ftp.reply_text = Some(cut(reply.text.clone()));
            let ok = (200..400).contains(&reply.code);
            t.outcome = if ok { Outcome::Success } else { Outcome::Failure };
            t.status = if ok { "OK" } else { "Error" };
            let verb = req.as_ref().map(|r| r.cmd.verb.as_str());
            match (verb, reply.code) {
                (Some("PASS" | "USER"), 230) => auth = Some(Outcome::Success),
                (Some("PASS"), 500..=599) | (Some("USER"), 530) => {
                    auth = Some(Outcome::Failure)
                }
                (Some("PASS"), _) => auth = Some(Outcome::Unknown),
                (Some("PASV"), 227) => {
                    ftp.data = host_port(&reply.text).map(|(ip, port)| DataEndpoint {
                        ip: Some(ip.to_string()),
                        port,
                        passive: true,
                    })
                }
                (Some("EPSV"), 229) => {
                    ftp.data =
                        epsv_port(&reply.text).map(|port| DataEndpoint { ip: None, port, passive: true })
                }
                (Some("SIZE"), 213) => {
                    if let (Some(f), Ok(n)) = (file.as_mut(), reply.text.trim().parse::<u64>()) {
                        f.size = Some(n);
                    }
                }
                (Some("AUTH"), 234) => self.switched = true,
                _ => {}
            }
        } else if req.as_ref().is_some_and(|r| r.cmd.verb == "PASS") {
            auth = Some(Outcome::Unknown);
        }
        if req.is_none() && reply.as_ref().is_some_and(|r| r.1.code != 220) {
            t.notes.push("reply without command".into());
        }
        if let Some(r) = &req {
            t.method = Some(r.cmd.verb.clone());
            t.query = Some(match &ftp.arguments {
                Some(a) => format!("{} {a}", r.cmd.verb),
                None => r.cmd.verb.clone(),
            });
            t.resource = file.as_ref().map(|f| f.path.clone());
        }
        t.client_bytes = t_client;
        t.server_bytes = t_server;
        t.auth = auth;
        t.fields = Fields {
            user: self.user.clone().map(|name| User { name }),
            file,
            network_traffic: NetworkTraffic { ftp },
        }
        .into();
        t
    }

    fn command(&mut self, ts: i64, cmd: Command, used: usize, out: &mut Vec<Txn>) {
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(old) = self.pending.pop_front() {
                let t = self.txn(Some(old), None, ts);
                out.push(t);
            }
        }
        self.pending.push_back(Pending {
            ts,
            cmd,
            bytes: used as u64,
            preliminary: Vec::new(),
            server_bytes: 0,
            size: None,
        });
    }

    fn reply(&mut self, ts: i64, reply: Reply, used: usize, out: &mut Vec<Txn>) {
        if (100..200).contains(&reply.code) {
            if let Some(p) = self.pending.front_mut() {
                p.preliminary.push(reply.code);
                p.server_bytes += used as u64;
                p.size = p.size.or_else(|| size_in_text(&reply.text));
                return;
            }
        }
        let req = self.pending.pop_front();
        if req.is_none() && reply.code != 220 {
            self.counters.unmatched += 1;
        }
        let t = self.txn(req, Some((ts, reply, used as u64)), ts);
        out.push(t);
    }
}

impl Parser for FtpParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.switched {
            return;
        }
        let side = usize::from(dir == Dir::ToClient);
        if self.buf[side].is_empty() {
            self.first_ts[side] = ts_ns;
        }
        self.buf[side].extend_from_slice(bytes);
        loop {
            if self.resync[side] {
                match self.buf[side].iter().position(|&b| b == b'\n') {
                    Some(nl) => {
                        self.buf[side].drain(..=nl);
                        self.resync[side] = false;
                    }
                    None => {
                        self.buf[side].clear();
                        return;
                    }
                }
            }
            if self.buf[side].is_empty() {
                return;
            }
            let parsed = if side == 0 {
                parse_command(&self.buf[side]).map(|(c, n)| (Ok(c), n))
            } else {
                parse_reply(&self.buf[side]).map(|(r, n)| (Err(r), n))
            };
            match parsed {
                Ok((msg, used)) => {
                    self.buf[side].drain(..used);
                    self.counters.messages += 1;
                    let first = std::mem::replace(&mut self.first_ts[side], ts_ns);
                    match msg {
                        Ok(cmd) => self.command(first, cmd, used, out),
                        Err(reply) => self.reply(ts_ns, reply, used, out),
                    }
                    if self.switched {
                        self.buf = [Vec::new(), Vec::new()];
                        return;
                    }
                }
                Err(ParseError::Incomplete) => {
                    if self.buf[side].len() > self.max_buffer {
                        self.counters.limit_hits += 1;
                        self.buf[side].clear();
                        self.resync[side] = true;
                    }
                    return;
                }
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    self.resync[side] = true;
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let side = usize::from(dir == Dir::ToClient);
        self.buf[side].clear();
        self.resync[side] = true;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        // A command with a preliminary reply is a transfer under way: it waits for its end.
        while self
            .pending
            .front()
            .is_some_and(|p| p.preliminary.is_empty() && now_ns - p.ts > self.timeout_ns)
        {
            if let Some(p) = self.pending.pop_front() {
                let mut t = self.txn(Some(p), None, now_ns);
                t.notes.push("no reply within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            let t = self.txn(Some(p), None, 0);
            out.push(t);
        }
    }

    fn handoff(&mut self) -> Option<crate::proto::Handoff> {
        self.switched.then_some(crate::proto::Handoff::Switched)
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
