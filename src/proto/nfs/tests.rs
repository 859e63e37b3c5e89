//! NFS parser and session tests on real bytes (sv-nfs3-01.pcap frames 19/20: a v3 LOOKUP
//! over UDP answered NFSERR_NOENT; sv-nfs4-01.pcap frames 38/39: a v4 COMPOUND over TCP).

use super::parser::*;
use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Parser, ParserContext, ProtoFields, Transport, Txn};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

const V3_LOOKUP_CALL: &str = "5e1d0be00000000000000002000186a3000000030000000300000001000000343847760b00000009776572726d73636865000000000000000000000100000005000000010000000000000002000000030000001100000000000000000000002000101085000003e7000a00000000b25a00000029000a00000000b25a000000290000000161000000";
const V3_LOOKUP_REPLY: &str = "5e1d0be000000001000000000000000000000000000000000000000200000000";
const V4_CALL: &str = "800000c497d3d4270000000000000002000186a300000004000000010000000100000024004708fe000000096e65746170702d323600000000000000000000000000000100000000000000000000000000000000000000010000000500000035000002d2e014820000000000000004020000000c0000000000000000000000000000001600000020010100000000000000000000400000008baeea7ffff1fa8000000000000000000000000f00000004766f6c310000000a00000009000000020010011a00b0a23a";
const V4_REPLY: &str = "8000013897d3d42700000001000000000000000000000000000000000000000000000000000000050000003500000000000002d2e014820000000000000004020000000c000000000000003f0000003f0000000000000016000000000000000f000000000000000a000000000000002001010000000000000000000040000000cc9fd05b00f2fa8000000000000000000000000900000000000000030010011a00b0a03a00000000000000900000000216f82fd5dbb7fe3800000000000020000000000000f2fa8000000000000000000000000000000040000001ff0000000a0000000f726f6f74406e65746170702e636f6d000000000f726f6f74406e65746170702e636f6d000000000000002000000000005be0bee819ebe8f8000000005be0bf571bb7fe38000000005be0bf571bb7fe380000000000000062";

fn parser(t: Transport) -> NfsParser {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits::default();
    let ctx = ParserContext { config: &cfg, limits: &limits, transport: t, ip_proto: 0 };
    NfsParser::new(&ctx)
}

fn nfs(t: &Txn) -> &NfsFields {
    match &t.fields {
        ProtoFields::Nfs(f) => &f.network_traffic.nfs,
        _ => panic!("not nfs"),
    }
}

#[test]
fn v3_call_and_reply_parse() {
    let Ok(Rpc::Call(c)) = parse_rpc(&unhex(V3_LOOKUP_CALL)) else { panic!() };
    assert_eq!((c.xid, c.prog, c.vers, c.proc_, c.flavor), (0x5e1d0be0, NFS_PROGRAM, 3, 3, 1));
    let cred = c.cred.clone().unwrap();
    assert_eq!(cred.machinename, "werrmsche");
    let info = v3_call(c.proc_, &c.args);
    assert_eq!(info.opcode, "LOOKUP");
    assert_eq!(info.name.as_deref(), Some("a"));
    assert!(info.fh.is_some());
    let Ok(Rpc::Reply(r)) = parse_rpc(&unhex(V3_LOOKUP_REPLY)) else { panic!() };
    assert_eq!(r.stat, ReplyStat::Accepted(0));
    assert_eq!(reply_status(3, 3, &r.results).0, Some(2));
}

