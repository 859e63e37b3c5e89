//! The DNS session: TCP framing per direction (bounded buffer, resynchronisation after lost
//! bytes), query/response pairing (bounded pending queue, timeout) and the event of each pair.

use super::fields::{
    domain_parts, header_flags, opt_fields, DnsFields, Fields, FlagBits, QuestionFields,
    QuestionItem, RequestFields,
};
use super::parser::{self, Message};
use super::{names, PROTOCOL};
use crate::bytes::View;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Transport, Txn};
use std::collections::VecDeque;
use std::net::IpAddr;

/// A message as seen on the wire, with where and when.
#[derive(Debug, Clone)]
struct Seen {
    msg: Message,
    dir: Dir,
    first_ts: i64,
    last_ts: i64,
    bytes: u64,
}

/// One TCP direction: bytes of an incomplete message.
#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// Packet time of the first byte in `buf`.
    start_ts: i64,
    /// Bytes were lost: wait for a segment that plausibly starts a message.
    desync: bool,
}

pub struct DnsParser {
    tcp: bool,
    sides: [Side; 2],
    pending: VecDeque<Seen>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    include_authorities: bool,
    include_additionals: bool,
    counters: ParserCounters,
}

/// Whether a TCP segment after lost bytes plausibly starts with a length-prefixed message.
fn plausible_start(b: &[u8]) -> bool {
    let Some(len) = View(b).u16(0) else { return false };
    let Some(h) = parser::header(b.get(2..).unwrap_or_default()) else { return false };
    usize::from(len) >= parser::HEADER_LEN && h.qdcount <= 1 && matches!(h.opcode(), 0..=2 | 4..=6)
}

