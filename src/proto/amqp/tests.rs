//! AMQP parser and session tests on frames of `tests/data/amqp/rabbitmq.pcap` (RabbitMQ 3.10
//! and pika 1.4).

use super::parser::{decode_table, MAX_TABLE_ENTRIES};
use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

const START: &str = "010000000001ff000a000a0009000001da0c6361706162696c697469657346000000c7127075626c69736865725f636f6e6669726d7374011a65786368616e67655f65786368616e67655f62696e64696e677374010a62617369632e6e61636b740116636f6e73756d65725f63616e63656c5f6e6f74696679740112636f6e6e656374696f6e2e626c6f636b6564740113636f6e73756d65725f7072696f72697469657374011c61757468656e7469636174696f6e5f6661696c7572655f636c6f73657401107065725f636f6e73756d65725f716f7374010f6469726563745f7265706c795f746f74010c636c75737465725f6e616d65530000001877697265626561742d666978747572652d3235353640766d09636f707972696768745300000037436f707972696768742028632920323030372d3230323220564d776172652c20496e632e206f722069747320616666696c69617465732e0b696e666f726d6174696f6e53000000394c6963656e73656420756e64657220746865204d504c20322e302e20576562736974653a2068747470733a2f2f7261626269746d712e636f6d08706c6174666f726d530000001145726c616e672f4f54502032352e322e330770726f6475637453000000085261626269744d510776657273696f6e5300000006332e31302e380000000e414d51504c41494e20504c41494e00000005656e5f5553ce";
const START_OK: &str = "01000000000140000a000b0000011c0770726f64756374530000001a50696b6120507974686f6e20436c69656e74204c69627261727908706c6174666f726d530000000d507974686f6e20332e31312e370c6361706162696c6974696573460000008c1c61757468656e7469636174696f6e5f6661696c7572655f636c6f736574010a62617369632e6e61636b740112636f6e6e656374696f6e2e626c6f636b6564740116636f6e73756d65725f63616e63656c5f6e6f7469667974011a65786368616e67655f65786368616e67655f62696e64696e67737401127075626c69736865725f636f6e6669726d7374010b696e666f726d6174696f6e53000000195365652068747470733a2f2f70696b612e727466642e6f72670776657273696f6e5300000005312e342e3405504c41494e0000000c00677565737400677565737405656e5f5553ce";
const OPEN: &str = "01000000000008000a0028012f0001ce";
const OPEN_OK: &str = "01000000000005000a002900ce";
const CLOSE_403: &str = "01000000000077000a003201936c4143434553535f52454655534544202d204c6f67696e207761732072656675736564207573696e672061757468656e7469636174696f6e206d656368616e69736d20504c41494e2e20466f722064657461696c7320736565207468652062726f6b6572206c6f6766696c652e00000000ce";
const DECLARE: &str = "010001000000140032000a00000877622d71756575650000000000ce";
const DECLARE_OK: &str = "010001000000150032000b0877622d71756575650000000000000000ce";
const GET: &str = "01000100000010003c004600000877622d717565756500ce";
/// basic.get-ok, its content header and its body frame in one segment.
const GET_OK: &str = "01000100000024003c00470000000000000001000b77622d65786368616e67650677622d6b657900000002ce0200010000004c003c00000000000000000007b6880a746578742f706c61696e0000001204782d7762530000000131016e49000000070206636f72722d310877622d7265706c79036d2d310777622d74657374ce0300010000000768656c6c6f2030ce";
const DECLARE_MISSING: &str = "010001000000160032000a00000a77622d6d697373696e670100000000ce";
const CHANNEL_CLOSE_404: &str = "010001000000390014002801942e4e4f545f464f554e44202d206e6f207175657565202777622d6d697373696e672720696e2076686f737420272f270032000ace";

fn session(limits: &Limits) -> AmqpParser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    AmqpParser::new(&ctx)
}

fn amqp(t: &Txn) -> &AmqpFields {
    match &t.fields {
        ProtoFields::Amqp(f) => &f.network_traffic.amqp,
        _ => panic!("not amqp"),
    }
}

