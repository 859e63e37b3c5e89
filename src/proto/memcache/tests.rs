//! memcache parser and session on real bytes.

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Protocols, Transport, Txn};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

// memcache-tcp.pcap: frame 18 (a multi-get reply), 74/76 (binary Set), 84/85 (GetQ, GetQ,
// SetQ, Noop in one segment; the GetQ hit and the Noop answered).
const MULTI_GET_REPLY: &str = "56414c554520757365723a31203020350d0a616c6963650d0a56414c554520757365723a32203520330d0a626f620d0a454e440d0a";
const BIN_SET: &str = "800100050800000000000019000000010000000000000000000000000000000062696e3a3162696e6172792076616c7565";
const BIN_SET_RESP: &str = "810100000000000000000000000000010000000000000009";
const BIN_QUIET: &str = "80090005000000000000000500000004000000000000000062696e3a3180090008000000000000000800000005000000000000000062696e3a6e6f6e6580110005080000000000000f000000060000000000000000000000000000000062696e3a327632800a00000000000000000000000000070000000000000000";
const BIN_QUIET_RESP: &str = "8109000004000000000000100000000400000000000000090000000062696e6172792076616c7565810a00000000000000000000000000070000000000000000";
// memcache-udp.pcap frames 1 and 2.
const UDP_SET: &str = "0001000000010000736574207564703a312030203020330d0a6162630d0a";
const UDP_STORED: &str = "000100000001000053544f5245440d0a";

fn parser(t: Transport, limits: &Limits) -> MemcacheParser {
    let cfg = Protocols::default();
    MemcacheParser::new(&ParserContext { config: &cfg, limits, transport: t, ip_proto: 6 })
}

