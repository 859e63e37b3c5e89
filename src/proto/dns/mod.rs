//! DNS over UDP and TCP (also mDNS on 5353 and LLMNR on 5355, which share the format).
//!
//! - `wire.rs` parses one message (header, questions, records, EDNS OPT) with bounded work;
//!   anomalies (broken names, pointer loops, bad RDATA, short messages) are flagged on the
//!   message, which is still reported. `rdata.rs` renders record data; `names.rs` holds the
//!   mnemonics.
//! - TCP (RFC 1035 §4.2.2, RFC 7766): a 2-byte length before each message, any number of
//!   messages per segment and messages across segments, at most `max_buffer_bytes` buffered per
//!   direction; after lost bytes the direction waits for a segment that plausibly starts a
//!   message.
//! - Pairing: a response answers the oldest pending query of the flow with the same id and the
//!   same first question (name compared case-insensitively, for 0x20 randomisation); a response
//!   without a question (FORMERR, …) answers by id alone unless the id is 0 (mDNS announcements
//!   are not answers). At most `max_pending` queries wait per flow; one unanswered after
//!   `transaction_timeout` is published alone. Every message ends up in exactly one event.
//!
//! The event follows ECS and Packetbeat: `dns.type` is `answer` when the event has a response
//! (ECS: "a second event containing all query details as well as an array of answers";
//! Packetbeat does the same) and `query` for a query nobody answered. The header fields, counts
//! and records are the response's (Packetbeat), the question is the query's; the query's own
//! header values are kept under `dns.request.*` so both messages can be read back.
//! `*_count` fields are the header's counts (what `dig` prints), the additional count without
//! the OPT record (Packetbeat); for UPDATE the four sections are zone, prerequisites, updates
//! and additional data, reported under the same names. `response_code` includes the EDNS
//! extended bits (BADVERS, BADCOOKIE). `event.outcome` is success for NOERROR, failure for any
//! other response code, unknown for an unanswered query; `status` is "OK" only for NOERROR.
//!
//! Pairing is per flow: LLMNR and mDNS answers sent to another address or port than the query
//! came from are in another flow and are published as lone responses.
//!
//! No content probe: DNS has no signature strong enough to claim a flow on other ports (tshark
//! also dissects DNS by port only).

pub mod names;
pub mod rdata;
pub mod wire;

use crate::proto::{
    Dir, Outcome, Parser, ParserContext, ParserCounters, ProtoFields, Protocol, Transport, Txn,
};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::VecDeque;
use std::net::IpAddr;
use wire::{Message, Record};

pub static PROTOCOL: Protocol = Protocol {
    name: "dns",
    transports: &[Transport::Udp, Transport::Tcp],
    settings: |c| (c.dns.enabled, &c.dns.ports),
    probe: |_, _, _| false,
    make: |ctx: &ParserContext<'_>| Box::new(DnsParser::new(ctx)),
};

