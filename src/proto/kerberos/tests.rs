//! Kerberos parser and session on real bytes cut from corpus captures (tests/data/kerberos/*.hex:
//! one packet payload per line, hex, as `tshark -T fields -e tcp.payload` prints it).

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

fn hex_lines(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = l.trim().as_bytes();
            l.chunks(2)
                .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
                .collect()
        })
        .collect()
}

/// AS-REQ then TGS-REQ records in one TCP segment (sv-bug-8278-krb5-01-evasion).
const AS_TGS_REQ: &str = include_str!("../../../tests/data/kerberos/tcp-as-tgs-req.hex");
/// AS-REQ and KRB-ERROR PREAUTH_REQUIRED over TCP (sv-krb5-probing).
const AS_REQ_ERROR: &str = include_str!("../../../tests/data/kerberos/tcp-as-req-error.hex");
/// TGS-REQ and TGS-REP over UDP (zeek-krb-auth).
const UDP_TGS: &str = include_str!("../../../tests/data/kerberos/udp-tgs-req-rep.hex");
/// An AS-REP record (RC4 enc-part) that came in two TCP segments (sv-krb5-request-frag).
const AS_REP: &str = include_str!("../../../tests/data/kerberos/tcp-as-rep.hex");

fn parser(t: Transport, limits: &Limits) -> KerberosParser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: t, ip_proto: 0 };
    KerberosParser::new(&ctx)
}

