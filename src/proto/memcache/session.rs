//! The memcache per-flow session: FIFO pairing of text requests and replies (retrieval and
//! stats replies gather their `VALUE`/`STAT` lines up to `END`), opaque pairing of binary
//! messages (quiet requests answered by nothing are published when a later reply overtakes
//! them), `noreply`, and UDP datagrams (frame header, request id pairing, multi-datagram
//! replies).

use super::fields::{Fields, MemcacheFields, NetworkTraffic, RequestFields, ResponseFields};
use super::parser::{
    is_binary, parse_binary, parse_text_request, parse_text_response, udp_frame, Binary, Request,
    Response, TextUnit,
};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Transport, Txn};
use std::collections::{BTreeMap, VecDeque};

/// Datagrams of one UDP reply gathered at most.
pub const MAX_UDP_DATAGRAMS: u16 = 64;
/// UDP replies being gathered at once.
pub const MAX_UDP_PARTIAL: usize = 16;

struct Pending {
    ts: i64,
    bytes: u64,
    req: Request,
    binary: bool,
    udp_id: Option<u16>,
}

pub struct MemcacheParser {
    udp: bool,
    buf: [Vec<u8>; 2],
    lost: [bool; 2],
    start_ts: [i64; 2],
    pending: VecDeque<Pending>,
    /// A text retrieval or stats reply being gathered, with its first packet time and bytes.
    acc: Option<(i64, Response, u64)>,
    /// UDP request id of the reply being gathered.
    acc_udp_id: Option<u16>,
    /// UDP reply datagrams by request id: (count, parts by sequence number, bytes).
    partial: BTreeMap<u16, (u16, BTreeMap<u16, Vec<u8>>)>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn fields_of(req: Option<&Request>, resp: Option<&Response>, binary: bool) -> MemcacheFields {
    let request = req.map(|r| RequestFields {
        command: Some(r.command.clone()),
        r#type: Some(request_type(&r.command)),
        opcode: r.opcode,
        opcode_value: r.opcode_value,
        keys: r.keys.clone(),
        count_values: (r.count_values > 0).then_some(r.count_values),
        bytes: (r.count_values > 0).then_some(r.bytes),
        exptime: r.exptime,
        flags: r.flags,
        cas_unique: r.cas_unique,
        delta: r.delta,
        noreply: (!binary).then_some(r.noreply),
        quiet: binary.then_some(r.quiet),
        opaque: r.opaque,
        line: r.line.clone(),
    });
    let response = resp.map(|r| ResponseFields {
        command: Some(r.command.clone()),
        r#type: Some(response_type(r, binary)),
        opcode: r.opcode,
        status: r.status,
        status_code: r.status_code,
        error_msg: r.error_msg.clone(),
        keys: r.keys.clone(),
        count_values: (r.count_values > 0).then_some(r.count_values),
        bytes: (r.count_values > 0).then_some(r.bytes),
        value: r.value,
        version: r.version.clone(),
        cas_unique: r.cas_unique,
        opaque: r.opaque,
    });
    MemcacheFields {
        protocol_type: if binary { "binary" } else { "text" },
        request,
        response,
    }
}

/// Packetbeat's classification of a command.
fn request_type(cmd: &str) -> &'static str {
    match cmd {
        "get" | "gets" | "gat" | "gats" | "mg" => "Load",
        "set" | "add" | "replace" | "append" | "prepend" | "cas" | "touch" | "ms" => "Store",
        "delete" | "md" => "Delete",
        "incr" | "decr" | "ma" => "Counter",
        "stats" => "Stats",
        "version" | "verbosity" | "flush_all" | "quit" | "noop" | "mn" => "Info",
        "slabs" => "SlabCtrl",
        "lru_crawler" => "LRUCrawler",
        "sasl_list_mechs" | "sasl_auth" | "sasl_step" => "Auth",
        _ => "UNKNOWN",
    }
}

