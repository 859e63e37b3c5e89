//! The MongoDB parser and session on messages of `tests/data/mongodb/mongodb.pcap` (built by
//! `tests/data/mongodb/make-fixtures` with pymongo's BSON encoder, checked with tshark).

use super::bson;
use super::parser::{self, Body};
use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ParserCounters, Transport, Txn};

/// Frame 4 of mongodb.pcap.
const QUERY_ISMASTER: &str = "750000000100000000000000d40700000000000061646d696e2e24636d640000000000ffffffff4e0000001069734d6173746572000100000003636c69656e740033000000036472697665720026000000026e616d65000800000070796d6f6e676f000276657273696f6e00020000003400000000";
/// Frame 8 of mongodb.pcap.
const SASL_START: &str = "970000000300000000000000dd070000000000000082000000107361736c53746172740001000000026d656368616e69736d000e000000534352414d2d5348412d32353600057061796c6f61640021000000006e2c2c6e3d61646d696e2c723d724f70724e476677456265525767624e456b714f106175746f417574686f72697a65000100000002246462000600000061646d696e0000";
/// Frame 9 of mongodb.pcap.
const SASL_FAILED: &str = "760000006700000003000000dd070000000000000061000000016f6b000000000000000000026572726d7367001700000041757468656e7469636174696f6e206661696c65642e0010636f6465001200000002636f64654e616d65001500000041757468656e7469636174696f6e4661696c65640000";
/// Frame 12 of mongodb.pcap.
const FIND: &str = "600000000500000000000000dd07000000000000004b0000000266696e6400060000007573657273000366696c7465720015000000026e616d650006000000616c6963650000106c696d6974000100000002246462000500000073686f700000";
/// Frame 13 of mongodb.pcap.
const FIND_REPLY: &str = "950000006900000005000000dd07000000000000008000000003637572736f720067000000046669727374426174636800370000000330002f000000075f69640065a000000000000000000001026e616d650006000000616c6963650010616765001f0000000000126964000000000000000000026e73000b00000073686f702e75736572730000016f6b00000000000000f03f00";
/// Frame 16 of mongodb.pcap.
const PIPELINED_REQUESTS: &str = "710000000700000000000000dd07000000000000005c0000000264656c65746500060000007573657273000464656c65746573002e0000000330002600000003710013000000026e616d650004000000626f620000106c696d69740001000000000002246462000500000073686f7000003b0000000800000000000000dd0700000000000000260000000264726f70000900000073657373696f6e730002246462000500000073686f700000450000000900000000000000dd07000000000000003000000002636f756e74000600000075736572730003717565727900050000000002246462000500000073686f700000";
/// Frame 17 of mongodb.pcap.
const PIPELINED_REPLIES: &str = "2d0000006d00000009000000dd070000000000000018000000106e0001000000016f6b00000000000000f03f002d0000006b00000007000000dd070000000000000018000000106e0001000000016f6b00000000000000f03f004d0000006c00000008000000dd070000000000000038000000106e496e64657865735761730001000000026e73000e00000073686f702e73657373696f6e7300016f6b00000000000000f03f00";
/// Frame 18 of mongodb.pcap.
const MORE_TO_COME_INSERT: &str = "7f0000000a00000000000000dd07000002000000003d00000002696e7365727400040000006c6f6700037772697465436f6e6365726e000c000000107700000000000002246462000500000073686f700000012c000000646f63756d656e7473001e000000026d736700100000006669726520616e6420666f726765740000";
/// Frame 21 of mongodb.pcap.
const LEGACY_QUERY: &str = "4e0000000c00000000000000d40700000000000073686f702e75736572730000000000010000001800000003616765000e00000010246774001400000000000f000000106e616d65000100000000";
/// Frame 22 of mongodb.pcap.
const LEGACY_REPLY: &str = "4a000000700000000c00000001000000000000006745230100000000000000000100000026000000075f69640065a000000000000000000001026e616d650006000000616c6963650000";
/// Frame 31 of mongodb.pcap.
const ZLIB_PING: &str = "3e0000001300000000000000dc070000dd0700002300000002789c6360000239201628c8cc4b676004b29854529218d8808cc494dccc3c06060043dd04d9";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn session_with(cfg: crate::proto::Protocols, limits: Limits) -> MongodbParser {
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 6 };
    MongodbParser::new(&ctx)
}