#[test]
fn every_prefix_of_a_tcp_record_is_incomplete() {
    let rec = unhex(V4_CALL);
    for n in 0..rec.len() {
        assert_eq!(record(&rec[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (body, used) = record(&rec).unwrap();
    assert_eq!(used, rec.len());
    assert_eq!(body.len(), rec.len() - 4);
}

#[test]
fn fragments_are_joined_and_bounded() {
    let rec = unhex(V4_CALL);
    let body = &rec[4..];
    let mut two = Vec::new();
    two.extend_from_slice(&10u32.to_be_bytes());
    two.extend_from_slice(&body[..10]);
    two.extend_from_slice(&(0x8000_0000u32 | (body.len() as u32 - 10)).to_be_bytes());
    two.extend_from_slice(&body[10..]);
    assert_eq!(record(&two).unwrap().0, body);
    let huge = (0x8000_0000u32 | (MAX_RECORD_BYTES as u32 + 1)).to_be_bytes();
    assert!(matches!(record(&huge), Err(ParseError::Malformed(_))));
}

#[test]
fn v4_compound_ops_main_op_and_status() {
    let (body, _) = record(&unhex(V4_CALL)).unwrap();
    let Ok(Rpc::Call(c)) = parse_rpc(&body) else { panic!() };
    let info = v4_call(c.proc_, &c.args);
    assert_eq!(info.ops, ["SEQUENCE", "PUTFH", "LOOKUP", "GETFH", "GETATTR"]);
    assert_eq!(info.opcode, "LOOKUP");
    assert_eq!(info.name.as_deref(), Some("vol1"));
    assert_eq!(info.minor_version, Some(1));
    let mut p = parser(Transport::Tcp);
    let mut out = Vec::new();
    let (call, reply) = (unhex(V4_CALL), unhex(V4_REPLY));
    // The call across two segments, the reply byte by byte.
    p.data(Dir::ToServer, 1, &call[..7], &mut out);
    p.data(Dir::ToServer, 2, &call[7..], &mut out);
    for (i, b) in reply.iter().enumerate() {
        assert!(out.is_empty(), "published before the reply was whole (byte {i})");
        p.data(Dir::ToClient, 3, std::slice::from_ref(b), &mut out);
    }
    assert_eq!(out.len(), 1);
    let f = nfs(&out[0]);
    assert_eq!(f.status.as_deref(), Some("NFS_OK"));
    assert_eq!(f.rpc.xid, "97d3d427");
    assert_eq!(out[0].method.as_deref(), Some("LOOKUP"));
    assert_eq!(out[0].resource.as_deref(), Some("vol1"));
    assert_eq!(out[0].status, "OK");
    let c = p.take_counters();
    assert_eq!((c.messages, c.malformed, c.unmatched), (2, 0, 0));
}

#[test]
fn udp_pairs_by_xid_and_error_status() {
    let mut p = parser(Transport::Udp);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &unhex(V3_LOOKUP_CALL), &mut out);
    p.data(Dir::ToClient, 2, &unhex(V3_LOOKUP_REPLY), &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(nfs(t).status.as_deref(), Some("NFSERR_NOENT"));
    assert_eq!(nfs(t).rpc.status, Some("success"));
    assert_eq!(nfs(t).rpc.auth_flavor, "unix");
    assert_eq!(t.status, "Error");
    assert_eq!(t.end_ns, Some(2));
    // A reply nobody asked for is counted, not published.
    p.data(Dir::ToClient, 3, &unhex(V3_LOOKUP_REPLY), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(p.take_counters().unmatched, 1);
}

#[test]
fn broken_and_truncated_messages_are_malformed_never_a_panic() {
    let mut p = parser(Transport::Udp);
    let mut out = Vec::new();
    let call = unhex(V3_LOOKUP_CALL);
    for n in 0..call.len() {
        p.data(Dir::ToServer, 1, &call[..n], &mut out);
        p.data(Dir::ToClient, 1, &call[..n], &mut out);
    }
    let mut bad = call.clone();
    bad[7] = 9; // message type
    p.data(Dir::ToServer, 2, &bad, &mut out);
    assert!(p.take_counters().malformed >= 20);
    // Every cut of the COMPOUND arguments still decodes what it can.
    let (body, _) = record(&unhex(V4_CALL)).unwrap();
    for n in 0..body.len() {
        if let Ok(Rpc::Call(c)) = parse_rpc(&body[..n]) {
            let _ = v4_call(c.proc_, &c.args);
        }
    }
    let mut t = parser(Transport::Tcp);
    t.data(Dir::ToServer, 1, &[0x00, 0x00, 0x00, 0x00, 1, 2, 3], &mut out);
    assert_eq!(t.take_counters().malformed, 1);
}

#[test]
fn pending_calls_are_bounded() {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits { max_pending: 2, ..Limits::default() };
    let ctx = ParserContext { config: &cfg, limits: &limits, transport: Transport::Udp, ip_proto: 0 };
    let mut p = NfsParser::new(&ctx);
    let mut out = Vec::new();
    let mut call = unhex(V3_LOOKUP_CALL);
    for i in 0..3u8 {
        call[3] = i;
        p.data(Dir::ToServer, 1, &call, &mut out);
    }
    assert_eq!(out.len(), 1, "the oldest call is published unanswered");
    assert_eq!(p.take_counters().limit_hits, 1);
    p.close(2, &mut out);
    assert_eq!(out.len(), 3);
}