fn krb(t: &Txn) -> &Fields {
    match &t.fields {
        ProtoFields::Kerberos(f) => f,
        _ => panic!("not kerberos"),
    }
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for text in [AS_TGS_REQ, AS_REQ_ERROR, AS_REP] {
        let seg = &hex_lines(text)[0];
        let rec = &seg[4..];
        let (_, used) = parse(rec).expect("record parses");
        for n in 0..used {
            assert_eq!(parse(&rec[..n]).map(|_| ()), Err(ParseError::Incomplete), "prefix {n}");
        }
    }
    for msg in hex_lines(UDP_TGS) {
        for n in 0..msg.len() {
            assert_eq!(parse(&msg[..n]).map(|_| ()), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert_eq!(parse(&msg).map(|(_, u)| u), Ok(msg.len()));
    }
}

#[test]
fn decodes_as_req_and_preauth_required() {
    let l = hex_lines(AS_REQ_ERROR);
    let (req, _) = parse(&l[0][4..]).unwrap();
    assert_eq!(req.msg_type, 10);
    assert_eq!(req.cname.as_ref().map(Principal::text).as_deref(), Some("aiello"));
    assert_eq!(req.sname.as_ref().map(Principal::text).as_deref(), Some("krbtgt/AD.NWRA.COM"));
    assert_eq!(req.realm.as_deref(), Some("AD.NWRA.COM"));
    assert!(req.padata_types.contains(&149), "{:?}", req.padata_types);
    let (err, _) = parse(&l[1][4..]).unwrap();
    assert_eq!(err.msg_type, 30);
    assert_eq!(err.error_code, Some(25));
    assert_eq!(error_name(25), Some("KDC_ERR_PREAUTH_REQUIRED"));

    let limits = Limits::default();
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &l[0], &mut out);
    p.data(Dir::ToClient, 5, &l[1], &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(t.outcome, Outcome::Failure);
    assert_eq!(t.auth, None, "PREAUTH_REQUIRED is not a failed login");
    assert_eq!(t.end_ns, Some(5));
    assert!(t.notes.iter().any(|n| n.contains("PREAUTH_REQUIRED")));
    let f = krb(t);
    assert_eq!(f.user.as_ref().map(|u| u.name.as_str()), Some("aiello"));
    assert_eq!(f.user.as_ref().and_then(|u| u.domain.as_deref()), Some("AD.NWRA.COM"));
    assert_eq!(f.network_traffic.kerberos.error_name, Some("KDC_ERR_PREAUTH_REQUIRED"));
    assert_eq!(f.network_traffic.kerberos.pa_enc_timestamp, Some(false));
    assert!(f.network_traffic.kerberos.error_padata_types.contains(&2));
}

#[test]
fn two_records_in_one_segment_and_split_anywhere() {
    let seg = &hex_lines(AS_TGS_REQ)[0];
    let limits = Limits::default();
    for cut in 0..seg.len() {
        let mut p = parser(Transport::Tcp, &limits);
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, &seg[..cut], &mut out);
        p.data(Dir::ToServer, 2, &seg[cut..], &mut out);
        p.close(3, &mut out);
        let types: Vec<_> =
            out.iter().map(|t| krb(t).network_traffic.kerberos.request_type).collect();
        assert_eq!(types, [Some("AS-REQ"), Some("TGS-REQ")], "cut {cut}");
        let c = p.take_counters();
        assert_eq!((c.messages, c.malformed), (2, 0), "cut {cut}");
        assert_eq!(out[0].auth, Some(Outcome::Unknown));
        let k = &krb(&out[0]).network_traffic.kerberos;
        assert_eq!(k.etypes, [18, 17]);
        assert!(!k.weak_etype && !k.weak_etype_offered);
        assert!(k.kdc_options.contains(&"forwardable"), "{:?}", k.kdc_options);
        assert_eq!(k.till.as_deref(), Some("2026-02-10T23:25:51Z"));
    }
}

#[test]
fn udp_tgs_exchange() {
    let l = hex_lines(UDP_TGS);
    let limits = Limits::default();
    let mut p = parser(Transport::Udp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 10, &l[0], &mut out);
    p.data(Dir::ToClient, 20, &l[1], &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(t.outcome, Outcome::Success);
    assert_eq!(t.auth, None, "TGS is not a login");
    assert_eq!(t.method.as_deref(), Some("TGS-REQ"));
    let f = krb(t);
    let k = &f.network_traffic.kerberos;
    assert_eq!(k.response_type, Some("TGS-REP"));
    assert_eq!(k.response_cname.as_deref(), Some("vladg"));
    assert_eq!(f.user.as_ref().map(|u| u.name.as_str()), Some("vladg"));
    assert_eq!(k.ticket_etype, Some(18));
    assert_eq!(k.enc_part_etype, Some(18));
    assert_eq!(k.padata_types, [1]);
}

#[test]
fn as_rep_across_segments_is_success_login_and_rc4_is_weak() {
    let rec = hex_lines(AS_REP).remove(0);
    let limits = Limits::default();
    let req = &hex_lines(AS_TGS_REQ)[0];
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &req[..0xa1], &mut out); // the AS-REQ record alone
    for (i, chunk) in rec.chunks(700).enumerate() {
        p.data(Dir::ToClient, 2 + i as i64, chunk, &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].auth, Some(Outcome::Success));
    let k = &krb(&out[0]).network_traffic.kerberos;
    assert_eq!(k.response_type, Some("AS-REP"));
    assert_eq!(k.enc_part_etype, Some(23));
    assert!(k.weak_etype);
}

#[test]
fn broken_input_is_malformed_not_a_panic() {
    let limits = Limits::default();
    let mut p = parser(Transport::Udp, &limits);
    let mut out = Vec::new();
    let msg = &hex_lines(UDP_TGS)[0];
    p.data(Dir::ToServer, 1, &msg[..msg.len() - 3], &mut out); // truncated datagram
    p.data(Dir::ToServer, 1, b"\x6a\x80\x00\x00", &mut out); // indefinite length
    p.data(Dir::ToServer, 1, b"hello", &mut out);
    let mut flipped = msg.clone();
    flipped[10] ^= 0xff;
    p.data(Dir::ToServer, 1, &flipped, &mut out);
    assert_eq!(p.take_counters().malformed, 4);
    assert!(out.is_empty());
    // Every byte flipped in turn: never a panic.
    for i in 0..msg.len() {
        let mut m = msg.clone();
        m[i] ^= 0x5a;
        let _ = parse(&m);
        let _ = parse(&m[..i]);
    }
    let mut t = parser(Transport::Tcp, &limits);
    t.data(Dir::ToServer, 1, b"\x80\x00\x00\x10abcd", &mut out);
    t.data(Dir::ToServer, 1, b"\x00\x00\x00\x10GET / HTTP/1.1", &mut out);
    assert_eq!(t.take_counters().malformed, 2);
}

#[test]
fn limits_are_counted() {
    let limits = Limits { max_buffer_bytes: 64, max_pending: 1, ..Limits::default() };
    let seg = &hex_lines(AS_TGS_REQ)[0];
    let mut p = parser(Transport::Tcp, &limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &seg[..40], &mut out);
    assert_eq!(p.take_counters().limit_hits, 1, "a 157-byte record over a 64-byte buffer");
    let limits = Limits { max_pending: 1, ..Limits::default() };
    let mut p = parser(Transport::Tcp, &limits);
    p.data(Dir::ToServer, 1, seg, &mut out);
    assert_eq!(p.take_counters().limit_hits, 1);
    assert_eq!(out.len(), 1, "the oldest request is published unanswered");
}

#[test]
fn probe_and_kdc_options() {
    let seg = &hex_lines(AS_TGS_REQ)[0];
    assert!((PROTOCOL.probe)(Transport::Tcp, Dir::ToServer, seg));
    assert!((PROTOCOL.probe)(Transport::Udp, Dir::ToServer, &hex_lines(UDP_TGS)[0]));
    assert!(!(PROTOCOL.probe)(Transport::Udp, Dir::ToServer, b"GET / HTTP/1.1\r\n"));
    assert!((PROTOCOL.probe)(Transport::Tcp, Dir::ToServer, &seg[..60]), "a partial record");
    let mut wrong_len = seg.clone();
    wrong_len[3] ^= 1;
    assert!(!(PROTOCOL.probe)(Transport::Tcp, Dir::ToServer, &wrong_len));
    assert!(!(PROTOCOL.probe)(Transport::Tcp, Dir::ToClient, seg));
    assert_eq!(kdc_option_names(0x4081_0010), ["forwardable", "renewable", "canonicalize", "renewable-ok"]);
}

/// From the MIT krb5-kdc fixture (tests/data/kerberos/make-fixtures): kinit with a wrong
/// password (AS-REQ with PA-ENC-TIMESTAMP, PREAUTH_FAILED) and kvno of an RC4-only service.
const MIT_UDP: &str = include_str!("../../../tests/data/kerberos/udp-preauth-failed-rc4-tgs.hex");

#[test]
fn preauth_failed_is_a_failed_login_and_an_rc4_ticket_is_weak() {
    let l = hex_lines(MIT_UDP);
    let limits = Limits::default();
    let mut p = parser(Transport::Udp, &limits);
    let mut out = Vec::new();
    for (i, m) in l.iter().enumerate() {
        let dir = if i % 2 == 0 { Dir::ToServer } else { Dir::ToClient };
        p.data(dir, i as i64, m, &mut out);
    }
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].auth, Some(Outcome::Failure));
    assert_eq!(out[0].outcome, Outcome::Failure);
    let k = &krb(&out[0]).network_traffic.kerberos;
    assert_eq!(k.error_name, Some("KDC_ERR_PREAUTH_FAILED"));
    assert_eq!(k.pa_enc_timestamp, Some(true));
    assert!(k.weak_etype_offered && !k.weak_etype, "RC4 offered among AES only");
    assert_eq!(out[1].auth, None);
    let k = &krb(&out[1]).network_traffic.kerberos;
    assert_eq!((k.ticket_etype, k.enc_part_etype), (Some(23), Some(18)));
    assert_eq!(k.sname.as_deref(), Some("HTTP/web.wirebeat.test"));
    assert!(k.weak_etype, "an RC4 service ticket: Kerberoastable");
}