fn mc(t: &Txn) -> &MemcacheFields {
    match &t.fields {
        ProtoFields::Memcache(f) => &f.network_traffic.memcached,
        _ => panic!("not memcache"),
    }
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    let set = b"set user:1 0 0 5\r\nalice\r\n";
    for n in 0..set.len() {
        assert_eq!(parse_text_request(&set[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (r, used) = parse_text_request(set).unwrap();
    assert_eq!((r.unwrap().bytes, used), (5, set.len()));
    let reply = hex(MULTI_GET_REPLY);
    let (u, first) = parse_text_response(&reply).unwrap();
    assert!(matches!(u, TextUnit::Value { bytes: 5, .. }));
    for n in 0..first {
        assert_eq!(parse_text_response(&reply[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    for msg in [hex(BIN_SET), hex(BIN_SET_RESP)] {
        for n in 0..msg.len() {
            assert_eq!(parse_binary(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert_eq!(parse_binary(&msg).unwrap().1, msg.len());
    }
}

#[test]
fn broken_messages_are_malformed_and_counted() {
    assert!(matches!(parse_text_response(b"WHAT\r\n"), Err(ParseError::Malformed(_))));
    assert!(matches!(parse_text_request(b"set k 0 0 1\r\nab\r\n"), Err(ParseError::Malformed(_))));
    let mut bad = hex(BIN_SET);
    bad[2] = 0xff; // key length beyond the body
    assert!(matches!(parse_binary(&bad), Err(ParseError::Malformed(_))));
    let limits = Limits::default();
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"get k\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"WHAT\r\n", &mut out);
    assert_eq!(out.len(), 1, "the pending request is published unanswered");
    assert_eq!(p.take_counters().malformed, 1);
    // A bad storage line is answered CLIENT_ERROR and has no data block: not malformed.
    let (r, _) = parse_text_request(b"set bad 0 0 notanumber\r\n").unwrap();
    assert_eq!(r.unwrap().line.as_deref(), Some("set bad 0 0 notanumber"));
}

#[test]
fn text_pairs_across_segments_multi_get_and_noreply() {
    let limits = Limits::default();
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"get user:1 us", &mut out);
    p.data(Dir::ToServer, 2, b"er:2 missing\r\nset q 0 0 1 noreply\r\nq\r\ndelete x\r\n", &mut out);
    assert_eq!(out.len(), 1, "the noreply set is published at once");
    let reply = hex(MULTI_GET_REPLY);
    p.data(Dir::ToClient, 3, &reply[..30], &mut out);
    p.data(Dir::ToClient, 4, &reply[30..], &mut out);
    p.data(Dir::ToClient, 5, b"NOT_FOUND\r\n", &mut out);
    assert_eq!(out.len(), 3);
    let get = &out[1];
    assert_eq!((get.method.as_deref(), get.resource.as_deref()), (Some("get"), Some("user:1")));
    assert_eq!(get.query.as_deref(), Some("get user:1"));
    assert_eq!((get.start_ns, get.end_ns), (1, Some(4)));
    let f = mc(get);
    assert_eq!(f.request.as_ref().unwrap().keys, ["user:1", "user:2", "missing"]);
    let r = f.response.as_ref().unwrap();
    assert_eq!((r.count_values, r.bytes, r.keys.len()), (Some(2), Some(8), 2));
    assert_eq!(mc(&out[0]).request.as_ref().unwrap().noreply, Some(true));
    assert_eq!((out[2].outcome, out[2].status), (Outcome::Failure, "Error"));
}

#[test]
fn binary_pairs_by_opaque_and_quiet_requests_end_at_noop() {
    let limits = Limits::default();
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hex(BIN_SET), &mut out);
    p.data(Dir::ToClient, 2, &hex(BIN_SET_RESP), &mut out);
    p.data(Dir::ToServer, 3, &hex(BIN_QUIET), &mut out);
    p.data(Dir::ToClient, 4, &hex(BIN_QUIET_RESP), &mut out);
    assert_eq!(out.len(), 5);
    let r = mc(&out[0]).response.as_ref().unwrap();
    assert_eq!((r.status, r.status_code), (Some("Success"), Some(0)));
    let ops: Vec<_> = out.iter().map(|t| mc(t).request.as_ref().unwrap().opcode.unwrap()).collect();
    assert_eq!(ops, ["Set", "GetQ", "GetQ", "SetQ", "Noop"]);
    assert!(mc(&out[1]).response.is_some(), "the GetQ hit is answered");
    assert!(mc(&out[2]).response.is_none() && mc(&out[3]).response.is_none());
    assert_eq!(p.take_counters().unmatched, 0);
}

#[test]
fn udp_frame_header_and_request_id_pairing() {
    let limits = Limits::default();
    let mut p = parser(Transport::Udp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hex(UDP_SET), &mut out);
    p.data(Dir::ToClient, 2, &hex(UDP_STORED), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].query.as_deref(), Some("set udp:1"));
    // A reply of two datagrams (sequence 1 arrives first) is gathered.
    p.data(Dir::ToServer, 3, b"\x00\x07\x00\x00\x00\x01\x00\x00get k\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"\x00\x07\x00\x01\x00\x02\x00\x00\r\nEND\r\n", &mut out);
    p.data(Dir::ToClient, 5, b"\x00\x07\x00\x00\x00\x02\x00\x00VALUE k 0 1\r\nv", &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(mc(&out[1]).response.as_ref().unwrap().count_values, Some(1));
    p.data(Dir::ToClient, 6, b"\x00\x01", &mut out);
    assert_eq!(p.take_counters().malformed, 1, "a datagram shorter than the frame header");
}

#[test]
fn limits_are_counted() {
    let limits = Limits { max_pending: 1, max_buffer_bytes: 64, ..Limits::default() };
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"get a\r\nget b\r\n", &mut out);
    assert_eq!(out.len(), 1, "the oldest request is published when a second waits");
    p.data(Dir::ToServer, 2, &[b'x'; 65], &mut out);
    assert_eq!(p.take_counters().limit_hits, 2);
}
