//! Unit tests on messages cut from corpus captures (tests/data/icmp/README.md says which).

use super::parser::{self, Role};
use super::*;
use crate::bytes::ParseError;
use crate::community_id::community_id;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};
use std::net::{IpAddr, Ipv4Addr};

const V4_ECHO_REQUEST: &[u8] = include_bytes!("../../../tests/data/icmp/v4-echo-request.bin");
const V4_ECHO_REPLY: &[u8] = include_bytes!("../../../tests/data/icmp/v4-echo-reply.bin");
const V4_TIME_EXCEEDED: &[u8] = include_bytes!("../../../tests/data/icmp/v4-time-exceeded-udp.bin");
const V4_PORT_UNREACHABLE: &[u8] =
    include_bytes!("../../../tests/data/icmp/v4-port-unreachable-udp.bin");
const V6_ECHO_REQUEST: &[u8] = include_bytes!("../../../tests/data/icmp/v6-echo-request.bin");
const V6_ECHO_REPLY: &[u8] = include_bytes!("../../../tests/data/icmp/v6-echo-reply.bin");
const V6_PORT_UNREACHABLE: &[u8] =
    include_bytes!("../../../tests/data/icmp/v6-port-unreachable.bin");
const V6_NEIGHBOR_SOLICITATION: &[u8] =
    include_bytes!("../../../tests/data/icmp/v6-neighbor-solicitation.bin");
const V6_TIME_EXCEEDED: &[u8] = include_bytes!("../../../tests/data/icmp/v6-time-exceeded.bin");

const ALL: &[&[u8]] = &[
    V4_ECHO_REQUEST,
    V4_ECHO_REPLY,
    V4_TIME_EXCEEDED,
    V4_PORT_UNREACHABLE,
    V6_ECHO_REQUEST,
    V6_ECHO_REPLY,
    V6_PORT_UNREACHABLE,
    V6_NEIGHBOR_SOLICITATION,
    V6_TIME_EXCEEDED,
];

fn parser_with(limits: &Limits) -> IcmpParser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Icmp, ip_proto: 0 };
    IcmpParser::new(&ctx, None)
}

fn fields(t: &Txn) -> &Fields {
    match &t.fields {
        ProtoFields::Icmp(f) => f,
        _ => panic!("not an ICMP transaction"),
    }
}

fn json(t: &Txn) -> serde_json::Value {
    serde_json::to_value(fields(t)).unwrap()
}

#[test]
fn every_prefix_of_the_header_is_incomplete_not_malformed() {
    for msg in ALL {
        for version in [4, 6] {
            for n in 0..parser::HEADER_LEN {
                assert_eq!(parser::parse(&msg[..n], version), Err(ParseError::Incomplete));
            }
            // From the fixed header on, any cut is a message (ICMP has no length field); it
            // never becomes malformed, only annotated.
            for n in parser::HEADER_LEN..=msg.len() {
                assert!(parser::parse(&msg[..n], version).is_ok(), "prefix {n}");
            }
        }
    }
    assert!(matches!(parser::parse(V4_ECHO_REQUEST, 5), Err(ParseError::Malformed(_))));
}

#[test]
fn versions_are_guessed_from_checksum_type_and_quoted_header() {
    for m in [V4_ECHO_REQUEST, V4_ECHO_REPLY, V4_TIME_EXCEEDED, V4_PORT_UNREACHABLE] {
        assert_eq!(parser::guess_version(m), Some(4));
    }
    for m in [V6_ECHO_REQUEST, V6_ECHO_REPLY, V6_PORT_UNREACHABLE, V6_TIME_EXCEEDED] {
        assert_eq!(parser::guess_version(m), Some(6));
    }
    // A corrupted ICMPv4 echo with a low type is inconclusive (the parser then assumes 4).
    let mut bad = V4_ECHO_REQUEST.to_vec();
    bad[2] ^= 0xff;
    assert_eq!(parser::guess_version(&bad), None);
}

