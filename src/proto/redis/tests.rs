//! Redis parser and session on real bytes.

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Protocols, Transport, Txn};

const KEEP: Keep = Keep { max_elems: 17, max_elem_len: 256 };

/// zeek-redis-set.pcap, frames 1 and 3.
const SET: &[u8] = b"*3\r\n$3\r\nSET\r\n$4\r\ntest\r\n$2\r\nhi\r\n";
const OK: &[u8] = b"+OK\r\n";
/// zeek-redis-pubsub-resp3.pcap: the RESP3 map answering HELLO 3.
const HELLO3: &[u8] = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.5\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:4\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";

fn parser_with(cfg: &Protocols, limits: &Limits) -> RedisParser {
    let ctx = ParserContext { config: cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    RedisParser::new(&ctx)
}

fn parser() -> RedisParser {
    parser_with(&Protocols::default(), &Limits::default())
}

fn redis(t: &Txn) -> &RedisFields {
    match &t.fields {
        ProtoFields::Redis(f) => &f.network_traffic.redis,
        _ => panic!("not redis"),
    }
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for n in 0..SET.len() {
        assert_eq!(parse_command(&SET[..n], KEEP), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (m, used) = parse_command(SET, KEEP).unwrap();
    assert_eq!(used, SET.len());
    assert_eq!(m.unwrap().elems, ["SET", "test", "hi"]);
    for msg in [OK, HELLO3, b"$-1\r\n".as_slice(), b"|1\r\n+ttl\r\n:3\r\n".as_slice()] {
        for n in 0..msg.len() {
            assert_eq!(parse_reply(&msg[..n], KEEP), Err(ParseError::Incomplete), "prefix {n}");
        }
    }
    let (m, used) = parse_reply(HELLO3, KEEP).unwrap();
    assert_eq!((m.kind, m.count, used), (Kind::Map, 14, HELLO3.len()));
    assert!(m.render.starts_with("[server, redis, version, 7.2.5"), "{}", m.render);
}

#[test]
fn every_resp3_type() {
    let cases: &[(&[u8], Kind, &str)] = &[
        (b"-ERR unknown command 'bogus'\r\n", Kind::Error, "ERR unknown command 'bogus'"),
        (b":1000\r\n", Kind::Integer, "1000"),
        (b"$-1\r\n", Kind::Null, "nil"),
        (b"*-1\r\n", Kind::Null, "nil"),
        (b"_\r\n", Kind::Null, "nil"),
        (b"#t\r\n", Kind::Boolean, "true"),
        (b",3.14\r\n", Kind::Double, "3.14"),
        (b"(3492890328409238509324850943850943825024385\r\n", Kind::BigNumber, "3492890328409238509324850943850943825024385"),
        (b"!21\r\nSYNTAX invalid syntax\r\n", Kind::BulkError, "SYNTAX invalid syntax"),
        (b"=15\r\ntxt:Some string\r\n", Kind::Verbatim, "Some string"),
        (b"~2\r\n+a\r\n:1\r\n", Kind::Set, "[a, 1]"),
        (b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n", Kind::Push, "[message, c, hi]"),
        (b"*2\r\n*1\r\n:1\r\n$0\r\n\r\n", Kind::Array, "[[1], ]"),
    ];
    for (b, kind, render) in cases {
        let (m, used) = parse_reply(b, KEEP).unwrap();
        assert_eq!((m.kind, m.render.as_str(), used), (*kind, *render, b.len()), "{b:?}");
    }
}

#[test]
fn broken_messages_are_malformed_and_counted() {
    for b in [&b"?x\r\n"[..], b"$3\r\nabcd\r\n", b":12a\r\n", b"#x\r\n", b"$-5\r\n", b"*?\r\n"] {
        assert!(matches!(parse_reply(b, KEEP), Err(ParseError::Malformed(_))), "{b:?}");
    }
    let deep = "*1\r\n".repeat(parser::MAX_DEPTH + 2);
    assert!(matches!(parse_reply(deep.as_bytes(), KEEP), Err(ParseError::Malformed(_))));
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, SET, &mut out);
    p.data(Dir::ToClient, 2, b"$3\r\nabcd\r\n", &mut out);
    assert_eq!(out.len(), 1, "the pending command is published unanswered");
    assert_eq!(p.take_counters().malformed, 1);
    // Out of sync until a segment starts like a message.
    p.data(Dir::ToClient, 3, b"junk\r\n", &mut out);
    p.data(Dir::ToServer, 4, SET, &mut out);
    p.data(Dir::ToClient, 5, OK, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].end_ns, Some(5));
}

#[test]
fn pairs_across_segments_and_pipelined() {
    let mut p = parser();
    let mut out = Vec::new();
    let (a, b) = SET.split_at(11);
    p.data(Dir::ToServer, 1, a, &mut out);
    p.data(Dir::ToServer, 2, b, &mut out);
    // zeek-redis-pipelining-example.pcap: three inline PINGs in one segment.
    p.data(Dir::ToServer, 3, b"PING\r\nPING\r\nPING\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"+OK\r\n+PONG\r\n+PO", &mut out);
    p.data(Dir::ToClient, 5, b"NG\r\n+PONG\r\n", &mut out);
    assert_eq!(out.len(), 4);
    let t = &out[0];
    assert_eq!((t.method.as_deref(), t.resource.as_deref()), (Some("SET"), Some("test")));
    assert_eq!(t.query.as_deref(), Some("SET test hi"));
    assert_eq!((t.start_ns, t.end_ns), (1, Some(4)));
    assert_eq!(redis(t).return_value.as_deref(), Some("OK"));
    assert!(out[1..].iter().all(|t| t.method.as_deref() == Some("PING") && redis(t).inline));
    assert_eq!(out[3].end_ns, Some(5));
}

#[test]
fn client_reply_off_skip_on() {
    // zeek-redis-reply-off-on.pcap
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"PING\r\nCLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"+PONG\r\n+OK\r\n+PONG\r\n+PONG\r\n", &mut out);
    let answered: Vec<_> =
        out.iter().filter(|t| t.end_ns.is_some()).map(|t| t.query.clone().unwrap()).collect();
    assert_eq!(answered, ["PING", "CLIENT REPLY ON", "PING", "PING"]);
    assert_eq!(out.len(), 8);
    assert_eq!(p.take_counters().unmatched, 0);
}

#[test]
fn pubsub_messages_are_not_replies() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n", &mut out);
    p.data(Dir::ToClient, 3, b"*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n", &mut out);
    p.data(Dir::ToClient, 4, b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(p.take_counters().unmatched, 0);
}

#[test]
fn attribute_is_skipped_before_its_reply() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"|1\r\n+key-popularity\r\n%1\r\n$1\r\nk\r\n,0.19\r\n$1\r\nv\r\n", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(redis(&out[0]).reply_type, Some("bulk_string"));
    assert_eq!(redis(&out[0]).return_value.as_deref(), Some("v"));
}

#[test]
fn auth_is_a_login_and_its_password_is_masked() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$6\r\nsecret\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"-WRONGPASS invalid username-password pair or user is disabled.\r\n", &mut out);
    p.data(Dir::ToServer, 3, b"AUTH hunter2\r\n", &mut out);
    p.data(Dir::ToClient, 4, OK, &mut out);
    assert_eq!((out[0].auth, out[0].status), (Some(Outcome::Failure), "Error"));
    assert_eq!(out[0].query.as_deref(), Some("AUTH alice *"));
    assert!(redis(&out[0]).error.as_deref().unwrap().starts_with("WRONGPASS"));
    assert_eq!(out[1].auth, Some(Outcome::Success));
    assert_eq!(out[1].query.as_deref(), Some("AUTH *"));
    let json = serde_json::to_string(&out[0].fields).unwrap();
    assert!(!json.contains("secret") && json.contains("alice"), "{json}");
    let mut q = parser();
    q.data(Dir::ToServer, 1, b"HELLO 3 AUTH default pw123\r\n", &mut out);
    q.close(2, &mut out);
    assert_eq!(out[2].query.as_deref(), Some("HELLO 3 AUTH default *"));
}