#[test]
fn every_prefix_of_real_frames_is_incomplete() {
    for frame in [START, START_OK, DECLARE, DECLARE_OK, GET_OK, CLOSE_403] {
        let b = hex(frame);
        let (_, used) = parse(&b).unwrap();
        for n in 0..used {
            assert_eq!(parse(&b[..n]), Err(ParseError::Incomplete), "prefix {n} of {frame:.20}");
        }
    }
    for n in 0..PROTOCOL_HEADER.len() {
        assert_eq!(parse(&PROTOCOL_HEADER[..n]), Err(ParseError::Incomplete));
    }
    assert!(matches!(parse(PROTOCOL_HEADER), Ok((Frame::ProtocolHeader([0, 0, 9, 1]), 8))));
}

#[test]
fn decodes_start_ok_without_the_credentials() {
    let (f, _) = parse(&hex(START_OK)).unwrap();
    let Frame::Method { channel: 0, method } = f else { panic!("{f:?}") };
    assert_eq!(method.name, "connection.start-ok");
    assert_eq!(method.args.mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(method.args.product.as_deref(), Some("Pika Python Client Library"));
    assert_eq!(method.args.version.as_deref(), Some("1.4.4"));
    assert!(!format!("{method:?}").contains("guest"), "the SASL response is not kept");
}

#[test]
fn decodes_queue_declare_and_content() {
    let (f, _) = parse(&hex(DECLARE)).unwrap();
    let Frame::Method { channel: 1, method } = f else { panic!("{f:?}") };
    assert_eq!(method.name, "queue.declare");
    assert_eq!(method.args.queue.as_deref(), Some("wb-queue"));
    assert_eq!(method.args.durable, Some(false));
    let b = hex(GET_OK);
    let (_, used) = parse(&b).unwrap();
    let (h, used2) = parse(&b[used..]).unwrap();
    let Frame::Header { channel: 1, header } = h else { panic!("{h:?}") };
    assert_eq!(header.body_size, 7);
    assert_eq!(header.content_type.as_deref(), Some("text/plain"));
    assert_eq!(header.delivery_mode, Some(2));
    let headers = header.headers.unwrap();
    assert_eq!(headers.get("x-wb").and_then(|v| v.as_str()), Some("1"));
    assert_eq!(headers.get("n").and_then(|v| v.as_i64()), Some(7));
    assert_eq!(header.app_id.as_deref(), Some("wb-test"));
    assert_eq!(parse(&b[used + used2..]).unwrap(), (Frame::Body { channel: 1, len: 7 }, 15));
}

#[test]
fn broken_frames_are_malformed_and_counted() {
    let mut b = hex(DECLARE);
    let last = b.len() - 1;
    b[last] = 0xCD;
    assert_eq!(parse(&b), Err(ParseError::Malformed("frame end")));
    assert!(matches!(parse(&[9, 0, 0, 0, 0, 0, 0, 0xCE]), Err(ParseError::Malformed(_))));
    // A method frame whose arguments stop early.
    assert!(matches!(parse(&hex("0100010000000600320000000000ce")), Err(ParseError::Malformed(_))));
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &b, &mut out);
    p.data(Dir::ToServer, 2, &hex(DECLARE), &mut out);
    p.data(Dir::ToClient, 3, &hex(DECLARE_OK), &mut out);
    let c = p.take_counters();
    assert!(c.malformed >= 1);
    assert_eq!(out.len(), 1, "resynchronised on the next frame: {out:?}");
    assert_eq!(amqp(&out[0]).response_method.as_deref(), Some("queue.declare-ok"));
    // Every single-byte corruption of a real segment: no panic.
    let real = hex(GET_OK);
    for i in 0..real.len() {
        for v in [0u8, 0xff, 0x53, 0x46] {
            let mut m = real.clone();
            m[i] = v;
            let mut p = session(&limits);
            p.data(Dir::ToServer, 1, &hex(GET), &mut out);
            p.data(Dir::ToClient, 2, &m, &mut out);
            p.close(3, &mut out);
        }
    }
}

#[test]
fn pairs_across_segments_byte_by_byte() {
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    for (i, b) in hex(GET).iter().enumerate() {
        p.data(Dir::ToServer, i as i64, &[*b], &mut out);
    }
    for (i, b) in hex(GET_OK).iter().enumerate() {
        p.data(Dir::ToClient, 100 + i as i64, &[*b], &mut out);
    }
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(t.method.as_deref(), Some("basic.get"));
    assert_eq!(t.query.as_deref(), Some("basic.get wb-queue"));
    assert_eq!(t.resource.as_deref(), Some("wb-queue"));
    let f = amqp(t);
    assert_eq!(f.response_method.as_deref(), Some("basic.get-ok"));
    assert_eq!((f.message_count, f.delivery_tag, f.body_size, f.body_bytes), (Some(2), Some(1), Some(7), Some(7)));
    assert_eq!(t.end_ns, Some(100 + hex(GET_OK).len() as i64 - 1));
    assert_eq!(t.client_bytes, hex(GET).len() as u64);
    assert_eq!(t.server_bytes, hex(GET_OK).len() as u64);
}

