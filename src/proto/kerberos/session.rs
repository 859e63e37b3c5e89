//! The Kerberos per-flow session: each AS-REQ/TGS-REQ is paired with the next reply or
//! KRB-ERROR of its flow (UDP datagrams and TCP records alike), bounded by the pending limit
//! and the transaction timeout; TCP records (4-byte big-endian length) are reassembled up to
//! the buffer limit. AS exchanges are logins (`Txn.auth`).

use super::fields::{ErrorFields, Fields, KerberosFields, NetworkTraffic, User};
use super::parser::{error_name, is_weak_etype, kdc_option_names, msg_type_name, parse, Kind, Message};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Transport, Txn};
use std::collections::VecDeque;

/// PA-ENC-TIMESTAMP.
const PA_ENC_TIMESTAMP: i64 = 2;
/// KDC_ERR_PREAUTH_REQUIRED: the normal first answer to an AS-REQ without pre-authentication.
const PREAUTH_REQUIRED: i64 = 25;

struct Pending {
    ts: i64,
    msg: Message,
    bytes: u64,
}

pub struct KerberosParser {
    tcp: bool,
    buf: [Vec<u8>; 2],
    pending: VecDeque<Pending>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn build(req: Option<&Pending>, resp: Option<(i64, &Message, u64)>, start: i64) -> Txn {
    let mut k = KerberosFields::default();
    let mut user = None;
    let mut notes = Vec::new();
    if let Some(r) = req {
        let m = &r.msg;
        k.request_type = Some(msg_type_name(m.msg_type));
        k.cname = m.cname.as_ref().map(|p| p.text());
        k.sname = m.sname.as_ref().map(|p| p.text());
        k.realm = m.realm.clone();
        k.etypes = m.etypes.clone();
        k.padata_types = m.padata_types.clone();
        k.pa_enc_timestamp = Some(m.padata_types.contains(&PA_ENC_TIMESTAMP));
        k.kdc_options = m.kdc_options.map(kdc_option_names).unwrap_or_default();
        k.till = m.till.clone();
        k.rtime = m.rtime.clone();
        if let Some(c) = &k.cname {
            // The realm of an AS-REQ's body is the client's (and the TGS's) realm.
            user = Some(User { name: c.clone(), domain: m.realm.clone() });
            k.crealm = m.realm.clone();
        }
    }
    if let Some((_, m, _)) = resp {
        k.response_type = Some(msg_type_name(m.msg_type));
        k.response_cname = m.cname.as_ref().map(|p| p.text());
        if m.crealm.is_some() {
            k.crealm = m.crealm.clone();
        }
        // The ticket's (or the error's) service principal: what was issued or refused.
        k.sname = m.sname.as_ref().map(|p| p.text()).or(k.sname);
        k.realm = m.realm.clone().or(k.realm);
        k.ticket_etype = m.ticket_etype;
        k.enc_part_etype = m.enc_part_etype;
        k.error_code = m.error_code;
        k.error_name = m.error_code.and_then(error_name);
        k.e_text = m.e_text.clone();
        if m.kind() == Kind::Error {
            k.error_padata_types = m.padata_types.clone();
        }
        if let Some(c) = &k.response_cname {
            match &mut user {
                None => user = Some(User { name: c.clone(), domain: k.crealm.clone() }),
                Some(u) if !u.name.eq_ignore_ascii_case(c) => {
                    notes.push(format!("reply names client {c}"));
                }
                Some(_) => {}
            }
        }
    }
    // Offering RC4 among AES is what most clients do; asking for weak types only (the
    // downgrade Kerberoasting tools send) or being answered with one is the signal.
    k.weak_etype_offered = k.etypes.iter().any(|e| is_weak_etype(*e));
    k.weak_etype = (!k.etypes.is_empty() && k.etypes.iter().all(|e| is_weak_etype(*e)))
        || k.ticket_etype.iter().chain(k.enc_part_etype.iter()).any(|e| is_weak_etype(*e));
    let error = k.error_code.map(|c| ErrorFields { code: c.to_string(), message: k.error_name.map(str::to_string) });
    let mut t = Txn::new(
        &PROTOCOL,
        req.map(|r| r.ts).unwrap_or(start),
        Fields { user, error, network_traffic: NetworkTraffic { kerberos: k } },
    );
    t.notes = notes;
    let is_as = req.map(|r| r.msg.msg_type) == Some(10)
        || resp.is_some_and(|(_, m, _)| m.msg_type == 11);
    if let Some(r) = req {
        t.client_bytes = r.bytes;
        t.method = Some(msg_type_name(r.msg.msg_type).to_string());
        let sname = r.msg.sname.as_ref().map(|p| p.text());
        t.resource = sname.clone();
        t.query = Some(match &sname {
            Some(s) => format!("{} {s}", msg_type_name(r.msg.msg_type)),
            None => msg_type_name(r.msg.msg_type).to_string(),
        });
    } else {
        t.notes.push("response without request".into());
    }
    match resp {
        Some((ts, m, bytes)) => {
            t.end_ns = Some(ts);
            t.server_bytes = bytes;
            if m.kind() == Kind::Reply {
                t.outcome = Outcome::Success;
                if is_as {
                    t.auth = Some(Outcome::Success);
                }
            } else {
                t.outcome = Outcome::Failure;
                t.status = "Error";
                let code = m.error_code.unwrap_or(-1);
                if code == PREAUTH_REQUIRED {
                    t.notes.push(
                        "KDC_ERR_PREAUTH_REQUIRED: the KDC asks for pre-authentication, the normal first step of a login"
                            .into(),
                    );
                } else if is_as {
                    t.auth = Some(match code {
                        6 | 18 | 24 => Outcome::Failure,
                        _ => Outcome::Unknown,
                    });
                }
            }
        }
        None => {
            if is_as {
                t.auth = Some(Outcome::Unknown);
            }
        }
    }
    t
}

impl KerberosParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        KerberosParser {
            tcp: ctx.transport == Transport::Tcp,
            buf: [Vec::new(), Vec::new()],
            pending: VecDeque::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    /// One complete message (a datagram or a TCP record's contents).
    fn message(&mut self, dir: Dir, ts: i64, bytes: &[u8], wire: u64, out: &mut Vec<Txn>) {
        let m = match parse(bytes) {
            Ok((m, used)) if used == bytes.len() => m,
            Ok(_) | Err(_) => {
                self.counters.malformed += 1;
                return;
            }
        };
        self.counters.messages += 1;
        match (m.kind(), dir) {
            (Kind::Request, Dir::ToServer) => {
                if self.pending.len() >= self.max_pending {
                    self.counters.limit_hits += 1;
                    if let Some(old) = self.pending.pop_front() {
                        out.push(build(Some(&old), None, old.ts));
                    }
                }
                self.pending.push_back(Pending { ts, msg: m, bytes: wire });
            }
            (Kind::Request, Dir::ToClient) => {
                // A request from the server's side: report it alone.
                self.counters.unmatched += 1;
                let p = Pending { ts, msg: m, bytes: wire };
                let mut t = build(Some(&p), None, ts);
                t.notes.push("request sent by the server side".into());
                out.push(t);
            }
            (_, _) => {
                let req = self.pending.pop_front();
                if req.is_none() {
                    self.counters.unmatched += 1;
                }
                out.push(build(req.as_ref(), Some((ts, &m, wire)), ts));
            }
        }
    }