#[test]
fn limits_are_counted() {
    let mut cfg = Protocols::default();
    cfg.redis.max_args = 2;
    cfg.redis.max_arg_length = 3;
    let limits = Limits { max_pending: 2, max_buffer_bytes: 64, ..Limits::default() };
    let mut p = parser_with(&cfg, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"MSET key1 value1 key2 value2\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"PING\r\nPING\r\n", &mut out);
    assert_eq!(out.len(), 1, "the oldest command is published when a third waits");
    let f = redis(&out[0]);
    assert_eq!((f.args.clone(), f.args_count, f.args_truncated), (vec!["key".into(), "val".into()], Some(4), true));
    p.data(Dir::ToClient, 3, &[b'$'; 65], &mut out);
    assert_eq!(p.take_counters().limit_hits, 2);
}

#[test]
fn attribute_inside_an_array_is_not_an_element() {
    // zeek-redis-attr.pcap, frame 8 (with its stray trailing line end).
    let b = b"*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n\n";
    let (m, used) = parse_reply(b, KEEP).unwrap();
    assert_eq!((m.kind, m.count, m.render.as_str(), used), (Kind::Array, 3, "[1, 2, 3]", b.len() - 1));
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"FAKE COMMAND\r\n", &mut out);
    p.data(Dir::ToClient, 2, b, &mut out);
    p.data(Dir::ToServer, 3, b"FAKE2 COMMAND2\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n\n", &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(p.take_counters().malformed, 0);
}
