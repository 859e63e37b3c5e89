//! The template's parser and session.

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Parser, ParserContext, Transport};

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    let msg = b"PING hello\n";
    for n in 0..msg.len() {
        assert_eq!(parse(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    assert_eq!(parse(msg), Ok((Message::Ping("hello".into()), msg.len())));
    assert!(matches!(parse(b"HELLO world\n"), Err(ParseError::Malformed(_))));
}

#[test]
fn pairs_requests_and_responses_across_segments() {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits::default();
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 0 };
    let mut p = TemplateParser::new(&ctx);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"PING a\nPI", &mut out);
    p.data(Dir::ToServer, 2, b"NG b\n", &mut out);
    p.data(Dir::ToClient, 3, b"PONG a\n", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].end_ns, Some(3));
    p.close(4, &mut out);
    assert_eq!(out.len(), 2, "the unanswered request is still published");
    assert_eq!(p.take_counters().messages, 3);
}
