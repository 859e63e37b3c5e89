//! The Thrift per-connection session: each direction's mode is decided from its first bytes,
//! then messages are read one after the other; a CALL waits (bounded by `limits.max_pending`
//! and the transaction timeout) for the REPLY or EXCEPTION with its seqid, a ONEWAY call is a
//! transaction at once. A malformed message or lost bytes end parsing of that direction (Thrift
//! has no marker to resynchronise on); framed transports resume at the next frame when the
//! frame itself was intact.

use super::fields::{Fields, NetworkTraffic, ThriftFields};
use super::parser::{self, Encoding, Kind, Message, Mode};
use super::{MAX_DEPTH, PROTOCOL};
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

struct Pending {
    ts: i64,
    msg: Message,
    mode: Mode,
    bytes: u64,
}

pub struct ThriftParser {
    buf: [Vec<u8>; 2],
    mode: [Option<Mode>; 2],
    /// The direction is given up (malformed, lost bytes) until the connection ends.
    dead: [bool; 2],
    pending: VecDeque<Pending>,
    max_depth: usize,
    service: Option<String>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn names(mode: Mode) -> (&'static str, &'static str) {
    let p = match mode.encoding {
        Encoding::Binary => "binary",
        Encoding::BinaryOld => "binary-old",
        Encoding::Compact => "compact",
    };
    (p, if mode.framed { "framed" } else { "unframed" })
}

impl ThriftParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        let cfg = &ctx.config.thrift;
        ThriftParser {
            buf: [Vec::new(), Vec::new()],
            mode: [None, None],
            dead: [false, false],
            pending: VecDeque::new(),
            max_depth: cfg.max_depth.clamp(1, MAX_DEPTH),
            service: cfg.service.clone(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn txn(&self, req: Option<Pending>, resp: Option<(i64, Message, Mode, u64)>) -> Txn {
        let mode = req.as_ref().map(|r| r.mode).or(resp.as_ref().map(|r| r.2));
        let (protocol, transport) = mode.map(names).unwrap_or(("binary", "unframed"));
        let mut f = ThriftFields {
            service: self.service.clone(),
            protocol,
            transport,
            ..ThriftFields::default()
        };
        let start = req.as_ref().map(|r| r.ts).or(resp.as_ref().map(|r| r.0)).unwrap_or(0);
        let name = req.as_ref().map(|r| r.msg.name.clone()).or(resp.as_ref().map(|r| r.1.name.clone()));
        let mut t = Txn::new(&PROTOCOL, start, Fields::of(ThriftFields::default()));
        let mut error = false;
        if let Some(r) = &req {
            f.params = Some(r.msg.body.clone());
            f.request_type = Some(r.msg.kind.name());
            f.seqid = Some(r.msg.seqid);
            t.client_bytes = r.bytes;
            t.query = Some(format!("{}{}", r.msg.name, r.msg.body));
        } else {
            t.notes.push("response without request".into());
        }
        if let Some((ts, m, _, bytes)) = resp {
            t.end_ns = Some(ts);
            t.server_bytes = bytes;
            f.response_type = Some(m.kind.name());
            f.seqid = Some(m.seqid);
            f.return_value = m.success;
            if m.kind == Kind::Exception {
                error = true;
                f.exceptions = m.app_message.clone().or(Some(m.body.clone()));
                f.exception_type = m.app_type;
            } else if let Some(x) = m.declared_exception {
                error = true;
                f.exceptions = Some(x);
            }
            t.outcome = if error { Outcome::Failure } else { Outcome::Success };
        } else if req.as_ref().is_some_and(|r| r.msg.kind == Kind::Oneway) {
            t.outcome = Outcome::Success;
        }
        if error {
            t.status = "Error";
        }
        f.method = name.clone();
        t.method = name;
        t.fields = Fields { network_traffic: NetworkTraffic { thrift: f } }.into();
        t
    }

    fn message(&mut self, ts: i64, msg: Message, mode: Mode, used: u64, out: &mut Vec<Txn>) {
        match msg.kind {
            Kind::Oneway => {
                let p = Pending { ts, msg, mode, bytes: used };
                out.push(self.txn(Some(p), None));
            }
            Kind::Call => {
                if self.pending.len() >= self.max_pending {
                    self.counters.limit_hits += 1;
                    if let Some(old) = self.pending.pop_front() {
                        let mut t = self.txn(Some(old), None);
                        t.notes.push("published unanswered: too many pending calls".into());
                        out.push(t);
                    }
                }
                self.pending.push_back(Pending { ts, msg, mode, bytes: used });
            }
            Kind::Reply | Kind::Exception => {
                let at = self.pending.iter().position(|p| p.msg.seqid == msg.seqid);
                let req = at.and_then(|i| self.pending.remove(i));
                if req.is_none() {
                    self.counters.unmatched += 1;
                }
                out.push(self.txn(req, Some((ts, msg, mode, used))));
            }
        }
    }
}

impl Fields {
    fn of(thrift: ThriftFields) -> Self {
        Fields { network_traffic: NetworkTraffic { thrift } }
    }
}

impl Parser for ThriftParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let s = usize::from(dir == Dir::ToClient);
        if self.dead.get(s) != Some(&false) {
            return;
        }
        let Some(buf) = self.buf.get_mut(s) else { return };
        if buf.len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            if let Some(d) = self.dead.get_mut(s) {
                *d = true;
            }
            return;
        }
        buf.extend_from_slice(bytes);
        loop {
            let Some(buf) = self.buf.get(s) else { return };
            if buf.is_empty() {
                break;
            }
            let mode = match self.mode.get(s).copied().flatten() {
                Some(m) => Ok(m),
                None => parser::detect(buf),
            };
            let result = mode.and_then(|m| {
                parser::parse(buf, m, self.max_depth, self.max_buffer).map(|r| (r, m))
            });
            match result {
                Ok(((msg, used), m)) => {
                    if let Some(slot) = self.mode.get_mut(s) {
                        *slot = Some(m);
                    }
                    if let Some(b) = self.buf.get_mut(s) {
                        b.drain(..used.min(b.len()));
                    }
                    self.counters.messages += 1;
                    self.message(ts_ns, msg, m, used as u64, out);
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(why)) => {
                    self.counters.malformed += 1;
                    if why.contains("max_depth") {
                        self.counters.limit_hits += 1;
                    }
                    // A framed message that was malformed inside an intact frame: skip the
                    // frame and go on.
                    let framed = self.mode.get(s).copied().flatten().filter(|m| m.framed);
                    let skip = framed.and_then(|_| {
                        let b = self.buf.get(s)?;
                        let len = b.get(..4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))?;
                        let total = 4 + len as usize;
                        (len > 0 && total <= b.len() && total <= self.max_buffer).then_some(total)
                    });
                    match (skip, self.buf.get_mut(s)) {
                        (Some(n), Some(b)) => {
                            b.drain(..n);
                        }
                        (_, b) => {
                            if let Some(b) = b {
                                b.clear();
                            }
                            if let Some(d) = self.dead.get_mut(s) {
                                *d = true;
                            }
                            break;
                        }
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let s = usize::from(dir == Dir::ToClient);
        if let Some(b) = self.buf.get_mut(s) {
            b.clear();
        }
        if let Some(d) = self.dead.get_mut(s) {
            *d = true;
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = self.txn(Some(p), None);
                t.notes.push("no response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(self.txn(Some(p), None));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
