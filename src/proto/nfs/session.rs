//! The per-flow NFS session: RPC records per direction (TCP record marking or one datagram),
//! calls waiting for the reply with the same xid (bounded by `max_pending` and the timeout).

use super::fields::{Cred, Fields, File, Id, NetworkTraffic, NfsFields, RpcFields};
use super::parser::{self, Call, ReplyStat, Rpc, NFS_PROGRAM};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Transport, Txn};
use std::collections::VecDeque;

struct Pending {
    ts: i64,
    bytes: u64,
    call: Call,
}

pub struct NfsParser {
    tcp: bool,
    buf: [Vec<u8>; 2],
    /// Bytes were lost: wait for something that looks like a record start.
    lost: [bool; 2],
    pending: VecDeque<Pending>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

/// Whether `b` plausibly starts a TCP record: last-fragment header and a call or reply.
fn plausible_record(b: &[u8]) -> bool {
    let v = crate::bytes::View(b);
    v.u32(0).is_some_and(|h| (h & 0x7fff_ffff) as usize <= parser::MAX_RECORD_BYTES && h >= 12)
        && matches!(v.u32(8), Some(0 | 1))
}

impl NfsParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        NfsParser {
            tcp: ctx.transport == Transport::Tcp,
            buf: [Vec::new(), Vec::new()],
            lost: [false, false],
            pending: VecDeque::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn message(&mut self, ts: i64, msg: &[u8], out: &mut Vec<Txn>) {
        self.counters.messages += 1;
        match parser::parse_rpc(msg) {
            Ok(Rpc::Call(call)) => {
                if call.prog != NFS_PROGRAM {
                    return;
                }
                if self.pending.len() >= self.max_pending {
                    self.counters.limit_hits += 1;
                    if let Some(old) = self.pending.pop_front() {
                        let mut t = txn(&old, None);
                        t.notes.push("no reply: too many calls waiting".into());
                        out.push(t);
                    }
                }
                self.pending.push_back(Pending { ts, bytes: msg.len() as u64, call });
            }
            Ok(Rpc::Reply(reply)) => {
                match self.pending.iter().position(|p| p.call.xid == reply.xid) {
                    Some(i) => {
                        if let Some(p) = self.pending.remove(i) {
                            out.push(txn(&p, Some((ts, msg.len() as u64, &reply))));
                        }
                    }
                    None => self.counters.unmatched += 1,
                }
            }
            Err(_) => self.counters.malformed += 1,
        }
    }

    fn tcp_data(&mut self, dir: Dir, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = usize::from(dir == Dir::ToClient);
        if self.lost[side] {
            if !plausible_record(bytes) {
                return;
            }
            self.lost[side] = false;
        }
        if self.buf[side].len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.buf[side].clear();
            self.lost[side] = true;
            return;
        }
        self.buf[side].extend_from_slice(bytes);
        loop {
            match parser::record(&self.buf[side]) {
                Ok((msg, used)) => {
                    self.buf[side].drain(..used);
                    self.message(ts, &msg, out);
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    self.buf[side].clear();
                    self.lost[side] = true;
                    break;
                }
            }
        }
    }
}

/// The event of a call and its reply (`None`: published without one).
fn txn(p: &Pending, reply: Option<(i64, u64, &parser::Reply)>) -> Txn {
    let call = &p.call;
    let info = match call.vers {
        4 => parser::v4_call(call.proc_, &call.args),
        _ => parser::v3_call(call.proc_, &call.args),
    };
    let mut nfs = NfsFields {
        version: call.vers,
        minor_version: info.minor_version,
        tag: info.tag.clone(),
        opcode: info.opcode.clone(),
        operations: info.ops.clone(),
        file_handle: info.fh.clone(),
        name: info.name.clone(),
        to_name: info.to_name.clone(),
        offset: info.offset,
        count: info.count,
        rpc: RpcFields {
            xid: format!("{:08x}", call.xid),
            auth_flavor: parser::auth_flavor(call.flavor),
            cred: call.cred.as_ref().map(|c| Cred {
                uid: c.uid,
                gid: c.gid,
                gids: c.gids.clone(),
                stamp: c.stamp,
                machinename: c.machinename.clone(),
            }),
            ..RpcFields::default()
        },
        ..NfsFields::default()
    };
    let mut ok = true;
    let mut seen_status = false;
    if let Some((_, _, r)) = reply {
        nfs.rpc.status = Some(parser::rpc_status(&r.stat));
        ok = r.stat == ReplyStat::Accepted(0);
        if ok {
            let (status, results) = parser::reply_status(call.vers, call.proc_, &r.results);
            if let Some(s) = status {
                seen_status = true;
                nfs.status = Some(parser::status_name(s));
                ok = s == 0;
                if s != 0 && call.vers == 4 {
                    let at = results.and_then(|n| usize::try_from(n).ok()).and_then(|n| n.checked_sub(1));
                    nfs.failed_operation = at.and_then(|i| info.ops.get(i).cloned());
                }
            }
        }
    }
    let cred = call.cred.as_ref();
    let fields = Fields {
        user: cred.map(|c| Id { id: c.uid.to_string() }),
        group: cred.map(|c| Id { id: c.gid.to_string() }),
        file: info.name.clone().map(|name| File { name }),
        network_traffic: NetworkTraffic { nfs },
    };
    let mut t = Txn::new(&PROTOCOL, p.ts, fields);
    t.client_bytes = p.bytes;
    t.method = Some(info.opcode.clone());
    t.resource = info.name.clone().or(info.fh.clone());
    if let Some(c) = cred {
        if !c.machinename.is_empty() {
            t.related_hosts.push(c.machinename.clone());
        }
    }
    match reply {
        Some((ts, bytes, _)) => {
            t.end_ns = Some(ts);
            t.server_bytes = bytes;
            t.outcome = if ok { Outcome::Success } else { Outcome::Failure };
            if !ok {
                t.status = "Error";
            }
            if !seen_status && ok && call.proc_ != 0 {
                t.notes.push("reply status not captured".into());
            }
        }
        None => t.notes.push("no reply seen".into()),
    }
    t
}

impl Parser for NfsParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.tcp {
            self.tcp_data(dir, ts_ns, bytes, out);
        } else {
            self.message(ts_ns, bytes, out);
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let side = usize::from(dir == Dir::ToClient);
        self.buf[side].clear();
        self.lost[side] = true;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = txn(&p, None);
                t.notes.push("no reply within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(txn(&p, None));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
