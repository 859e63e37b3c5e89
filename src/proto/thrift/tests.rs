//! Thrift parser and session tests on messages of `tests/data/thrift/*.pcap` (python thrift
//! 0.x, `calc.py`).

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

const BIN_CALL: &str = "800100010000000361646400000001080001000000020800020000000300";
const BIN_REPLY: &str = "8001000200000003616464000000010800000000000500";
const FRAMED_ONEWAY: &str = "0000002c80010004000000036c6f67000000020b00010000001568656c6c6f2066726f6d2074686520636c69656e7400";
const FRAMED_DECLARED: &str = "0000002e8001000200000006646976696465000000030c00010b0001000000106469766973696f6e206279207a65726f0000";
const FRAMED_APP_EXC: &str = "0000003880010003000000066e6f73756368000000040b000100000017556e6b6e6f776e2066756e6374696f6e206e6f737563680800020000000100";
const COMPACT_CALL: &str = "822101036164641504150600";
const COMPACT_REPLY: &str = "8241010361646405000a00";
const COMPACT_DECLARED: &str = "824103066469766964651c18106469766973696f6e206279207a65726f0000";
const COMPACT_APP_EXC: &str = "826104066e6f737563681817556e6b6e6f776e2066756e6374696f6e206e6f73756368150200";
const OLD_CALL: &str = "000000036164640100000001080001000000020800020000000300";
const OLD_REPLY: &str = "0000000361646402000000010800000000000500";

fn session(limits: &Limits) -> ThriftParser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    ThriftParser::new(&ctx)
}

fn thrift(t: &Txn) -> &ThriftFields {
    match &t.fields {
        ProtoFields::Thrift(f) => &f.network_traffic.thrift,
        _ => panic!("not thrift"),
    }
}

fn one(b: &[u8]) -> (Message, usize) {
    let mode = detect(b).unwrap();
    parse(b, mode, 16, 1 << 20).unwrap()
}

#[test]
fn every_prefix_is_incomplete_in_every_mode() {
    for m in [BIN_CALL, BIN_REPLY, FRAMED_ONEWAY, FRAMED_DECLARED, FRAMED_APP_EXC, COMPACT_CALL, COMPACT_REPLY, COMPACT_DECLARED, COMPACT_APP_EXC, OLD_CALL, OLD_REPLY] {
        let b = hex(m);
        let mode = detect(&b).unwrap();
        assert_eq!(one(&b).1, b.len(), "{m}");
        for n in 0..b.len() {
            let r = detect(&b[..n]).and_then(|_| parse(&b[..n], mode, 16, 1 << 20));
            assert_eq!(r.err(), Some(ParseError::Incomplete), "prefix {n} of {m}");
        }
    }
}

#[test]
fn detects_modes_and_decodes_headers() {
    let modes: Vec<_> = [BIN_CALL, FRAMED_ONEWAY, COMPACT_CALL, OLD_CALL]
        .iter()
        .map(|m| detect(&hex(m)).unwrap())
        .collect();
    assert_eq!(
        modes,
        [
            Mode { encoding: Encoding::Binary, framed: false },
            Mode { encoding: Encoding::Binary, framed: true },
            Mode { encoding: Encoding::Compact, framed: false },
            Mode { encoding: Encoding::BinaryOld, framed: false },
        ]
    );
    let (m, _) = one(&hex(COMPACT_CALL));
    assert_eq!((m.name.as_str(), m.kind, m.seqid, m.body.as_str()), ("add", Kind::Call, 1, "(1: 2, 2: 3)"));
    let (m, _) = one(&hex(COMPACT_REPLY));
    assert_eq!(m.success.as_deref(), Some("5"));
    let (m, _) = one(&hex(FRAMED_DECLARED));
    assert_eq!(m.declared_exception.as_deref(), Some("(1: (1: \"division by zero\"))"));
    let (m, _) = one(&hex(COMPACT_APP_EXC));
    assert_eq!((m.kind, m.app_message.as_deref(), m.app_type), (Kind::Exception, Some("Unknown function nosuch"), Some(1)));
    assert!(probe(&hex(FRAMED_ONEWAY)) && probe(&hex(COMPACT_CALL)) && !probe(b"GET / HTTP/1.1\r\n"));
    // Right magic, but no method name: not Thrift; the old header is never probed.
    assert!(!probe(&[0x80, 1, 0, 1, 0, 0, 0, 3, 0xff, 0xfe, 0, 0]));
    assert!(!probe(&[0x82, 0x21, 1, 0x7f, 0, 0, 0, 0]));
    assert!(!probe(&hex(OLD_CALL)));
}