fn session() -> MongodbParser {
    session_with(crate::proto::Protocols::default(), Limits::default())
}

fn mongo(t: &Txn) -> &MongodbFields {
    match &t.fields {
        crate::proto::ProtoFields::Mongodb(f) => &f.network_traffic.mongodb,
        _ => panic!("not a MongoDB transaction"),
    }
}

fn fields(t: &Txn) -> &Fields {
    match &t.fields {
        crate::proto::ProtoFields::Mongodb(f) => f,
        _ => panic!("not a MongoDB transaction"),
    }
}

fn run(p: &mut MongodbParser, msgs: &[(Dir, &str)]) -> (Vec<Txn>, ParserCounters) {
    let mut out = Vec::new();
    for (i, (d, h)) in msgs.iter().enumerate() {
        p.data(*d, i as i64 * 1000, &hex(h), &mut out);
    }
    p.close(1_000_000, &mut out);
    (out, p.take_counters())
}

const ALL: &[&str] = &[
    QUERY_ISMASTER,
    SASL_START,
    SASL_FAILED,
    FIND,
    FIND_REPLY,
    LEGACY_QUERY,
    LEGACY_REPLY,
    ZLIB_PING,
    MORE_TO_COME_INSERT,
];

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for h in ALL {
        let m = hex(h);
        for n in 0..m.len() {
            assert_eq!(parser::frame(&m[..n]).err(), Some(ParseError::Incomplete), "{h} prefix {n}");
        }
        let (hd, body) = parser::frame(&m).unwrap();
        assert_eq!(hd.length, m.len());
        parser::body(hd.op, body).unwrap();
    }
    // The session sees nothing in a prefix, and counts nothing malformed.
    let m = hex(FIND);
    for n in 1..m.len() {
        let mut p = session();
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, &m[..n], &mut out);
        assert!(out.is_empty());
        let c = p.take_counters();
        assert_eq!((c.messages, c.malformed), (0, 0), "prefix {n}");
    }
}

#[test]
fn headers_that_cannot_be_mongodb_are_malformed() {
    let mut m = hex(FIND);
    m[0..4].copy_from_slice(&8u32.to_le_bytes());
    assert!(matches!(parser::header(&m), Err(ParseError::Malformed(_))));
    let mut m = hex(FIND);
    m[12..16].copy_from_slice(&9999u32.to_le_bytes());
    assert!(matches!(parser::header(&m), Err(ParseError::Malformed(_))));
    let mut m = hex(FIND);
    m[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parser::header(&m), Err(ParseError::Malformed(_))));
    // A body whose document overruns the message: counted, noted, still published.
    let mut m = hex(FIND);
    m[21] = 0x7f;
    let mut p = session();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &m, &mut out);
    p.close(2, &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].notes.iter().any(|n| n.contains("malformed OP_MSG")), "{:?}", out[0].notes);
    assert_eq!(p.take_counters().malformed, 1);
    // Junk at the start of a direction: counted once, ignored until a plausible header.
    let mut p = session();
    p.data(Dir::ToServer, 1, b"GET / HTTP/1.1\r\n\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"more junk", &mut out);
    assert_eq!(p.take_counters().malformed, 1);
}

#[test]
fn broken_messages_never_panic() {
    // Every single-byte change and every truncation of the real messages, fed whole.
    for h in ALL {
        let m = hex(h);
        for i in 0..m.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = m.clone();
                b[i] = v;
                let mut p = session();
                let mut out = Vec::new();
                p.data(Dir::ToServer, 1, &b, &mut out);
                p.data(Dir::ToClient, 2, &b, &mut out);
                p.close(3, &mut out);
            }
            if let Ok((hd, _)) = parser::frame(&m) {
                let _ = parser::body(hd.op, &m[16..i.max(16)]);
            }
        }
    }
}