#[test]
fn bad_checksum_is_flagged_not_dropped() {
    let mut bad = V4_ECHO_REQUEST.to_vec();
    bad[10] ^= 0x55;
    let m = parser::parse(&bad, 4).unwrap();
    assert_eq!((m.ty, m.code), (8, 0));
    assert!(m.notes.iter().any(|n| n.contains("checksum")));
    assert!(parser::parse(V4_ECHO_REQUEST, 4).unwrap().notes.is_empty());
}

#[test]
fn quoted_ipv4_udp_tuple_and_community_id() {
    // cid-icmp.pcap frame 4: TTL exceeded quoting UDP 10.0.0.2:30000 -> 10.0.0.1:13000.
    let m = parser::parse(V4_TIME_EXCEEDED, 4).unwrap();
    let q = m.quoted.clone().unwrap();
    assert_eq!(q.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(q.dst, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(q.proto, 17);
    assert_eq!(q.ports, Some((30000, 13000)));
    assert_eq!(m.text(), "Time Exceeded (TTL Exceeded in Transit)");
    let f = quoted_fields(&q);
    assert_eq!(f.transport, Some("udp"));
    assert_eq!(
        f.community_id,
        community_id(0, q.dst, q.src, 17, 13000, 30000),
        "the quoted flow's id is direction-free"
    );
    assert!(f.community_id.is_some());
}

#[test]
fn quoted_ipv6_udp_tuple() {
    // zeek-communityid-icmp6.pcap frame 20: port unreachable for a traceroute probe.
    let m = parser::parse(V6_PORT_UNREACHABLE, 6).unwrap();
    assert_eq!(m.text(), "Destination Unreachable (Port Unreachable)");
    let q = m.quoted.unwrap();
    assert_eq!(q.src.to_string(), "3ffe:507:0:1:200:86ff:fe05:80da");
    assert_eq!(q.dst.to_string(), "3ffe:501:410:0:2c0:dfff:fe47:33e");
    assert_eq!((q.proto, q.ports), (17, Some((41077, 33444))));
}

#[test]
fn quoted_ipv6_behind_extension_headers_and_broken_quotes() {
    // Hop-by-hop (8 bytes) then a fragment header (first fragment) then UDP.
    let mut quoted = V6_PORT_UNREACHABLE[8..48].to_vec();
    quoted[6] = 0; // next header: hop-by-hop
    quoted.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
    quoted.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 1]);
    quoted.extend_from_slice(&[0x12, 0x34, 0x00, 0x35, 0, 8, 0, 0]);
    let q = parser::parse_quoted(&quoted).unwrap();
    assert_eq!((q.proto, q.ports), (17, Some((0x1234, 53))));
    // A non-first fragment has no ports.
    let n = quoted.len();
    quoted[n - 14] = 0x01; // fragment offset 32 bytes
    let q = parser::parse_quoted(&quoted).unwrap();
    assert_eq!((q.proto, q.ports), (17, None));
    // Endless chain of hop-by-hop headers: bounded walk, no ports.
    let mut chain = V6_PORT_UNREACHABLE[8..48].to_vec();
    chain[6] = 0;
    for _ in 0..20 {
        chain.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    }
    assert_eq!(parser::parse_quoted(&chain).unwrap().ports, None);
    // Not an IP header, or cut inside it: flagged.
    assert!(parser::parse_quoted(&[0x20; 40]).is_err());
    assert!(parser::parse_quoted(&V6_PORT_UNREACHABLE[8..30]).is_err());
    let mut err = V4_TIME_EXCEEDED.to_vec();
    err[8] = 0x75;
    let m = parser::parse(&err, 4).unwrap();
    assert!(m.quoted.is_none());
    assert!(m.notes.iter().any(|n| n.contains("neither IPv4 nor IPv6")));
}