impl DnsParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        DnsParser {
            tcp: ctx.transport == Transport::Tcp,
            sides: [Side::default(), Side::default()],
            pending: VecDeque::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending.max(1),
            timeout_ns: ctx.limits.transaction_timeout_ns,
            include_authorities: ctx.config.dns.include_authorities,
            include_additionals: ctx.config.dns.include_additionals,
            counters: ParserCounters::default(),
        }
    }

    fn message(&mut self, seen: Seen, out: &mut Vec<Txn>) {
        self.counters.messages += 1;
        if !seen.msg.anomalies.is_empty() {
            self.counters.malformed += 1;
        }
        if !seen.msg.header.qr() {
            let dup = self.pending.iter().position(|p| {
                p.msg.header.id == seen.msg.header.id && same_question(&p.msg, &seen.msg, false)
            });
            if let Some(i) = dup {
                if let Some(old) = self.pending.remove(i) {
                    self.counters.unmatched += 1;
                    out.push(self.txn(
                        &old,
                        None,
                        "no response before the query was sent again with the same id",
                    ));
                }
            }
            if self.pending.len() >= self.max_pending {
                self.counters.limit_hits += 1;
                if let Some(old) = self.pending.pop_front() {
                    self.counters.unmatched += 1;
                    out.push(self.txn(
                        &old,
                        None,
                        "no response before the pending-query limit was reached",
                    ));
                }
            }
            self.pending.push_back(seen);
            return;
        }
        let id = seen.msg.header.id;
        let found = self
            .pending
            .iter()
            .position(|p| p.msg.header.id == id && same_question(&p.msg, &seen.msg, true));
        match found.and_then(|i| self.pending.remove(i)) {
            Some(q) => out.push(self.txn(&seen, Some(&q), "")),
            None => {
                self.counters.unmatched += 1;
                out.push(self.txn(&seen, None, "response without a query"));
            }
        }
    }

    fn udp(&mut self, dir: Dir, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        match parser::parse(bytes) {
            Ok(msg) => self.message(
                Seen { msg, dir, first_ts: ts, last_ts: ts, bytes: bytes.len() as u64 },
                out,
            ),
            Err(_) => self.counters.malformed += 1,
        }
    }

    fn tcp_data(&mut self, dir: Dir, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = &mut self.sides[usize::from(dir == Dir::ToClient)];
        if side.desync {
            if !plausible_start(bytes) {
                return;
            }
            side.desync = false;
            side.buf.clear();
        }
        if side.buf.is_empty() {
            side.start_ts = ts;
        }
        side.buf.extend_from_slice(bytes);
        let mut used = 0;
        let mut parsed = Vec::new();
        let mut start = side.start_ts;
        while let Ok((m, n)) = parser::frame(side.buf.get(used..).unwrap_or_default()) {
            parsed.push((parser::parse(m), start, n as u64));
            used += n;
            start = ts;
        }
        side.buf.drain(..used);
        if used > 0 {
            side.start_ts = ts;
        }
        if side.buf.len() > self.max_buffer {
            side.buf.clear();
            side.desync = true;
            self.counters.limit_hits += 1;
        }
        for (msg, first_ts, n) in parsed {
            match msg {
                Ok(msg) => self.message(Seen { msg, dir, first_ts, last_ts: ts, bytes: n }, out),
                Err(_) => self.counters.malformed += 1,
            }
        }
    }

    /// Builds the event of `main` (a response, or a query nobody answered) and, for a response,
    /// the `query` it answers.
    fn txn(&self, main: &Seen, query: Option<&Seen>, note: &str) -> Txn {
        let (q, r) = if main.msg.header.qr() { (query, Some(main)) } else { (Some(main), None) };
        let start = q.unwrap_or(main).first_ts;
        let m = &main.msg;
        let qmsg = q.map_or(m, |s| &s.msg);
        let question = qmsg.questions.first().map(|qq| {
            let (registered_domain, subdomain, top_level_domain) = domain_parts(&qq.name);
            QuestionFields {
                name: qq.name.clone(),
                qtype: names::type_name(qq.qtype),
                class: names::class_name(qq.qclass),
                registered_domain,
                subdomain,
                top_level_domain,
            }
        });
        let questions = if qmsg.questions.len() > 1 {
            qmsg.questions
                .iter()
                .map(|qq| QuestionItem {
                    name: qq.name.clone(),
                    qtype: names::type_name(qq.qtype),
                    class: names::class_name(qq.qclass),
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut anomalies: Vec<&'static str> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        if !note.is_empty() {
            notes.push(note.to_owned());
        }
        for (side, s) in [("query", q), ("response", r)] {
            if let Some(s) = s {
                for a in &s.msg.anomalies.0 {
                    if !anomalies.contains(&a.code()) {
                        anomalies.push(a.code());
                    }
                    notes.push(format!("{side}: {}", a.describe()));
                }
            }
        }
        let answers = m.answers.clone();
        let resolved_ip: Vec<IpAddr> = answers.iter().filter_map(|a| a.data.ip).collect();
        let opt_count = u16::from(m.opt.is_some());
        let request = match (q, r) {
            (Some(q), Some(_)) => {
                let qm = &q.msg;
                Some(RequestFields {
                    op_code: names::opcode_name(qm.header.opcode()),
                    response_code: names::rcode_name(qm.rcode()),
                    header_flags: header_flags(qm),
                    questions_count: qm.header.qdcount,
                    answers_count: qm.header.ancount,
                    authorities_count: qm.header.nscount,
                    additionals_count: qm
                        .header
                        .arcount
                        .saturating_sub(u16::from(qm.opt.is_some())),
                    opt: opt_fields(qm),
                })
            }
            _ => None,
        };
        let h = &m.header;
        let fields = DnsFields {
            kind: if r.is_some() { "answer" } else { "query" },
            id: h.id.to_string(),
            op_code: names::opcode_name(h.opcode()),
            response_code: names::rcode_name(m.rcode()),
            header_flags: header_flags(m),
            flags: FlagBits {
                authoritative: h.aa(),
                truncated_response: h.tc(),
                recursion_desired: h.rd(),
                recursion_available: h.ra(),
                authentic_data: h.ad(),
                checking_disabled: h.cd(),
            },
            question,
            questions,
            questions_count: h.qdcount,
            answers_count: h.ancount,
            answers,
            authorities_count: h.nscount,
            authorities: if self.include_authorities { m.authorities.clone() } else { Vec::new() },
            additionals_count: h.arcount.saturating_sub(opt_count),
            additionals: if self.include_additionals { m.additionals.clone() } else { Vec::new() },
            resolved_ip,
            opt: opt_fields(m),
            request,
            anomalies,
        };
        let related = fields
            .question
            .as_ref()
            .map(|qq| qq.name.clone())
            .filter(|n| n != ".")
            .into_iter()
            .collect();
        // Packetbeat's top-level fields: `QUERY`, the name, `class IN, type A, example.com`.
        let packetbeat = fields.question.as_ref().map(|qq| {
            (qq.name.clone(), format!("class {}, type {}, {}", qq.class, qq.qtype, qq.name))
        });
        let method = fields.op_code.clone();
        let mut t = Txn::new(&PROTOCOL, start, Fields { dns: fields });
        t.method = Some(method);
        if let Some((resource, query)) = packetbeat {
            t.resource = Some(resource);
            t.query = Some(query);
        }
        for s in [q, r].into_iter().flatten() {
            match s.dir {
                Dir::ToServer => t.client_bytes += s.bytes,
                Dir::ToClient => t.server_bytes += s.bytes,
            }
        }
        if let Some(r) = r {
            t.end_ns = Some(r.last_ts);
            let ok = r.msg.rcode() == 0;
            t.outcome = if ok { Outcome::Success } else { Outcome::Failure };
            t.status = if ok { "OK" } else { "Error" };
        } else {
            t.status = "Error";
        }
        t.notes = notes;
        t.related_hosts = related;
        t
    }

    fn expire(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.last_ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                self.counters.unmatched += 1;
                out.push(self.txn(&p, None, "no response within the transaction timeout"));
            }
        }
    }
}

/// Whether `r` (a response when `response`, else a repeated query) is about the same question
/// as the pending query `q`.
fn same_question(q: &Message, r: &Message, response: bool) -> bool {
    match (q.questions.first(), r.questions.first()) {
        (Some(a), Some(b)) => {
            a.qtype == b.qtype
                && a.qclass & 0x7fff == b.qclass & 0x7fff
                && a.name.eq_ignore_ascii_case(&b.name)
        }
        (None, None) => true,
        // FORMERR and friends may come back without the question; mDNS (id 0) answers are
        // announcements, not replies to one query.
        (Some(_), None) => response && r.header.id != 0,
        (None, Some(_)) => false,
    }
}

impl Parser for DnsParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.tcp {
            self.tcp_data(dir, ts_ns, bytes, out);
        } else {
            self.udp(dir, ts_ns, bytes, out);
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let side = &mut self.sides[usize::from(dir == Dir::ToClient)];
        side.buf.clear();
        side.desync = true;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        self.expire(now_ns, out);
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            self.counters.unmatched += 1;
            out.push(self.txn(&p, None, "no response before the flow ended"));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
