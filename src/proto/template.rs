//! Template protocol: copy this file to add a protocol (see ARCHITECTURE.md).
//!
//! It parses a toy line protocol — a request line `PING <text>\n` answered by `PONG <text>\n` —
//! and shows every piece a real protocol has: a pure parser telling "need more bytes" from
//! "malformed", request/response pairing with a bounded pending queue and a timeout, a buffer
//! limit, counters, and an ECS fields struct. It is disabled by default; CI keeps it compiling
//! and tested.

use super::{
    Dir, Outcome, Parser, ParserContext, ParserCounters, ProtoFields, Protocol, Transport, Txn,
};
use serde::Serialize;
use std::collections::VecDeque;

pub static PROTOCOL: Protocol = Protocol {
    name: "template",
    transports: &[Transport::Tcp],
    settings: |c| (c.template.enabled, &c.template.ports),
    probe: |_, dir, b| dir == Dir::ToServer && b.starts_with(b"PING "),
    make: |ctx| Box::new(TemplateParser::new(ctx)),
};

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Ping(String),
    Pong(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed; nothing is wrong yet.
    Incomplete,
    /// These bytes can never be a valid message.
    Malformed(&'static str),
}

/// Pure parser: one message from the start of `buf`, and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<(Message, usize), ParseError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() >= 5 && !(buf.starts_with(b"PING ") || buf.starts_with(b"PONG ")) {
            Err(ParseError::Malformed("unknown verb"))
        } else {
            Err(ParseError::Incomplete)
        };
    };
    let line = &buf[..nl];
    let text = |l: &[u8]| String::from_utf8_lossy(&l[5..]).into_owned();
    match line.get(..5) {
        Some(b"PING ") => Ok((Message::Ping(text(line)), nl + 1)),
        Some(b"PONG ") => Ok((Message::Pong(text(line)), nl + 1)),
        _ => Err(ParseError::Malformed("unknown verb")),
    }
}

/// The ECS fields of a template transaction (under `network_traffic.template`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub template: TemplateFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TemplateFields {
    pub request: Option<String>,
    pub response: Option<String>,
}

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
        let mut t = Txn::new(
            "template",
            "network_traffic.template",
            req.map(|r| r.ts).unwrap_or(start),
            ProtoFields::Template(Fields {
                network_traffic: NetworkTraffic {
                    template: TemplateFields {
                        request: req.map(|r| r.text.clone()),
                        response: resp.as_ref().map(|r| r.1.clone()),
                    },
                },
            }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Limits;

    #[test]
    fn every_prefix_is_incomplete_not_malformed() {
        let msg = b"PING hello\n";
        for n in 0..msg.len() {
            assert_eq!(parse(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert_eq!(parse(msg), Ok((Message::Ping("hello".into()), msg.len())));
        assert!(matches!(parse(b"HELLO world\n"), Err(ParseError::Malformed(_))));
    }

    #[test]
    fn pairs_requests_and_responses_across_segments() {
        let cfg = crate::config::Protocols::default();
        let limits = Limits::default();
        let ctx =
            ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 0 };
        let mut p = TemplateParser::new(&ctx);
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, b"PING a\nPI", &mut out);
        p.data(Dir::ToServer, 2, b"NG b\n", &mut out);
        p.data(Dir::ToClient, 3, b"PONG a\n", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].end_ns, Some(3));
        p.close(4, &mut out);
        assert_eq!(out.len(), 2, "the unanswered request is still published");
        assert_eq!(p.take_counters().messages, 3);
    }
}