#[test]
fn pairs_echo_by_identifier_and_sequence() {
    let limits = Limits::default();
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1_000, V6_ECHO_REQUEST, &mut out);
    assert!(out.is_empty(), "the request waits for its reply");
    p.data(Dir::ToClient, 23_000, V6_ECHO_REPLY, &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!((t.start_ns, t.end_ns), (1_000, Some(23_000)));
    assert_eq!(t.outcome, Outcome::Success);
    assert_eq!(t.status, "OK");
    assert_eq!((t.client_bytes, t.server_bytes), (16, 16));
    let j = json(t);
    assert_eq!(j["icmp"]["version"], 6);
    assert_eq!(j["icmp"]["request"]["type"], 128);
    assert_eq!(j["icmp"]["request"]["message"], "Echo Request");
    assert_eq!(j["icmp"]["response"]["type"], 129);
    assert_eq!(j["network_traffic"]["icmp"]["response"]["message"], "Echo Reply");
    let c = p.take_counters();
    assert_eq!((c.messages, c.unmatched, c.malformed), (2, 0, 0));
}

#[test]
fn duplicate_request_unmatched_reply_and_close() {
    // cid-icmp.pcap: the request is sent twice (frames 1 and 2), answered once.
    let limits = Limits::default();
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, V4_ECHO_REQUEST, &mut out);
    p.data(Dir::ToServer, 2, V4_ECHO_REQUEST, &mut out);
    assert_eq!(out.len(), 1, "the first copy is published when the second arrives");
    assert!(out[0].notes.iter().any(|n| n.contains("same identifier")));
    assert_eq!(out[0].outcome, Outcome::Failure);
    p.data(Dir::ToClient, 3, V4_ECHO_REPLY, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!((out[1].start_ns, out[1].end_ns), (2, Some(3)));
    // A second reply has no request left.
    p.data(Dir::ToClient, 4, V4_ECHO_REPLY, &mut out);
    assert_eq!(out.len(), 3);
    assert!(out[2].notes.iter().any(|n| n == "response without request"));
    assert_eq!(out[2].status, "Error");
    assert!(json(&out[2])["icmp"].get("request").is_none());
    // An unanswered request is published at close.
    p.data(Dir::ToServer, 5, V4_ECHO_REQUEST, &mut out);
    p.close(6, &mut out);
    assert_eq!(out.len(), 4);
    assert!(out[3].notes.iter().any(|n| n.contains("flow ended")));
    assert_eq!(p.take_counters().unmatched, 3);
}

#[test]
fn unanswered_requests_time_out() {
    let limits = Limits { transaction_timeout_ns: 100, ..Limits::default() };
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 0, V4_ECHO_REQUEST, &mut out);
    p.tick(50, &mut out);
    assert!(out.is_empty());
    p.tick(101, &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].notes.iter().any(|n| n.contains("timeout")));
    // A late reply is then unmatched.
    p.data(Dir::ToClient, 150, V4_ECHO_REPLY, &mut out);
    assert!(out[1].notes.iter().any(|n| n == "response without request"));
}

#[test]
fn pending_requests_are_bounded() {
    let limits = Limits { max_pending: 3, ..Limits::default() };
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    for seq in 0..10u16 {
        let mut m = V4_ECHO_REQUEST.to_vec();
        m[6..8].copy_from_slice(&seq.to_be_bytes());
        p.data(Dir::ToServer, i64::from(seq), &m, &mut out);
    }
    assert_eq!(out.len(), 7);
    assert!(out.iter().all(|t| t.notes.iter().any(|n| n.contains("too many"))));
    assert_eq!(p.pending.len(), 3);
    assert_eq!(p.take_counters().limit_hits, 7);
}