#[test]
fn pairs_across_segments() {
    let mut p = session();
    let mut out = Vec::new();
    for (i, b) in hex(FIND).iter().enumerate() {
        p.data(Dir::ToServer, i as i64, std::slice::from_ref(b), &mut out);
    }
    let r = hex(FIND_REPLY);
    p.data(Dir::ToClient, 500, &r[..40], &mut out);
    assert!(out.is_empty());
    p.data(Dir::ToClient, 600, &r[40..], &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!((t.start_ns, t.end_ns), (0, Some(600)));
    assert_eq!(t.method.as_deref(), Some("find"));
    assert_eq!(t.resource.as_deref(), Some("shop.users"));
    assert_eq!(t.query.as_deref(), Some(r#"{"find":"users","filter":{"name":"alice"},"limit":1,"$db":"shop"}"#));
    assert_eq!(mongo(t).number_returned, Some(1));
    assert_eq!((t.status, t.outcome), ("OK", Outcome::Success));
    assert_eq!(t.client_bytes, hex(FIND).len() as u64);
    assert_eq!(t.server_bytes, r.len() as u64);
}

#[test]
fn pipelined_replies_pair_by_response_to_not_order() {
    let (out, c) =
        run(&mut session(), &[(Dir::ToServer, PIPELINED_REQUESTS), (Dir::ToClient, PIPELINED_REPLIES)]);
    // The replies come 9, 7, 8: the transactions follow the replies.
    let m: Vec<_> = out.iter().map(|t| t.method.clone().unwrap()).collect();
    assert_eq!(m, ["count", "delete", "drop"]);
    assert!(out.iter().all(|t| t.end_ns.is_some() && t.outcome == Outcome::Success));
    assert_eq!(out[2].resource.as_deref(), Some("shop.sessions"));
    assert_eq!((c.messages, c.unmatched, c.malformed), (6, 0, 0));
}

#[test]
fn a_failed_sasl_start_is_a_failed_login() {
    let (out, _) = run(&mut session(), &[(Dir::ToServer, SASL_START), (Dir::ToClient, SASL_FAILED)]);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(t.auth, Some(Outcome::Failure));
    assert_eq!((t.status, t.outcome), ("Error", Outcome::Failure));
    let f = fields(t);
    assert_eq!(f.user.as_ref().map(|u| u.name.as_str()), Some("admin"));
    let e = f.error.as_ref().unwrap();
    assert_eq!(e.code.as_deref(), Some("18"));
    assert_eq!(e.message.as_deref(), Some("Authentication failed."));
    assert_eq!(mongo(t).error.as_deref(), Some("Authentication failed."));
    // The SASL payload is not copied into the query, only its length.
    assert!(t.query.as_deref().unwrap().contains(r#""bytes":33"#));
    assert!(!t.query.as_deref().unwrap().contains("rOpr"));
}

#[test]
fn legacy_query_and_reply() {
    let (out, _) =
        run(&mut session(), &[(Dir::ToServer, LEGACY_QUERY), (Dir::ToClient, LEGACY_REPLY)]);
    let f = mongo(&out[0]);
    assert_eq!(f.opcode, "OP_QUERY");
    assert_eq!(f.method.as_deref(), Some("find"));
    assert_eq!(f.full_collection_name.as_deref(), Some("shop.users"));
    assert_eq!((f.number_to_skip, f.number_to_return), (Some(0), Some(1)));
    assert_eq!(f.return_fields_selector.as_deref(), Some(r#"{"name":1}"#));
    assert_eq!((f.number_returned, f.starting_from, f.cursor_id), (Some(1), Some(0), Some(0x1234567)));
    // isMaster on admin.$cmd is a command.
    let (out, _) = run(&mut session(), &[(Dir::ToServer, QUERY_ISMASTER)]);
    assert_eq!(out[0].method.as_deref(), Some("isMaster"));
    assert_eq!(out[0].end_ns, None, "unanswered, published at close");
}

#[test]
fn zlib_compressed_messages_are_opened() {
    let (out, _) = run(&mut session(), &[(Dir::ToServer, ZLIB_PING)]);
    let f = mongo(&out[0]);
    assert_eq!((f.opcode, f.compressor), ("OP_COMPRESSED", Some("zlib")));
    assert_eq!(out[0].method.as_deref(), Some("ping"));
    // As snappy (id 1) it is named, not decoded, and still pairs by its header.
    let mut m = hex(ZLIB_PING);
    m[24] = 1;
    let mut p = session();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &m, &mut out);
    p.close(2, &mut out);
    assert_eq!(mongo(&out[0]).compressor, Some("snappy"));
    assert!(out[0].notes.iter().any(|n| n == "compressed body (snappy) not decoded"));
    assert_eq!(out[0].method, None);
}

#[test]
fn more_to_come_is_published_without_waiting() {
    let mut p = session();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 7, &hex(MORE_TO_COME_INSERT), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].method.as_deref(), Some("insert"));
    assert_eq!(mongo(&out[0]).documents, Some(1));
}

#[test]
fn reply_without_request_is_counted() {
    let (out, c) = run(&mut session(), &[(Dir::ToClient, FIND_REPLY)]);
    assert_eq!(out.len(), 1);
    assert!(out[0].notes.iter().any(|n| n == "response without request"));
    assert_eq!(c.unmatched, 1);
}

#[test]
fn checksum_is_checked() {
    let mut m = hex(FIND);
    m[16] |= 1; // checksumPresent
    let len = m.len() as u32 + 4;
    m[0..4].copy_from_slice(&len.to_le_bytes());
    let crc = parser::crc32c(&m);
    m.extend_from_slice(&crc.to_le_bytes());
    let (h, body) = parser::frame(&m).unwrap();
    assert!(matches!(parser::body(h.op, body), Ok(Body::Msg { checksum: Some(c), .. }) if c == crc));
    let mut p = session();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &m, &mut out);
    let last = m.len() - 1;
    m[last] ^= 0xff;
    p.data(Dir::ToServer, 2, &m, &mut out);
    p.close(3, &mut out);
    assert_eq!(out.len(), 2);
    assert!(out[0].notes.is_empty());
    assert_eq!(out[1].notes, ["OP_MSG checksum mismatch"]);
    assert_eq!(out[0].method.as_deref(), Some("find"));
}

#[test]
fn limits_are_counted() {
    // Pending requests.
    let limits = Limits { max_pending: 1, ..Limits::default() };
    let mut p = session_with(crate::proto::Protocols::default(), limits);
    let (out, c) = run(&mut p, &[(Dir::ToServer, PIPELINED_REQUESTS)]);
    assert_eq!((out.len(), c.limit_hits), (3, 2));
    // A message longer than the buffer is skipped, also across segments.
    let limits = Limits { max_buffer_bytes: 64, ..Limits::default() };
    let mut p = session_with(crate::proto::Protocols::default(), limits);
    let m = hex(SASL_START);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &m[..40], &mut out);
    p.data(Dir::ToServer, 2, &m[40..], &mut out);
    p.data(Dir::ToServer, 3, &hex(MORE_TO_COME_INSERT)[..0], &mut out);
    let c = p.take_counters();
    assert_eq!((c.limit_hits, c.malformed, out.len()), (1, 0, 0));
    // Document rendering.
    let mut cfg = crate::proto::Protocols::default();
    cfg.mongodb.max_doc_length = 20;
    let (out, _) = run(&mut session_with(cfg, Limits::default()), &[(Dir::ToServer, FIND)]);
    let q = out[0].query.as_deref().unwrap();
    assert!(q.ends_with('…') && q.len() <= 20 + '…'.len_utf8(), "{q}");
}

#[test]
fn bson_json_is_bounded_in_depth() {
    // 40 nested documents: {"a":{"a":...{}}}
    let mut d = vec![5u8, 0, 0, 0, 0];
    for _ in 0..40 {
        let mut o = vec![0u8; 4];
        o.push(3);
        o.extend_from_slice(b"a\0");
        o.extend_from_slice(&d);
        o.push(0);
        let n = o.len() as u32;
        o[0..4].copy_from_slice(&n.to_le_bytes());
        d = o;
    }
    let (doc, n) = bson::doc(&d).unwrap();
    assert_eq!(n, d.len());
    let j = bson::to_json(&doc, 10_000);
    assert!(j.contains("{…}"), "{j}");
    assert_eq!(j.matches('{').count(), bson::MAX_DEPTH + 1);
}
