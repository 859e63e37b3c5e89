//! SMB parser and session on real bytes (zeek-smb-smb3_negotiate_context.pcap frames 12, 13).

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Parser, ParserContext, Transport};

const NEG_REQ: &str = "000000b6fe534d42400000000000000000001f0000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000024000800010000007f00000016ab4fd9625676488cd1707d08e52b5878000000020000000202100222022402000302031003110300000000010026000000000001002000010067e5f669ff3e0ad12e89ad84ceb1d35dfee53ede3e4858a6d1a9099ac1635a9600000200060000000000020001000200";
const NEG_RESP: &str = "0000010cfe534d4240000000000000000000010001000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000041000100110302006e657773746f726167650000000000000500000000008000000080000000800048b174420159d501000000000000000080004a00d0000000604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f726500000000000001002600000000000100200001000d26c9caf2d8fc87a7109c04578270095438526cede08410ca34aa8742b95a800000020004000000000001000100";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn session() -> SmbParser {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits::default();
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 6 };
    SmbParser::new(&ctx)
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for msg in [hex(NEG_REQ), hex(NEG_RESP)] {
        for n in 0..msg.len() {
            assert_eq!(frame(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        let (f, used) = frame(&msg).unwrap();
        assert_eq!(used, msg.len());
        assert!(matches!(message(f.payload), Ok(Message::Smb2(_))));
    }
    assert!(matches!(frame(b"\x00\x00\x00\x10GET / HTTP/1.1\r\n"), Err(ParseError::Malformed(_))));
}

#[test]
fn negotiate_pairs_across_segments_with_dialects_and_ciphers() {
    let mut p = session();
    let mut out = Vec::new();
    let req = hex(NEG_REQ);
    let resp = hex(NEG_RESP);
    for chunk in req.chunks(7) {
        p.data(Dir::ToServer, 1, chunk, &mut out);
    }
    assert!(out.is_empty());
    p.data(Dir::ToClient, 2, &resp[..50], &mut out);
    p.data(Dir::ToClient, 3, &resp[50..], &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(t.end_ns, Some(3));
    assert_eq!(t.outcome, crate::proto::Outcome::Success);
    let crate::proto::ProtoFields::Smb(f) = &t.fields else { panic!() };
    let s = &f.network_traffic.smb;
    assert_eq!(s.command, "NEGOTIATE");
    assert!(s.dialects.contains(&"3.1.1".to_owned()), "{:?}", s.dialects);
    assert_eq!(s.dialect.as_deref(), Some("3.1.1"));
    assert!(!s.ciphers.is_empty());
    assert_eq!(p.take_counters().messages, 2);
}

#[test]
fn broken_input_is_counted_not_a_panic() {
    let mut p = session();
    let mut out = Vec::new();
    let mut bad = hex(NEG_REQ);
    bad[8] = 0x00; // break the protocol id
    p.data(Dir::ToServer, 1, &bad, &mut out);
    p.data(Dir::ToServer, 1, &[0x42; 64], &mut out);
    let c = p.take_counters();
    assert_eq!(c.malformed, 2);
    for n in 0..bad.len() {
        let _ = message(&bad[4..4 + n.min(bad.len() - 4)]);
    }
}

#[test]
fn buffer_limit_is_counted() {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits { max_buffer_bytes: 100, ..Limits::default() };
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 6 };
    let mut p = SmbParser::new(&ctx);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hex(NEG_REQ), &mut out);
    assert_eq!(p.take_counters().limit_hits, 1);
}