#[test]
fn pipelined_requests_pair_in_order() {
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    let two = [hex(DECLARE), hex(GET)].concat();
    p.data(Dir::ToServer, 1, &two, &mut out);
    p.data(Dir::ToClient, 2, &[hex(DECLARE_OK), hex(GET_OK)].concat(), &mut out);
    let names: Vec<_> = out.iter().map(|t| t.method.clone().unwrap()).collect();
    assert_eq!(names, ["queue.declare", "basic.get"]);
    assert_eq!(amqp(&out[0]).consumer_count, Some(0));
}

#[test]
fn channel_error_answers_the_pending_request() {
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hex(DECLARE_MISSING), &mut out);
    p.data(Dir::ToClient, 2, &hex(CHANNEL_CLOSE_404), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, "Error");
    assert_eq!(amqp(&out[0]).reply_code, Some(404));
    assert_eq!(amqp(&out[0]).passive, Some(true));
    p.close(3, &mut out);
    assert_eq!(out[1].method.as_deref(), Some("channel.close"));
    assert_eq!(out[1].status, "Error");
}

#[test]
fn refused_login_is_an_auth_failure_and_open_ok_a_success() {
    let limits = Limits::default();
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, PROTOCOL_HEADER, &mut out);
    p.data(Dir::ToClient, 2, &hex(START), &mut out);
    p.data(Dir::ToServer, 3, &hex(START_OK), &mut out);
    p.data(Dir::ToClient, 4, &hex(CLOSE_403), &mut out);
    p.close(5, &mut out);
    let close = out.iter().find(|t| t.method.as_deref() == Some("connection.close")).unwrap();
    assert_eq!(close.auth, Some(Outcome::Failure));
    assert_eq!(close.status, "Error");
    assert!(out.iter().filter(|t| t.auth.is_some()).count() == 1);

    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToClient, 2, &hex(START), &mut out);
    p.data(Dir::ToServer, 3, &hex(START_OK), &mut out);
    p.data(Dir::ToServer, 4, &hex(OPEN), &mut out);
    p.data(Dir::ToClient, 5, &hex(OPEN_OK), &mut out);
    let open = out.iter().find(|t| t.method.as_deref() == Some("connection.open")).unwrap();
    assert_eq!(open.auth, Some(Outcome::Success));
    assert_eq!(amqp(open).virtual_host.as_deref(), Some("/"));
}

#[test]
fn pending_limit_is_counted() {
    let limits = Limits { max_pending: 1, ..Limits::default() };
    let mut p = session(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &[hex(DECLARE), hex(GET)].concat(), &mut out);
    assert_eq!(p.take_counters().limit_hits, 1);
    assert_eq!(out.len(), 1, "the oldest is published unanswered");
    assert_eq!(out[0].outcome, Outcome::Unknown);
}

#[test]
fn field_tables_are_bounded_and_unknown_types_skipped() {
    let mut raw = Vec::new();
    for i in 0..MAX_TABLE_ENTRIES + 8 {
        let k = format!("k{i}");
        raw.push(k.len() as u8);
        raw.extend_from_slice(k.as_bytes());
        raw.extend_from_slice(b"t\x01");
    }
    let mut notes = Vec::new();
    assert_eq!(decode_table(&raw, 0, &mut notes).len(), MAX_TABLE_ENTRIES);
    assert_eq!(notes, ["field table cut at the entry limit"]);
    let mut notes = Vec::new();
    let t = decode_table(b"\x01at\x01\x01b?\x00\x00\x01ct\x00", 0, &mut notes);
    assert_eq!(t.len(), 1);
    assert_eq!(notes, ["field table value of an unknown type"]);
    // Nested tables stop at the depth limit.
    let mut nested = b"\x01zt\x01".to_vec();
    for _ in 0..8 {
        let mut outer = b"\x01nF".to_vec();
        outer.extend_from_slice(&(nested.len() as u32).to_be_bytes());
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    let mut notes = Vec::new();
    decode_table(&nested, 0, &mut notes);
    assert!(notes.contains(&"field table nested beyond the depth limit"));
}