    fn tcp_data(&mut self, dir: Dir, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = usize::from(dir == Dir::ToClient);
        if self.buf[side].len() + bytes.len() > self.max_buffer.saturating_add(4) {
            self.counters.limit_hits += 1;
            self.buf[side].clear();
            return;
        }
        self.buf[side].extend_from_slice(bytes);
        loop {
            let buf = std::mem::take(&mut self.buf[side]);
            let Some(len) =
                buf.get(..4).and_then(|l| <[u8; 4]>::try_from(l).ok()).map(u32::from_be_bytes)
            else {
                self.buf[side] = buf;
                return;
            };
            if len & 0x8000_0000 != 0 {
                // The high bit is reserved (RFC 4120 7.2.2): not a record we can read.
                self.counters.malformed += 1;
                return;
            }
            let len = len as usize;
            if len > self.max_buffer {
                self.counters.limit_hits += 1;
                return;
            }
            // A record whose start is not a KDC message is malformed before it completes.
            if let Some(rec) = buf.get(4..) {
                if let Err(ParseError::Malformed(_)) = parse(rec) {
                    self.counters.malformed += 1;
                    return;
                }
            }
            let Some(rec) = buf.get(4..4 + len) else {
                self.buf[side] = buf;
                return;
            };
            self.message(dir, ts, rec, 4 + len as u64, out);
            self.buf[side] = buf.get(4 + len..).unwrap_or_default().to_vec();
        }
    }
}

impl Parser for KerberosParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.tcp {
            self.tcp_data(dir, ts_ns, bytes, out);
        } else {
            self.message(dir, ts_ns, bytes, bytes.len() as u64, out);
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        self.buf[usize::from(dir == Dir::ToClient)].clear();
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = build(Some(&p), None, p.ts);
                t.notes.push("no response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(build(Some(&p), None, p.ts));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
