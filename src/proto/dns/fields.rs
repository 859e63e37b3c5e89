//! ECS fields of a DNS transaction (the top-level `dns` object) and the custom-field list;
//! helpers that render a parsed message's header, EDNS and domain parts into them.

use super::parser::{Message, Record};
use super::{names, parser, rdata};
use crate::proto::CustomField;
use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
/// Names are Packetbeat's where Packetbeat has the field.
pub const CUSTOM_FIELDS: &[CustomField] = &[
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
    pub dns: DnsFields,
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

pub(super) fn header_flags(m: &Message) -> Vec<&'static str> {
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

pub(super) fn opt_fields(m: &Message) -> Option<OptFields> {
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
            parser::EdnsOption::ClientSubnet(s) => f.subnet = Some(s.clone()),
            parser::EdnsOption::Cookie { client, server } => {
                f.cookie = Some(CookieFields { client: client.clone(), server: server.clone() })
            }
            parser::EdnsOption::Other { .. } => {}
        }
    }
    Some(f)
}

/// ECS's registered_domain / subdomain / top_level_domain from the public suffix list. Names
/// with escaped bytes, and single labels that are not a known suffix (LLMNR's `wpad`), get none.
pub(super) fn domain_parts(name: &str) -> (Option<String>, Option<String>, Option<String>) {
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
