//! POP3 parser and session on real bytes from zeek `pop3/pop3.pcap` (a GMX server: CAPA,
//! AUTH PLAIN refused then accepted, STAT, LIST, RETR).

use super::*;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, Protocols, Transport, Txn};

const GREETING: &[u8] = b"+OK POP server ready H mimap13 0MW5rZ-1VayeZ2jFp-00XVZd\r\n";
/// "\0digitalinvestigator@networksims.com\0napier123"
const SASL: &[u8] = b"AGRpZ2l0YWxpbnZlc3RpZ2F0b3JAbmV0d29ya3NpbXMuY29tAG5hcGllcjEyMw==\r\n";

fn parser_with(limits: &Limits) -> Pop3Parser {
    let cfg = Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    Pop3Parser::new(&ctx)
}

fn pop(t: &Txn) -> &Fields {
    match &t.fields {
        crate::proto::ProtoFields::Pop3(f) => f,
        _ => panic!("not pop3"),
    }
}

#[test]
fn lines_parse() {
    assert_eq!(parse_command(b"RETR 1").unwrap().name, "RETR");
    assert_eq!(parse_command(SASL.strip_suffix(b"\r\n").unwrap()), None);
    assert!(matches!(parse_status(b"-ERR authentication failed"), Some(Status::Err(_))));
    assert!(matches!(parse_status(b"+ "), Some(Status::Challenge)));
    assert!(matches!(parse_status(GREETING.strip_suffix(b"\r\n").unwrap()), Some(Status::Ok(_))));
    assert!(multi_line("LIST", "") && !multi_line("LIST", "1") && multi_line("CAPA", ""));
}

#[test]
fn session_logins_and_multiline() {
    for split in [0usize, 1, 4] {
        let mut p = parser_with(&Limits::default());
        let mut out = Vec::new();
        let segs: Vec<(Dir, &[u8])> = vec![
            (Dir::ToClient, GREETING),
            (Dir::ToServer, b"AUTH\r\n"),
            (Dir::ToClient, b"-ERR 1 argument required\r\n"),
            (Dir::ToServer, b"CAPA\r\n"),
            (Dir::ToClient, b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n.\r\n"),
            (Dir::ToServer, b"AUTH PLAIN\r\n"),
            (Dir::ToClient, b"+ \r\n"),
            (Dir::ToServer, SASL),
            (Dir::ToClient, b"+OK mailbox \"digitalinvestigator@networksims.com\" has 3 messages (19191 octets) H mimap13\r\n"),
            (Dir::ToServer, b"LIST\r\n"),
            (Dir::ToClient, b"+OK\r\n1 5566\r\n2 8413\r\n3 5212\r\n.\r\n"),
            (Dir::ToServer, b"QUIT\r\n"),
            (Dir::ToClient, b"+OK POP server signing off\r\n"),
        ];
        for (i, (d, b)) in segs.iter().enumerate() {
            let chunks: Vec<&[u8]> = if split > 0 { b.chunks(split).collect() } else { vec![b] };
            for c in chunks {
                p.data(*d, i as i64, c, &mut out);
            }
        }
        p.close(99, &mut out);
        let q: Vec<_> = out.iter().map(|t| (t.query.clone(), t.outcome)).collect();
        assert_eq!(
            q,
            [
                (None, Outcome::Success),
                (Some("AUTH".into()), Outcome::Failure),
                (Some("CAPA".into()), Outcome::Success),
                (Some("AUTH PLAIN".into()), Outcome::Success),
                (Some("LIST".into()), Outcome::Success),
                (Some("QUIT".into()), Outcome::Success),
            ],
            "split {split}"
        );
        assert!(pop(&out[0]).network_traffic.pop3.greeting);
        assert_eq!(out[1].auth, None, "AUTH without a mechanism lists them");
        assert_eq!(out[3].auth, Some(Outcome::Success));
        assert_eq!(pop(&out[3]).user.as_ref().unwrap().name, "digitalinvestigator@networksims.com");
        assert_eq!(pop(&out[4]).network_traffic.pop3.data_bytes, Some(24));
        for t in &out {
            let j = serde_json::to_string(&t.fields).unwrap();
            assert!(!j.contains("napier") && !j.contains("AGRp"), "{j}");
        }
        assert_eq!(p.take_counters().malformed, 0);
    }
}

#[test]
fn user_pass_stls_and_limits() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, GREETING, &mut out);
    p.data(Dir::ToServer, 2, b"USER bob\r\nPASS hunter2\r\n", &mut out);
    p.data(Dir::ToClient, 3, b"+OK\r\n-ERR [AUTH] invalid password\r\n", &mut out);
    assert_eq!(out[2].auth, Some(Outcome::Failure));
    assert_eq!(out[2].query.as_deref(), Some("PASS"));
    assert_eq!(pop(&out[2]).user.as_ref().unwrap().name, "bob");
    p.data(Dir::ToServer, 4, b"STLS\r\n", &mut out);
    p.data(Dir::ToClient, 5, b"+OK Begin TLS negotiation\r\n", &mut out);
    assert_eq!(p.handoff(), Some(crate::proto::Handoff::Switched));
    let limits = Limits { max_buffer_bytes: 32, max_pending: 1, ..Limits::default() };
    let mut p = parser_with(&limits);
    p.data(Dir::ToServer, 1, b"NOOP\r\nNOOP\r\n", &mut out);
    p.data(Dir::ToServer, 2, &[0xff; 64], &mut out);
    p.data(Dir::ToClient, 3, b"\x16\x03\x01\x00\r\n", &mut out);
    let c = p.take_counters();
    assert!(c.limit_hits >= 2 && c.malformed >= 1, "{c:?}");
    p.gap(Dir::ToClient, 5);
    p.close(4, &mut out);
}