/// `wirebeat.protocols.dns`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// UDP and TCP ports: DNS 53, mDNS 5353, LLMNR 5355.
    pub ports: Vec<u16>,
    /// Publish the authority section as `dns.authorities[]` (its count is always published).
    pub include_authorities: bool,
    /// Publish the additional section as `dns.additionals[]` (the OPT record is `dns.opt`).
    pub include_additionals: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            ports: vec![53, 5353, 5355],
            include_authorities: true,
            include_additionals: true,
        }
    }
}

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.dns";

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
/// Names are Packetbeat's where Packetbeat has the field.
pub const CUSTOM_FIELDS: &[(&str, &str, &str)] = &[
    ("dns.flags.authoritative", "boolean", "AA: the responding server is authoritative."),
    ("dns.flags.truncated_response", "boolean", "TC: the message was truncated."),
    ("dns.flags.recursion_desired", "boolean", "RD: the client asks for recursion."),
    ("dns.flags.recursion_available", "boolean", "RA: the server offers recursion."),
    ("dns.flags.authentic_data", "boolean", "AD: the resolver considers the data authentic."),
    ("dns.flags.checking_disabled", "boolean", "CD: DNSSEC validation disabled by the client."),
    ("dns.questions_count", "long", "QDCOUNT of the message the event describes."),
    (
        "dns.questions",
        "object",
        "Every question (name, type, class) when the message has more than one (mDNS).",
    ),
    ("dns.answers_count", "long", "ANCOUNT of the message the event describes."),
    ("dns.authorities_count", "long", "NSCOUNT of the message the event describes."),
    (
        "dns.authorities",
        "object",
        "Authority records: name, type, class, ttl, data and the type's extra keys as in \
         dns.answers.",
    ),
    (
        "dns.additionals_count",
        "long",
        "ARCOUNT of the message the event describes, without the EDNS OPT record (Packetbeat).",
    ),
    ("dns.additionals", "object", "Additional records (the OPT record is dns.opt)."),
    ("dns.opt.version", "keyword", "EDNS version."),
    ("dns.opt.do", "boolean", "EDNS DO bit: DNSSEC records wanted."),
    ("dns.opt.ext_rcode", "keyword", "Response code including the EDNS extended bits."),
    ("dns.opt.udp_size", "long", "EDNS UDP payload size."),
    ("dns.opt.options", "keyword", "EDNS option names in wire order (ECS, COOKIE, PADDING, …)."),
    ("dns.opt.subnet", "keyword", "EDNS client subnet: address/source-prefix/scope-prefix."),
    ("dns.opt.cookie.client", "keyword", "EDNS client cookie (hex)."),
    ("dns.opt.cookie.server", "keyword", "EDNS server cookie (hex)."),
    ("dns.request.op_code", "keyword", "Op code of the query, when the event has a response."),
    ("dns.request.response_code", "keyword", "RCODE field of the query message."),
    ("dns.request.header_flags", "keyword", "Header flags of the query (RD, CD, AD, DO, …)."),
    ("dns.request.questions_count", "long", "QDCOUNT of the query."),
    ("dns.request.answers_count", "long", "ANCOUNT of the query."),
    ("dns.request.authorities_count", "long", "NSCOUNT of the query."),
    ("dns.request.additionals_count", "long", "ARCOUNT of the query without its OPT record."),
    ("dns.request.opt.version", "keyword", "EDNS version of the query."),
    ("dns.request.opt.do", "boolean", "EDNS DO bit of the query."),
    ("dns.request.opt.ext_rcode", "keyword", "Extended response code field of the query."),
    ("dns.request.opt.udp_size", "long", "EDNS UDP payload size the client offers."),
    ("dns.request.opt.options", "keyword", "EDNS option names of the query."),
    ("dns.request.opt.subnet", "keyword", "EDNS client subnet sent by the client."),
    ("dns.request.opt.cookie.client", "keyword", "EDNS client cookie of the query (hex)."),
    ("dns.request.opt.cookie.server", "keyword", "EDNS server cookie echoed by the client."),
    (
        "dns.anomalies",
        "keyword",
        "What was wrong in the messages (name_pointer_loop, rdata_malformed, …).",
    ),
];

/// The ECS fields of a DNS transaction: the top-level `dns` object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    /// Boxed: the fields are large and `ProtoFields` holds every protocol's variant.
    pub dns: Box<DnsFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DnsFields {
    /// `query` or `answer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub op_code: String,
    pub response_code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub header_flags: Vec<&'static str>,
    pub flags: FlagBits,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionFields>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<QuestionItem>,
    pub questions_count: u16,
    pub answers_count: u16,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "records")]
    pub answers: Vec<Record>,
    pub authorities_count: u16,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "records")]
    pub authorities: Vec<Record>,
    pub additionals_count: u16,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "records")]
    pub additionals: Vec<Record>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved_ip: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt: Option<OptFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestFields>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<&'static str>,
}