fn response_type(r: &Response, binary: bool) -> &'static str {
    if binary {
        return request_type(&r.command);
    }
    match r.command.as_str() {
        "STORED" | "DELETED" | "TOUCHED" | "OK" | "HD" | "MN" => "Success",
        "NOT_STORED" | "EXISTS" | "NOT_FOUND" | "ERROR" | "CLIENT_ERROR" | "SERVER_ERROR"
        | "EN" | "NF" | "NS" | "EX" => "Fail",
        "VALUE" | "END" | "VA" if r.value.is_none() => "Load",
        "VALUE" => "Counter",
        "STAT" => "Stats",
        "VERSION" => "Info",
        _ => "UNKNOWN",
    }
}

/// Whether a reply is a failure of the request (`event.outcome`).
fn failed(r: &Response) -> bool {
    r.is_error || matches!(r.command.as_str(), "NOT_STORED" | "EXISTS" | "NOT_FOUND" | "NS" | "EX" | "NF")
}

impl MemcacheParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        MemcacheParser {
            udp: ctx.transport == Transport::Udp,
            buf: [Vec::new(), Vec::new()],
            lost: [false, false],
            start_ts: [0, 0],
            pending: VecDeque::new(),
            acc: None,
            acc_udp_id: None,
            partial: BTreeMap::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn txn(req: Option<Pending>, resp: Option<(i64, Response, u64)>, start: i64) -> Txn {
        let binary = req.as_ref().map(|p| p.binary).unwrap_or_else(|| {
            resp.as_ref().is_some_and(|r| r.1.opcode.is_some())
        });
        let f = fields_of(req.as_ref().map(|p| &p.req), resp.as_ref().map(|r| &r.1), binary);
        let mut t = Txn::new(
            &PROTOCOL,
            req.as_ref().map(|p| p.ts).unwrap_or(start),
            Fields { network_traffic: NetworkTraffic { memcached: f } },
        );
        if let Some(p) = &req {
            t.client_bytes = p.bytes;
            t.method = Some(p.req.command.clone());
            t.resource = p.req.keys.first().cloned();
            t.query = Some(match p.req.keys.first() {
                Some(k) => format!("{} {k}", p.req.command),
                None => p.req.command.clone(),
            });
        } else {
            t.notes.push("response without request".into());
        }
        if let Some((ts, r, bytes)) = &resp {
            t.end_ns = Some(*ts);
            t.server_bytes = *bytes;
            let bad = failed(r);
            t.outcome = if bad { Outcome::Failure } else { Outcome::Success };
            if bad {
                t.status = "Error";
            }
            if r.opcode == Some("SASLAuth") || r.opcode == Some("SASLStep") {
                t.auth = Some(match r.status_code {
                    Some(0) => Outcome::Success,
                    Some(8) => Outcome::Failure,
                    _ => Outcome::Unknown,
                });
            }
        }
        t
    }

