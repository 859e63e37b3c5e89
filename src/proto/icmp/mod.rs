//! ICMP and ICMPv6: one event per message, echo-like requests paired with their replies.
//!
//! The flow layer hands over each ICMP message whole (type, code, checksum and body), one per
//! `data()` call, for every ICMP/ICMPv6 flow (the protocol has no ports). Echo and echo reply
//! share a flow (Community ID type mapping), so pairing is per flow: ICMPv4 echo, timestamp,
//! information and address-mask requests, and ICMPv6 echo, wait for the reply with the same
//! identifier and sequence number (bounded by `max_pending`, expired after the transaction
//! timeout, flushed at close — all published with a note). Every other type is published alone.
//! Errors (unreachable, time exceeded, parameter problem, packet too big, redirect, source
//! quench) quote the offending packet: its tuple and Community ID go to
//! `network_traffic.icmp.quoted.*` so an analyst can pivot from the error to the flow.
//!
//! Field names are Packetbeat's (`icmp.version`, `icmp.request.{type,code,message}`,
//! `icmp.response.*`), which Elastic's prebuilt rules query, emitted under both `icmp.*` and
//! the integration's `network_traffic.icmp.*`. ECS has no `icmp` fields: all are custom.
//! Messages are spelled out ("Destination Unreachable (Port Unreachable)") rather than
//! gopacket's CamelCase that Packetbeat prints; rules match on type and code.
//!
//! IP version: `ParserContext` does not say whether the flow is ICMP or ICMPv6, so the parser
//! decides per flow from the first conclusive message (`parser::guess_version`: a verifying
//! ICMPv4 checksum, an assigned ICMPv6 informational type, or the quoted header's version),
//! else 4; `IcmpParser::new` takes the version directly once the flow layer can pass it.

pub mod parser;

use crate::flow::community_id::community_id;
use crate::proto::{
    Dir, Outcome, Parser, ParserContext, ParserCounters, ProtoFields, Protocol, Transport, Txn,
};
use parser::{ParseError, Quoted, Role};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::IpAddr;

pub static PROTOCOL: Protocol = Protocol {
    name: "icmp",
    transports: &[Transport::Icmp],
    settings: |c| (c.icmp.enabled, &c.icmp.ports),
    probe: |_, _, _| false,
    make: |ctx| {
        let version = match ctx.ip_proto {
            1 => Some(4),
            58 => Some(6),
            _ => None,
        };
        Box::new(IcmpParser::new(ctx, version))
    },
};

/// `wirebeat.protocols.icmp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// Unused: ICMP has no ports (kept for a uniform protocol section).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: vec![] }
    }
}

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.icmp";

/// Seed of the Community ID of quoted flows (the shipper's default; `ParserContext` does not
/// carry the configured one).
const COMMUNITY_ID_SEED: u16 = 0;

/// The fields of an ICMP event: Packetbeat's `icmp.*` and the integration's
/// `network_traffic.icmp.*` (which also holds the quoted flow of errors).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub icmp: IcmpFields,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub icmp: NetworkTrafficIcmp,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTrafficIcmp {
    #[serde(flatten)]
    pub common: IcmpFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted: Option<QuotedFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IcmpFields {
    /// 4 or 6.
    pub version: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<TypeCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<TypeCode>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeCode {
    #[serde(rename = "type")]
    pub ty: u8,
    pub code: u8,
    pub message: String,
}

/// The packet an ICMP error quotes, as the flow it belongs to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuotedFields {
    pub source: QuotedEndpoint,
    pub destination: QuotedEndpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'static str>,
    pub iana_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuotedEndpoint {
    pub ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[(&str, &str, &str)] = &[
    ("icmp.version", "long", "ICMP version: 4 (ICMP) or 6 (ICMPv6). Packetbeat field."),
    ("icmp.request.type", "long", "Type of the request (every non-reply message)."),
    ("icmp.request.code", "long", "Code of the request."),
    ("icmp.request.message", "keyword", "Human-readable type and code of the request."),
    ("icmp.response.type", "long", "Type of the reply."),
    ("icmp.response.code", "long", "Code of the reply."),
    ("icmp.response.message", "keyword", "Human-readable type and code of the reply."),
    ("network_traffic.icmp.version", "long", "Same as icmp.version (integration name)."),
    ("network_traffic.icmp.request.type", "long", "Same as icmp.request.type."),
    ("network_traffic.icmp.request.code", "long", "Same as icmp.request.code."),
    ("network_traffic.icmp.request.message", "keyword", "Same as icmp.request.message."),
    ("network_traffic.icmp.response.type", "long", "Same as icmp.response.type."),
    ("network_traffic.icmp.response.code", "long", "Same as icmp.response.code."),
    ("network_traffic.icmp.response.message", "keyword", "Same as icmp.response.message."),
    (
        "network_traffic.icmp.quoted.source.ip",
        "ip",
        "Source address of the packet an error quotes.",
    ),
    ("network_traffic.icmp.quoted.source.port", "long", "Its source port (TCP/UDP/SCTP)."),
    (
        "network_traffic.icmp.quoted.destination.ip",
        "ip",
        "Destination address of the quoted packet.",
    ),
    ("network_traffic.icmp.quoted.destination.port", "long", "Its destination port."),
    (
        "network_traffic.icmp.quoted.transport",
        "keyword",
        "Transport of the quoted packet (tcp, udp, …).",
    ),
    (
        "network_traffic.icmp.quoted.iana_number",
        "keyword",
        "IP protocol number of the quoted packet.",
    ),
    (
        "network_traffic.icmp.quoted.community_id",
        "keyword",
        "Community ID of the quoted packet's flow.",
    ),
];

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
struct Pending {
    /// (request type, identifier, sequence number).
    key: (u8, u16, u16),
    seen: Seen,
    notes: Vec<&'static str>,
}

pub struct IcmpParser {
    /// IP version of the flow, once known (from the constructor or a conclusive message).
    version: Option<u8>,
    pending: VecDeque<Pending>,
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
        let mut t = Txn::new("icmp", DATASET, start, ProtoFields::Icmp(Box::new(fields)));
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

fn quoted_fields(q: &Quoted) -> QuotedFields {
    let transport_ports = matches!(q.proto, 6 | 17 | 132);
    let port = |p: Option<u16>| if transport_ports { p } else { None };
    let (sport, dport) = match q.ports {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    };
    // Without ports a TCP/UDP tuple cannot be hashed like the flow was; ICMP and port-less
    // protocols hash as the Community ID spec says.
    let cid = match (q.proto, q.ports) {
        (6 | 17 | 132 | 1 | 58, Some((s, d))) => {
            community_id(COMMUNITY_ID_SEED, q.src, q.dst, q.proto, s, d)
        }
        (6 | 17 | 132 | 1 | 58, None) => None,
        _ => community_id(COMMUNITY_ID_SEED, q.src, q.dst, q.proto, 0, 0),
    };
    QuotedFields {
        source: QuotedEndpoint { ip: q.src, port: port(sport) },
        destination: QuotedEndpoint { ip: q.dst, port: port(dport) },
        transport: parser::transport_name(q.proto),
        iana_number: q.proto.to_string(),
        community_id: cid,
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

#[cfg(test)]
mod tests;