fn records<S: Serializer>(v: &[Record], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(rdata::RecordJson))
}

/// Packetbeat's `dns.flags.*`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct FlagBits {
    pub authoritative: bool,
    pub truncated_response: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    pub authentic_data: bool,
    pub checking_disabled: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuestionFields {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: String,
    pub class: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdomain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_level_domain: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuestionItem {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: String,
    pub class: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OptFields {
    pub version: String,
    #[serde(rename = "do")]
    pub dnssec_ok: bool,
    pub ext_rcode: String,
    pub udp_size: u16,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<CookieFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CookieFields {
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// The query's own header values in an event that also has the response.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestFields {
    pub op_code: String,
    pub response_code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub header_flags: Vec<&'static str>,
    pub questions_count: u16,
    pub answers_count: u16,
    pub authorities_count: u16,
    pub additionals_count: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt: Option<OptFields>,
}

fn header_flags(m: &Message) -> Vec<&'static str> {
    let h = &m.header;
    let mut v = Vec::new();
    for (on, f) in [
        (h.aa(), "AA"),
        (h.tc(), "TC"),
        (h.rd(), "RD"),
        (h.ra(), "RA"),
        (h.ad(), "AD"),
        (h.cd(), "CD"),
        (m.opt.as_ref().is_some_and(|o| o.dnssec_ok), "DO"),
    ] {
        if on {
            v.push(f);
        }
    }
    v
}

fn opt_fields(m: &Message) -> Option<OptFields> {
    let o = m.opt.as_ref()?;
    let mut f = OptFields {
        version: o.version.to_string(),
        dnssec_ok: o.dnssec_ok,
        ext_rcode: names::rcode_name(m.rcode()),
        udp_size: o.udp_size,
        options: o.codes.iter().map(|c| names::edns_option_name(*c)).collect(),
        subnet: None,
        cookie: None,
    };
    for opt in &o.options {
        match opt {
            wire::EdnsOption::ClientSubnet(s) => f.subnet = Some(s.clone()),
            wire::EdnsOption::Cookie { client, server } => {
                f.cookie = Some(CookieFields { client: client.clone(), server: server.clone() })
            }
            wire::EdnsOption::Other { .. } => {}
        }
    }
    Some(f)
}

/// ECS's registered_domain / subdomain / top_level_domain from the public suffix list. Names
/// with escaped bytes, and single labels that are not a known suffix (LLMNR's `wpad`), get none.
fn domain_parts(name: &str) -> (Option<String>, Option<String>, Option<String>) {
    let none = (None, None, None);
    if name == "." || name.contains('\\') || name.is_empty() {
        return none;
    }
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    let Some(suffix) = psl::suffix(lower.as_bytes()) else { return none };
    if !lower.contains('.') && !suffix.is_known() {
        return none;
    }
    let tld = String::from_utf8_lossy(suffix.trim().as_bytes()).into_owned();
    let Some(domain) = psl::domain(lower.as_bytes()) else { return (None, None, Some(tld)) };
    let reg = String::from_utf8_lossy(domain.trim().as_bytes()).into_owned();
    let sub = lower
        .len()
        .checked_sub(reg.len() + 1)
        .and_then(|n| lower.get(..n))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    (Some(reg), sub, Some(tld))
}

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
    let Some(len) = wire::be16(b, 0) else { return false };
    let Some(h) = wire::header(b.get(2..).unwrap_or_default()) else { return false };
    usize::from(len) >= wire::HEADER_LEN && h.qdcount <= 1 && matches!(h.opcode(), 0..=2 | 4..=6)
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
        match wire::parse(bytes) {
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
        while let Ok((m, n)) = wire::frame(side.buf.get(used..).unwrap_or_default()) {
            parsed.push((wire::parse(m), start, n as u64));
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
        let mut t =
            Txn::new("dns", DATASET, start, ProtoFields::Dns(Fields { dns: Box::new(fields) }));
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

#[cfg(test)]
mod tests;