    fn request(&mut self, p: Pending, out: &mut Vec<Txn>) {
        let no_reply = (!p.binary && (p.req.noreply || p.req.command == "quit"))
            || (p.binary && p.req.opcode == Some("QuitQ"));
        if no_reply {
            let mut t = Self::txn(Some(p), None, 0);
            t.notes.push("no reply expected (noreply)".into());
            t.outcome = Outcome::Success;
            out.push(t);
            return;
        }
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(old) = self.pending.pop_front() {
                let mut t = Self::txn(Some(old), None, 0);
                t.notes.push("too many requests awaiting a reply".into());
                out.push(t);
            }
        }
        self.pending.push_back(p);
    }

    /// A complete reply: pairs it with its request.
    fn reply(&mut self, ts: i64, r: Response, bytes: u64, udp_id: Option<u16>, out: &mut Vec<Txn>) {
        let binary = r.opcode.is_some();
        let at = if binary {
            self.pending.iter().position(|p| p.binary && p.req.opaque == r.opaque && (udp_id.is_none() || p.udp_id == udp_id))
        } else if udp_id.is_some() {
            self.pending.iter().position(|p| !p.binary && p.udp_id == udp_id)
        } else {
            self.pending.iter().position(|p| !p.binary)
        };
        let Some(at) = at else {
            self.counters.unmatched += 1;
            out.push(Self::txn(None, Some((ts, r, bytes)), ts));
            return;
        };
        if binary {
            // Quiet requests before it were answered by silence: success (or a GetQ miss).
            let mut i = 0;
            let mut left = at;
            while i < left {
                if self.pending.get(i).is_some_and(|p| p.binary && p.req.quiet) {
                    if let Some(q) = self.pending.remove(i) {
                        let mut t = Self::txn(Some(q), None, 0);
                        t.notes.push("quiet request: no reply (success, or a miss for a get)".into());
                        out.push(t);
                    }
                    left -= 1;
                } else {
                    i += 1;
                }
            }
            let req = self.pending.remove(left);
            out.push(Self::txn(req, Some((ts, r, bytes)), ts));
        } else {
            let req = self.pending.remove(at);
            out.push(Self::txn(req, Some((ts, r, bytes)), ts));
        }
    }

    /// One text unit of the server: gathers VALUE/STAT lines, completes replies.
    fn text_unit(&mut self, ts: i64, u: TextUnit, used: usize, udp_id: Option<u16>, out: &mut Vec<Txn>) {
        let used = used as u64;
        match u {
            TextUnit::Value { key, bytes, cas } => {
                let (_, r, b) = self.acc.get_or_insert_with(|| {
                    (ts, Response { command: "VALUE".into(), ..Response::default() }, 0)
                });
                if r.keys.len() < super::parser::MAX_KEYS {
                    r.keys.push(key);
                }
                r.count_values += 1;
                r.bytes += bytes;
                if cas.is_some() {
                    r.cas_unique = cas;
                }
                *b += used;
            }
            TextUnit::Stat => {
                let (_, r, b) = self.acc.get_or_insert_with(|| {
                    (ts, Response { command: "STAT".into(), ..Response::default() }, 0)
                });
                r.count_values += 1;
                *b += used;
            }
            TextUnit::End => {
                let (r, b) = match self.acc.take() {
                    Some((_, mut r, b)) => {
                        if r.command == "STAT" {
                            r.count_values = 0;
                        }
                        (r, b + used)
                    }
                    None => (Response { command: "END".into(), ..Response::default() }, used),
                };
                self.reply(ts, r, b, udp_id, out);
            }
            TextUnit::Reply(r) => {
                if let Some((_, a, b)) = self.acc.take() {
                    self.reply(ts, a, b, udp_id, out);
                }
                self.reply(ts, r, used, udp_id, out);
            }
        }
    }

    /// Parses every message of `data` (a TCP buffer or a UDP payload); returns the bytes used.
    fn parse(&mut self, dir: Dir, start: i64, ts: i64, data: &[u8], udp_id: Option<u16>, out: &mut Vec<Txn>) -> Result<usize, ParseError> {
        let mut pos = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            let first = rest.first().copied().unwrap_or(0);
            let t0 = if pos == 0 { start } else { ts };
            let used = if is_binary(first) {
                let (m, used) = match parse_binary(rest) {
                    Err(ParseError::Incomplete) => return Ok(pos),
                    r => r?,
                };
                self.counters.messages += 1;
                match (m, dir) {
                    (Binary::Request(req), Dir::ToServer) => {
                        self.request(Pending { ts: t0, bytes: used as u64, req, binary: true, udp_id }, out)
                    }
                    (Binary::Response(r), Dir::ToClient) => self.reply(ts, r, used as u64, udp_id, out),
                    _ => return Err(ParseError::Malformed("binary message in the wrong direction")),
                }
                used
            } else if dir == Dir::ToServer {
                let (req, used) = match parse_text_request(rest) {
                    Err(ParseError::Incomplete) => return Ok(pos),
                    r => r?,
                };
                if let Some(req) = req {
                    self.counters.messages += 1;
                    self.request(Pending { ts: t0, bytes: used as u64, req, binary: false, udp_id }, out);
                }
                used
            } else {
                let (u, used) = match parse_text_response(rest) {
                    Err(ParseError::Incomplete) => return Ok(pos),
                    r => r?,
                };
                self.counters.messages += 1;
                self.text_unit(ts, u, used, udp_id, out);
                used
            };
            pos += used;
        }
        Ok(pos)
    }

    fn flush_pending(&mut self, note: &str, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            let mut t = Self::txn(Some(p), None, 0);
            t.notes.push(note.into());
            out.push(t);
        }
        self.acc = None;
    }

    fn datagram(&mut self, dir: Dir, ts: i64, d: &[u8], out: &mut Vec<Txn>) {
        let Some(((id, seq, count), payload)) = udp_frame(d) else {
            self.counters.malformed += 1;
            return;
        };
        if count == 0 || seq >= count || count > MAX_UDP_DATAGRAMS {
            self.counters.malformed += 1;
            return;
        }
        let whole: Vec<u8>;
        let data: &[u8] = if count == 1 {
            payload
        } else {
            if !self.partial.contains_key(&id) && self.partial.len() >= MAX_UDP_PARTIAL {
                self.counters.limit_hits += 1;
                self.partial.pop_first();
            }
            let entry = self.partial.entry(id).or_insert_with(|| (count, BTreeMap::new()));
            entry.1.insert(seq, payload.to_vec());
            if entry.1.len() < usize::from(entry.0) {
                return;
            }
            let Some((_, parts)) = self.partial.remove(&id) else { return };
            whole = parts.into_values().flatten().collect();
            &whole
        };
        // A retrieval reply may end (END) in a later datagram of its own: a reply being
        // gathered for another request id is complete as it is.
        if dir == Dir::ToClient && self.acc_udp_id.is_some_and(|a| a != id) {
            if let Some((t0, r, b)) = self.acc.take() {
                let other = self.acc_udp_id;
                self.reply(t0, r, b, other, out);
            }
        }
        if dir == Dir::ToClient {
            self.acc_udp_id = Some(id);
        }
        match self.parse(dir, ts, ts, data, Some(id), out) {
            Ok(used) if used == data.len() => {}
            Ok(_) => self.counters.malformed += 1,
            Err(_) => self.counters.malformed += 1,
        }
    }
}