#[test]
fn errors_are_single_events_with_the_quoted_flow() {
    let limits = Limits::default();
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 7, V4_PORT_UNREACHABLE, &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!((t.status, t.outcome), ("Error", Outcome::Failure));
    assert_eq!(t.end_ns, None);
    let j = json(t);
    assert_eq!(j["icmp"]["request"]["type"], 3);
    assert_eq!(j["icmp"]["request"]["code"], 3);
    assert_eq!(j["icmp"]["request"]["message"], "Destination Unreachable (Port Unreachable)");
    let q = &j["network_traffic"]["icmp"]["quoted"];
    assert_eq!(q["transport"], "udp");
    assert_eq!(q["iana_number"], "17");
    assert!(q["source"]["port"].is_u64() && q["destination"]["port"].is_u64());
    assert!(q["community_id"].as_str().unwrap().starts_with("1:"));
    assert!(j["icmp"].get("quoted").is_none(), "the quoted flow is only under network_traffic");
}

#[test]
fn neighbor_discovery_is_published_alone_and_ok() {
    let limits = Limits::default();
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, V6_NEIGHBOR_SOLICITATION, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].status, out[0].outcome), ("OK", Outcome::Unknown));
    let j = json(&out[0]);
    assert_eq!(j["icmp"]["version"], 6);
    assert_eq!(j["icmp"]["request"]["message"], "Neighbor Solicitation");
}

#[test]
fn cut_messages_still_report_type_and_code() {
    let limits = Limits::default();
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &[], &mut out);
    p.data(Dir::ToServer, 1, &[128], &mut out);
    assert!(out.is_empty());
    p.data(Dir::ToServer, 1, &V6_ECHO_REQUEST[..5], &mut out);
    assert_eq!(out.len(), 1, "a cut echo is reported alone, not left waiting");
    assert!(out[0].notes.iter().any(|n| n.contains("truncated")));
    assert_eq!(json(&out[0])["icmp"]["request"]["type"], 128);
    let c = p.take_counters();
    assert_eq!((c.messages, c.malformed), (1, 2));
}

#[test]
fn roles_and_names() {
    assert_eq!(parser::role(4, 13), Role::Request(13));
    assert_eq!(parser::role(4, 18), Role::Reply(17));
    assert_eq!(parser::role(6, 129), Role::Reply(128));
    assert_eq!(parser::role(6, 135), Role::Single);
    assert_eq!(parser::message_text(4, 3, 99), "Destination Unreachable (code 99)");
    assert_eq!(parser::message_text(4, 200, 1), "Unknown type 200 (code 1)");
    assert_eq!(parser::message_text(6, 2, 0), "Packet Too Big");
}

#[test]
fn garbage_never_panics() {
    let limits = Limits { max_pending: 2, ..Limits::default() };
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for i in 0..5000 {
        let len = (i % 90) as usize;
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf.push(x as u8);
        }
        if let Some(b) = buf.get_mut(8) {
            *b = if i % 2 == 0 { 0x45 } else { 0x60 };
        }
        p.data(
            if i % 3 == 0 { Dir::ToClient } else { Dir::ToServer },
            i64::from(i),
            &buf,
            &mut out,
        );
        p.tick(i64::from(i), &mut out);
    }
    p.close(1 << 40, &mut out);
    assert!(!out.is_empty());
}

fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                leaves(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, x, out)
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

#[test]
fn every_field_is_listed_exactly_once() {
    let limits = Limits::default();
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, V4_ECHO_REQUEST, &mut out);
    p.data(Dir::ToClient, 2, V4_ECHO_REPLY, &mut out);
    p.data(Dir::ToClient, 3, V4_PORT_UNREACHABLE, &mut out);
    let mut emitted = Vec::new();
    for t in &out {
        leaves("", &json(t), &mut emitted);
    }
    emitted.sort();
    emitted.dedup();
    let listed: Vec<&str> = CUSTOM_FIELDS.iter().map(|(n, _, _)| *n).collect();
    for e in &emitted {
        assert_eq!(listed.iter().filter(|n| *n == e).count(), 1, "{e} listed once");
    }
    assert_eq!(listed.len(), emitted.len(), "nothing listed that is never emitted");
}
