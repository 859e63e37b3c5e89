//! RDP's per-flow session: the Connection Request waits for the Connection Confirm; the pair
//! is one event. TLS or CredSSP selected: the rest of the stream is handed off to TLS once.
//! Anything after the negotiation with standard RDP security is counted, not parsed.

use super::fields::{Fields, NetworkTraffic, RdpFields, User};
use super::parser::{failure_name, parse, protocol_names, Message, Neg};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Handoff, Outcome, Parser, ParserContext, ParserCounters, Txn};

struct Pending {
    ts: i64,
    fields: RdpFields,
    user: Option<String>,
    bytes: u64,
}

pub struct RdpParser {
    buf: [Vec<u8>; 2],
    /// Time of the first byte buffered per direction (a message's start).
    first_ts: [i64; 2],
    pending: Option<Pending>,
    /// The negotiation is over: later bytes are MCS (standard security) or a handed-off stream.
    done: bool,
    switched: bool,
    max_buffer: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

impl RdpParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        RdpParser {
            buf: [Vec::new(), Vec::new()],
            first_ts: [0; 2],
            pending: None,
            done: false,
            switched: false,
            max_buffer: ctx.limits.max_buffer_bytes,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn txn(req: Option<Pending>, start: i64) -> Txn {
        let (ts, fields, user, bytes) = match req {
            Some(p) => (p.ts, p.fields, p.user, p.bytes),
            None => (start, RdpFields::default(), None, 0),
        };
        let mut t = Txn::new(
            &PROTOCOL,
            ts,
            Fields {
                user: user.clone().map(|name| User { name }),
                network_traffic: NetworkTraffic { rdp: fields },
            },
        );
        t.client_bytes = bytes;
        t.method = Some("CONNECT".into());
        t.query = user.map(|u| format!("CONNECT {u}"));
        t
    }

    fn finish(&mut self, ts: i64, neg: Option<Neg>, bytes: u64, out: &mut Vec<Txn>) {
        let req = self.pending.take();
        if req.is_none() {
            self.counters.unmatched += 1;
        }
        let mut t = Self::txn(req, ts);
        if t.client_bytes == 0 {
            t.notes.push("response without request".into());
        }
        t.end_ns = Some(ts);
        t.server_bytes = bytes;
        let crate::proto::ProtoFields::Rdp(f) = &mut t.fields else { return };
        let rdp = &mut f.network_traffic.rdp;
        match neg {
            Some(Neg::Response { protocol, .. }) => {
                rdp.selected_protocol = protocol_names(protocol).into_iter().next();
                rdp.selected_protocol_flags = Some(protocol);
                t.outcome = Outcome::Success;
                if protocol != 0 {
                    self.switched = true;
                }
            }
            Some(Neg::Failure { code }) => {
                rdp.failure_code = Some(code);
                rdp.failure_reason = Some(failure_name(code).into());
                t.outcome = Outcome::Failure;
                t.status = "Error";
            }
            _ => {
                // A Connection Confirm without negotiation: standard RDP security.
                rdp.selected_protocol = Some("rdp".into());
                t.outcome = Outcome::Success;
            }
        }
        out.push(t);
        self.done = true;
    }
}

impl Parser for RdpParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.done {
            return;
        }
        let side = usize::from(dir == Dir::ToClient);
        if self.buf[side].len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.buf[side].clear();
            return;
        }
        if self.buf[side].is_empty() {
            self.first_ts[side] = ts_ns;
        }
        self.buf[side].extend_from_slice(bytes);
        while !self.done {
            match parse(&self.buf[side]) {
                Ok((msg, used)) => {
                    self.buf[side].drain(..used);
                    self.counters.messages += 1;
                    let start = std::mem::replace(&mut self.first_ts[side], ts_ns);
                    match (dir, msg) {
                        (
                            Dir::ToServer,
                            Message::ConnectionRequest { cookie, routing_token, neg },
                        ) => {
                            if let Some(old) = self.pending.take() {
                                let ts = old.ts;
                                out.push(Self::txn(Some(old), ts));
                            }
                            let mut f = RdpFields {
                                cookie: cookie.clone(),
                                routing_token,
                                ..RdpFields::default()
                            };
                            if let Some(Neg::Request { protocols, .. }) = neg {
                                f.requested_protocols = Some(protocol_names(protocols));
                                f.requested_protocols_flags = Some(protocols);
                            }
                            let user = cookie
                                .map(|c| c.trim_end().to_string())
                                .filter(|c| !c.is_empty());
                            self.pending =
                                Some(Pending { ts: start, fields: f, user, bytes: used as u64 });
                        }
                        (Dir::ToClient, Message::ConnectionConfirm { neg }) => {
                            self.finish(ts_ns, neg, used as u64, out);
                        }
                        _ => {
                            // Data TPDUs before the confirm (or a confirm from the client).
                            self.counters.malformed += 1;
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
        if self.done {
            self.buf = [Vec::new(), Vec::new()];
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        self.buf[usize::from(dir == Dir::ToClient)].clear();
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        if self.pending.as_ref().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.take() {
                let ts = p.ts;
                let mut t = Self::txn(Some(p), ts);
                t.notes.push("no response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        if let Some(p) = self.pending.take() {
            let ts = p.ts;
            out.push(Self::txn(Some(p), ts));
        }
    }

    fn handoff(&mut self) -> Option<Handoff> {
        std::mem::take(&mut self.switched).then_some(Handoff::Switched)
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