impl Parser for MemcacheParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.udp {
            return self.datagram(dir, ts_ns, bytes, out);
        }
        let side = usize::from(dir == Dir::ToClient);
        if self.lost.get(side).copied().unwrap_or(false) {
            // Pick up again at a segment that starts like a message.
            let plausible = bytes.first().is_some_and(|b| is_binary(*b) || b.is_ascii_lowercase() || b.is_ascii_uppercase());
            if !plausible {
                return;
            }
            if let Some(l) = self.lost.get_mut(side) {
                *l = false;
            }
        }
        let held = self.buf.get(side).map_or(0, Vec::len);
        if held + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.lose(side, out);
            return;
        }
        if held == 0 {
            if let Some(t) = self.start_ts.get_mut(side) {
                *t = ts_ns;
            }
        }
        let mut buf = std::mem::take(self.buf.get_mut(side).unwrap_or(&mut Vec::new()));
        buf.extend_from_slice(bytes);
        let start = self.start_ts.get(side).copied().unwrap_or(ts_ns);
        match self.parse(dir, start, ts_ns, &buf, None, out) {
            Ok(used) => {
                buf.drain(..used.min(buf.len()));
                if used > 0 {
                    if let Some(t) = self.start_ts.get_mut(side) {
                        *t = ts_ns;
                    }
                }
                if let Some(b) = self.buf.get_mut(side) {
                    *b = buf;
                }
            }
            Err(_) => {
                self.counters.malformed += 1;
                self.lose(side, out);
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let side = usize::from(dir == Dir::ToClient);
        if let Some(b) = self.buf.get_mut(side) {
            b.clear();
        }
        if let Some(l) = self.lost.get_mut(side) {
            *l = true;
        }
        if dir == Dir::ToClient {
            self.acc = None;
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let quiet = p.binary && p.req.quiet;
                let mut t = Self::txn(Some(p), None, 0);
                t.notes.push(if quiet { "quiet request: no reply" } else { "no reply within the transaction timeout" }.into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        if let Some((t0, r, b)) = self.acc.take() {
            let id = self.acc_udp_id;
            self.reply(t0, r, b, id, out);
        }
        while let Some(p) = self.pending.pop_front() {
            out.push(Self::txn(Some(p), None, 0));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}

impl MemcacheParser {
    fn lose(&mut self, side: usize, out: &mut Vec<Txn>) {
        if let Some(b) = self.buf.get_mut(side) {
            b.clear();
        }
        if let Some(l) = self.lost.get_mut(side) {
            *l = true;
        }
        self.flush_pending("pairing lost (bytes missing or malformed)", out);
    }
}
