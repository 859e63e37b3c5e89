//! The ICMP session: echo-like requests wait for the reply with the same identifier and
//! sequence number (bounded by `max_pending`, expired after the transaction timeout, flushed at
//! close); every other message is a transaction of its own.

use super::fields::{quoted_fields, Fields, IcmpFields, NetworkTraffic, NetworkTrafficIcmp, TypeCode};
use super::parser::{self, Quoted, Role};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

/// One side of a transaction: a request or a reply as seen on the wire.
#[derive(Debug, Clone)]
struct Seen {
    ts: i64,
    ty: u8,
    code: u8,
    bytes: u64,
    dir: Dir,
}

impl Seen {
    fn type_code(&self, version: u8) -> TypeCode {
        TypeCode {
            ty: self.ty,
            code: self.code,
            message: parser::message_text(version, self.ty, self.code),
        }
    }
}

/// A request waiting for its reply.
pub(super) struct Pending {
    /// (request type, identifier, sequence number).
    key: (u8, u16, u16),
    seen: Seen,
    notes: Vec<&'static str>,
}

pub struct IcmpParser {
    /// IP version of the flow, once known (from the constructor or a conclusive message).
    version: Option<u8>,
    pub(super) pending: VecDeque<Pending>,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

impl IcmpParser {
    /// `version` is the flow's IP version when the caller knows it.
    pub fn new(ctx: &ParserContext<'_>, version: Option<u8>) -> Self {
        IcmpParser {
            version,
            pending: VecDeque::new(),
            max_pending: ctx.limits.max_pending.max(1),
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn version_of(&mut self, bytes: &[u8]) -> u8 {
        if let Some(v) = self.version {
            return v;
        }
        let guess = parser::guess_version(bytes);
        self.version = guess;
        guess.unwrap_or(4)
    }

    /// A transaction of a request and/or a reply. `unanswered`: a request that expected a
    /// reply and is published without one.
    fn txn(
        version: u8,
        req: Option<&Seen>,
        resp: Option<&Seen>,
        quoted: Option<&Quoted>,
        notes: Vec<String>,
        unanswered: bool,
    ) -> Txn {
        let common = IcmpFields {
            version,
            request: req.map(|r| r.type_code(version)),
            response: resp.map(|r| r.type_code(version)),
        };
        let fields = Fields {
            icmp: common.clone(),
            network_traffic: NetworkTraffic {
                icmp: NetworkTrafficIcmp { common, quoted: quoted.map(quoted_fields) },
            },
        };
        let start = req.or(resp).map(|s| s.ts).unwrap_or(0);
        let mut t = Txn::new(&PROTOCOL, start, fields);
        for s in [req, resp].into_iter().flatten() {
            match s.dir {
                Dir::ToServer => t.client_bytes += s.bytes,
                Dir::ToClient => t.server_bytes += s.bytes,
            }
        }
        let error = [req, resp].into_iter().flatten().any(|s| parser::is_error(version, s.ty));
        if let (Some(_), Some(r)) = (req, resp) {
            t.end_ns = Some(r.ts);
            t.outcome = Outcome::Success;
        } else if error || unanswered {
            t.outcome = Outcome::Failure;
        }
        // Packetbeat's status: an error message, a reply without request, or an unanswered
        // request is "Error".
        if error || unanswered || req.is_none() {
            t.status = "Error";
        }
        t.notes = notes;
        t
    }

    fn publish_pending(&mut self, p: Pending, why: &str, out: &mut Vec<Txn>) {
        let version = self.version.unwrap_or(4);
        let mut notes: Vec<String> = p.notes.iter().map(|n| (*n).to_owned()).collect();
        notes.push(why.to_owned());
        self.counters.unmatched += 1;
        out.push(Self::txn(version, Some(&p.seen), None, None, notes, true));
    }
}

impl Parser for IcmpParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if bytes.is_empty() {
            // A fragment train that never completed: no ICMP header to read.
            return;
        }
        let version = self.version_of(bytes);
        let (msg, truncated) = match parser::parse(bytes, version) {
            Ok(m) => (m, false),
            Err(ParseError::Incomplete) => match parser::parse_truncated(bytes, version) {
                Some(m) => (m, true),
                None => {
                    self.counters.malformed += 1;
                    return;
                }
            },
            Err(ParseError::Malformed(_)) => {
                self.counters.malformed += 1;
                return;
            }
        };
        self.counters.messages += 1;
        if truncated {
            self.counters.malformed += 1;
        }
        let seen = Seen { ts: ts_ns, ty: msg.ty, code: msg.code, bytes: msg.len as u64, dir };
        let mut notes: Vec<String> = msg.notes.iter().map(|n| (*n).to_owned()).collect();
        // A cut message is reported alone: its identifier and sequence number are unknown.
        let role = if truncated { Role::Single } else { msg.role() };
        match role {
            Role::Request(req_ty) => {
                let key = (req_ty, msg.id, msg.seq);
                if let Some(i) = self.pending.iter().position(|p| p.key == key) {
                    if let Some(old) = self.pending.remove(i) {
                        self.publish_pending(
                            old,
                            "another request with the same identifier and sequence number \
                             arrived before a reply",
                            out,
                        );
                    }
                }
                if self.pending.len() >= self.max_pending {
                    self.counters.limit_hits += 1;
                    if let Some(old) = self.pending.pop_front() {
                        self.publish_pending(old, "too many requests waiting for a reply", out);
                    }
                }
                self.pending.push_back(Pending { key, seen, notes: msg.notes });
            }
            Role::Reply(req_ty) => {
                let key = (req_ty, msg.id, msg.seq);
                let req = self
                    .pending
                    .iter()
                    .position(|p| p.key == key)
                    .and_then(|i| self.pending.remove(i));
                let mut all: Vec<String> = Vec::new();
                if let Some(r) = &req {
                    all.extend(r.notes.iter().map(|n| (*n).to_owned()));
                }
                all.append(&mut notes);
                if req.is_none() {
                    self.counters.unmatched += 1;
                    all.push("response without request".to_owned());
                }
                let req = req.as_ref().map(|r| &r.seen);
                out.push(Self::txn(version, req, Some(&seen), None, all, false));
            }
            Role::Single => {
                let (req, resp) = if parser::is_reply(version, msg.ty) {
                    (None, Some(&seen))
                } else {
                    (Some(&seen), None)
                };
                out.push(Self::txn(version, req, resp, msg.quoted.as_ref(), notes, false));
            }
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.seen.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                self.publish_pending(p, "no response within the transaction timeout", out);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            self.publish_pending(p, "no response before the flow ended", out);
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
