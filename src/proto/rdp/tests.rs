//! RDP's parser and session on bytes cut from corpus captures (zeek-rdp-rdp-to-ssl.pcap,
//! zeek-rdp-rdp-proprietary-encryption.pcap, sv-rdp-protocol-RDP-003.pcap).

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Handoff, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

const CR_SSL: &str = "0300002f2ae00000000000436f6f6b69653a206d737473686173683d4157414b45434f44490d0a0100080003000000";
const CC_SSL: &str = "030000130ed000001234000201080002000000";
const CR_PROP: &str = "0300002f2ae00000000000436f6f6b69653a206d737473686173683d465442434f5c4137300d0a0100080001000000";
const CC_FAIL: &str = "030000130ed000001234000300080002000000";
const CR_STD: &str = "030000241fe00000000000436f6f6b69653a206d737473686173683d4137303036370d0a";
const CC_STD: &str = "0300000b06d00000123400";

fn with_parser(f: impl FnOnce(&mut RdpParser)) {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits::default();
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 0 };
    let mut p = RdpParser::new(&ctx);
    f(&mut p);
}

fn rdp(t: &crate::proto::Txn) -> &Fields {
    match &t.fields {
        ProtoFields::Rdp(f) => f,
        _ => panic!("not rdp"),
    }
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for m in [CR_SSL, CC_SSL, CR_PROP, CC_FAIL, CR_STD, CC_STD] {
        let b = hex(m);
        for n in 0..b.len() {
            assert_eq!(parse(&b[..n]), Err(ParseError::Incomplete), "{m} prefix {n}");
        }
        assert!(parse(&b).is_ok());
    }
    assert!(matches!(parse(b"GET / HTTP/1.1\r\n"), Err(ParseError::Malformed(_))));
    assert!(matches!(parse(&[3, 0, 0, 2]), Err(ParseError::Malformed(_))));
}

#[test]
fn request_fields() {
    let (m, used) = parse(&hex(CR_SSL)).unwrap_or((Message::Other, 0));
    assert_eq!(used, 47);
    assert_eq!(
        m,
        Message::ConnectionRequest {
            cookie: Some("AWAKECODI".into()),
            routing_token: None,
            neg: Some(Neg::Request { flags: 0, protocols: 3 }),
        }
    );
    assert_eq!(protocol_names(3), vec!["ssl".to_string(), "hybrid".into()]);
    assert_eq!(protocol_names(0), vec!["rdp".to_string()]);
}

#[test]
fn tls_selected_hands_off_once_across_segments() {
    with_parser(|p| {
        let mut out = Vec::new();
        let cr = hex(CR_SSL);
        p.data(Dir::ToServer, 1, &cr[..10], &mut out);
        p.data(Dir::ToServer, 2, &cr[10..], &mut out);
        assert!(p.handoff().is_none());
        p.data(Dir::ToClient, 5, &hex(CC_SSL), &mut out);
        assert_eq!(p.handoff(), Some(Handoff::Switched));
        assert_eq!(p.handoff(), None);
        assert_eq!(out.len(), 1);
        let f = rdp(&out[0]);
        assert_eq!(f.user.as_ref().map(|u| u.name.as_str()), Some("AWAKECODI"));
        assert_eq!(f.network_traffic.rdp.selected_protocol.as_deref(), Some("hybrid"));
        assert_eq!(out[0].outcome, Outcome::Success);
        assert_eq!(out[0].start_ns, 1);
        assert_eq!(out[0].end_ns, Some(5));
        assert_eq!(p.take_counters().messages, 2);
    });
}

#[test]
fn negotiation_failure_is_a_failure() {
    with_parser(|p| {
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, &hex(CR_PROP), &mut out);
        p.data(Dir::ToClient, 2, &hex(CC_FAIL), &mut out);
        assert_eq!(p.handoff(), None);
        assert_eq!(out[0].outcome, Outcome::Failure);
        let f = &rdp(&out[0]).network_traffic.rdp;
        assert_eq!(f.failure_code, Some(2));
        assert_eq!(f.failure_reason.as_deref(), Some("SSL_NOT_ALLOWED_BY_SERVER"));
        assert_eq!(f.requested_protocols.as_deref(), Some(&["ssl".to_string()][..]));
    });
}

#[test]
fn standard_security_without_negotiation() {
    with_parser(|p| {
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, &hex(CR_STD), &mut out);
        p.data(Dir::ToClient, 2, &hex(CC_STD), &mut out);
        p.data(Dir::ToServer, 3, &[3, 0, 1, 0, 2, 0xf0, 0x80, 0x7f], &mut out);
        p.close(4, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(p.handoff(), None);
        assert_eq!(rdp(&out[0]).network_traffic.rdp.selected_protocol.as_deref(), Some("rdp"));
        assert_eq!(rdp(&out[0]).network_traffic.rdp.requested_protocols, None);
    });
}

#[test]
fn broken_input_is_counted_and_limits_hit() {
    with_parser(|p| {
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, b"\x16\x03\x01garbage", &mut out);
        assert_eq!(p.take_counters().malformed, 1);
        let big = vec![3u8; Limits::default().max_buffer_bytes + 1];
        p.data(Dir::ToServer, 2, &[3, 0, 0xff, 0xff], &mut out);
        p.data(Dir::ToServer, 3, &big, &mut out);
        assert_eq!(p.take_counters().limit_hits, 1);
        p.close(4, &mut out);
        assert!(out.is_empty());
    });
}

#[test]
fn unanswered_request_is_published_on_close() {
    with_parser(|p| {
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, &hex(CR_SSL), &mut out);
        p.close(2, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].outcome, Outcome::Unknown);
    });
}