#[test]
fn broken_messages_are_malformed_and_counted() {
    let mut b = hex(BIN_CALL);
    b[3] = 9; // message type 9
    assert!(matches!(parse(&b, detect(&b).unwrap(), 16, 1 << 20), Err(ParseError::Malformed(_))));
    let mut b = hex(BIN_CALL);
    b[15] = 0x42; // field type 0x42
    assert!(matches!(parse(&b, detect(&b).unwrap(), 16, 1 << 20), Err(ParseError::Malformed(_))));
    assert!(matches!(detect(b"GET / HTTP/1.1\r\n"), Err(ParseError::Malformed(_))));
    // Every single-byte corruption of real messages: no panic.
    let limits = Limits::default();
    let mut out = Vec::new();
    for m in [FRAMED_APP_EXC, COMPACT_DECLARED, OLD_REPLY] {
        let real = hex(m);
        for i in 0..real.len() {
            for v in [0u8, 0xff, 0x0c, 0x0f, 0x80] {
                let mut x = real.clone();
                x[i] = v;
                let mut p = session(&limits);
                p.data(Dir::ToServer, 1, &x, &mut out);
                p.data(Dir::ToClient, 2, &x, &mut out);
                p.close(3, &mut out);
            }
        }
    }
    let mut p = session(&limits);
    p.data(Dir::ToServer, 1, b"\x80\x01\x00\x09garbage", &mut out);
    assert_eq!(p.take_counters().malformed, 1);
}

#[test]
fn nesting_beyond_max_depth_is_a_counted_limit() {
    // A call whose argument is a struct nested 40 deep (binary).
    let mut b = hex("80010001000000016d00000001");
    for _ in 0..40 {
        b.extend_from_slice(&[12, 0, 1]);
    }
    b.extend(std::iter::repeat_n(0, 41));
    let mode = detect(&b).unwrap();
    assert_eq!(parse(&b, mode, 64, 1 << 20).map(|r| r.1), Ok(b.len()));
    assert!(matches!(parse(&b, mode, 16, 1 << 20), Err(ParseError::Malformed(_))));
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &b, &mut out);
    let c = p.take_counters();
    assert_eq!((c.malformed, c.limit_hits), (1, 1));
}

#[test]
fn pairs_by_seqid_across_segments() {
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    for (i, b) in hex(COMPACT_CALL).iter().enumerate() {
        p.data(Dir::ToServer, i as i64, &[*b], &mut out);
    }
    for (i, b) in hex(COMPACT_REPLY).iter().enumerate() {
        p.data(Dir::ToClient, 100 + i as i64, &[*b], &mut out);
    }
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!((t.method.as_deref(), t.query.as_deref()), (Some("add"), Some("add(1: 2, 2: 3)")));
    assert_eq!(thrift(t).return_value.as_deref(), Some("5"));
    assert_eq!(t.outcome, Outcome::Success);
    assert_eq!((thrift(t).protocol, thrift(t).transport), ("compact", "unframed"));
}

#[test]
fn oneway_stands_alone_and_exceptions_are_errors() {
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hex(FRAMED_ONEWAY), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(thrift(&out[0]).request_type, Some("ONEWAY"));
    // Two calls pipelined (seqid 3 and 4), answered out of order.
    let call = |name: &str, seq: u8| {
        let mut b = vec![0x80, 1, 0, 1, 0, 0, 0, name.len() as u8];
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&[0, 0, 0, seq, 0]);
        let mut f = (b.len() as u32).to_be_bytes().to_vec();
        f.extend(b);
        f
    };
    p.data(Dir::ToServer, 2, &[call("divide", 3), call("nosuch", 4)].concat(), &mut out);
    p.data(Dir::ToClient, 3, &[hex(FRAMED_APP_EXC), hex(FRAMED_DECLARED)].concat(), &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[1].method.as_deref(), Some("nosuch"));
    assert_eq!(thrift(&out[1]).exceptions.as_deref(), Some("Unknown function nosuch"));
    assert_eq!(out[2].method.as_deref(), Some("divide"));
    assert!(out[1..].iter().all(|t| t.status == "Error"));
    assert_eq!(p.take_counters().unmatched, 0);
}

#[test]
fn pending_limit_is_counted() {
    let limits = Limits { max_pending: 1, ..Limits::default() };
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &[hex(BIN_CALL), hex(BIN_CALL)].concat(), &mut out);
    assert_eq!(p.take_counters().limit_hits, 1);
    assert_eq!(out.len(), 1);
}
