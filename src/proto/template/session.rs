//! The template's per-flow session: pairs each PING with the next PONG, bounded by the
//! pending-request limit and the transaction timeout, with a buffer limit per direction;
//! every limit hit and anomaly is counted.

use super::fields::{Fields, NetworkTraffic, TemplateFields};
use super::parser::{parse, Message};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

struct Pending {
    ts: i64,
    text: String,
    bytes: u64,
}

pub struct TemplateParser {
    buf: [Vec<u8>; 2],
    pending: VecDeque<Pending>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

impl TemplateParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        TemplateParser {
            buf: [Vec::new(), Vec::new()],
            pending: VecDeque::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn txn(req: Option<&Pending>, resp: Option<(i64, String, u64)>, start: i64) -> Txn {
        let mut t = Txn::new(&PROTOCOL, req.map(|r| r.ts).unwrap_or(start),
            Fields {
                network_traffic: NetworkTraffic {
                    template: TemplateFields {
                        request: req.map(|r| r.text.clone()),
                        response: resp.as_ref().map(|r| r.1.clone()),
                    },
                },
            },
        );
        t.client_bytes = req.map(|r| r.bytes).unwrap_or(0);
        if let Some((ts, _, bytes)) = resp {
            t.end_ns = Some(ts);
            t.server_bytes = bytes;
            t.outcome = Outcome::Success;
        }
        if req.is_none() {
            t.notes.push("response without request".into());
        }
        t
    }
}

impl Parser for TemplateParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = usize::from(dir == Dir::ToClient);
        if self.buf[side].len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.buf[side].clear();
            return;
        }
        self.buf[side].extend_from_slice(bytes);
        loop {
            match parse(&self.buf[side]) {
                Ok((msg, used)) => {
                    self.buf[side].drain(..used);
                    self.counters.messages += 1;
                    match msg {
                        Message::Ping(text) => {
                            if self.pending.len() >= self.max_pending {
                                self.counters.limit_hits += 1;
                                if let Some(old) = self.pending.pop_front() {
                                    out.push(Self::txn(Some(&old), None, old.ts));
                                }
                            }
                            self.pending.push_back(Pending { ts: ts_ns, text, bytes: used as u64 });
                        }
                        Message::Pong(text) => {
                            let req = self.pending.pop_front();
                            if req.is_none() {
                                self.counters.unmatched += 1;
                            }
                            out.push(Self::txn(
                                req.as_ref(),
                                Some((ts_ns, text, used as u64)),
                                ts_ns,
                            ));
                        }
                    }
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    self.buf[side].clear();
                    break;
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        // Bytes are missing: the partial message cannot be completed.
        self.buf[usize::from(dir == Dir::ToClient)].clear();
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = Self::txn(Some(&p), None, p.ts);
                t.notes.push("no response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(Self::txn(Some(&p), None, p.ts));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
