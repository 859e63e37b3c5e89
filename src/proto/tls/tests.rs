//! Unit tests on streams extracted from corpus captures (tests/data/tls/README.md gives the
//! provenance of each file).

use super::*;
use crate::bytes::{Cursor, ParseError};
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

/// (direction, bytes) chunks of a fixture: 1 byte direction, 4 bytes length, the bytes.
fn chunks(file: &[u8]) -> Vec<(Dir, Vec<u8>)> {
    let mut out = Vec::new();
    let mut r = Cursor::new(file);
    while let (Some(d), Some(n)) = (r.u8(), r.take(4)) {
        let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
        let dir = if d == 0 { Dir::ToServer } else { Dir::ToClient };
        out.push((dir, r.take(n).unwrap().to_vec()));
    }
    out
}

const CHROME34: &[u8] = include_bytes!("../../../tests/data/tls/chrome34-google.bin");
const SSLV2: &[u8] = include_bytes!("../../../tests/data/tls/sslv2-upgrade.bin");
const TLS13: &[u8] = include_bytes!("../../../tests/data/tls/tls13-5881.bin");

fn parser_with(limits: &Limits, raw: bool) -> TlsParser {
    let mut cfg = crate::proto::Protocols::default();
    cfg.tls.include_raw_certificates = raw;
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 0 };
    TlsParser::new(&ctx)
}

fn parser() -> TlsParser {
    parser_with(&Limits::default(), false)
}

/// Feeds the chunks (each cut in pieces of `step` bytes), then closes.
fn run(p: &mut TlsParser, file: &[u8], step: usize) -> Vec<Txn> {
    let mut out = Vec::new();
    for (i, (dir, b)) in chunks(file).into_iter().enumerate() {
        for piece in b.chunks(step) {
            p.data(dir, 1_000 + i as i64, piece, &mut out);
        }
    }
    p.close(9_999, &mut out);
    out
}

fn tls(t: &Txn) -> &TlsFields {
    match &t.fields {
        ProtoFields::Tls(f) => &f.tls,
        _ => panic!("not a TLS transaction"),
    }
}

#[test]
fn every_prefix_is_incomplete_never_malformed() {
    let (_, hello) = chunks(CHROME34).into_iter().next().unwrap();
    for n in 0..hello.len() {
        assert_eq!(parse_record(&hello[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (ct, body, used) = parse_record(&hello).unwrap();
    assert_eq!((ct, used), (22, hello.len()));
    for n in 0..body.len() {
        assert_eq!(parse_handshake(&body[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (typ, msg, _) = parse_handshake(body).unwrap();
    assert_eq!(typ, 1);
    let ch = hello::parse_client_hello(msg).unwrap();
    assert_eq!(ch.ext.server_names, vec!["google.de".to_owned()]);
}

#[test]
fn broken_input_is_malformed_or_flagged() {
    assert!(matches!(parse_record(b"GET / HTTP/1.1\r\n"), Err(ParseError::Malformed(_))));
    assert!(matches!(parse_record(&[0x16, 0x04, 0x01, 0, 1, 0]), Err(ParseError::Malformed(_))));
    // A ClientHello whose cipher list runs past the message.
    assert!(hello::parse_client_hello(&[3, 3, 0]).is_err());
    let (_, hello) = chunks(CHROME34).into_iter().next().unwrap();
    let mut cut = hello.clone();
    cut[9 + 2 + 32 + 1] = 0xff; // cipher suites length
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &cut, &mut out);
    p.data(Dir::ToServer, 2, b"\x99garbage", &mut out);
    p.close(3, &mut out);
    assert!(out.is_empty(), "no hello parsed, nothing to publish");
    let c = p.take_counters();
    assert_eq!(c.malformed, 2, "the bad hello and the garbage record: {c:?}");
    // Not TLS at all: the side is dropped, counted once.
    let mut p = parser();
    p.data(Dir::ToServer, 1, b"SSH-2.0-OpenSSH_8.9\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"more", &mut out);
    p.close(3, &mut out);
    assert!(out.is_empty());
    assert_eq!(p.take_counters().malformed, 1);
}

#[test]
fn tls12_session_pairs_hellos_and_certificate() {
    // zeek-tls-chrome-34-google.pcap: truth ja3 a607f3…, ja3s 9f5e2e…, ALPN spdy/3.1.
    for step in [usize::MAX, 1, 7, 100] {
        let mut p = parser();
        let out = run(&mut p, CHROME34, step);
        assert_eq!(out.len(), 1, "step {step}");
        let t = &out[0];
        let f = tls(t);
        let c = f.client.as_ref().unwrap();
        let s = f.server.as_ref().unwrap();
        assert_eq!(c.server_name.as_deref(), Some("google.de"));
        assert_eq!(c.ja3.as_deref(), Some("a607f3a5c94c2ee592af1456f36c8367"));
        assert_eq!(s.ja3s.as_deref(), Some("9f5e2e0d84076af5475bbe44debdb03e"));
        assert_eq!(f.next_protocol.as_deref(), Some("spdy/3.1"));
        assert_eq!((f.version, f.version_protocol), (Some("1.2"), Some("tls")));
        assert!(f.established && !f.resumed, "step {step}");
        assert!(f.cipher.as_deref().unwrap().starts_with("TLS_ECDHE_"));
        assert_eq!(f.curve.as_deref(), Some("secp256r1"));
        let cert = s.cert.as_ref().unwrap();
        let x = cert.x509.as_ref().unwrap();
        assert_eq!(x.subject.common_name, vec!["*.google.de".to_owned()]);
        assert_eq!(x.issuer.common_name, vec!["Google Internet Authority G2".to_owned()]);
        assert!(x.alternative_names.iter().any(|n| n == "google.de"), "{x:?}");
        assert_eq!(cert.hash.sha256.len(), 64);
        assert!(cert.hash.sha256.chars().all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase()));
        assert_eq!(f.detailed.server_certificate_chain.len(), 2);
        assert_eq!(t.outcome, Outcome::Success);
        assert_eq!(t.server_domain.as_deref(), Some("google.de"));
        assert_eq!(t.related_hashes.len(), 3);
        let d = f.detailed.client_hello.as_ref().unwrap();
        assert_eq!(d.version, "3.3");
        assert_eq!(
            d.extensions.application_layer_protocol_negotiation,
            vec!["spdy/3", "spdy/3.1", "http/1.1"]
        );
        assert!(t.client_bytes > 0 && t.server_bytes > 0);
        assert_eq!(s.certificate, None);
    }
}

#[test]
fn raw_certificates_on_request() {
    let mut p = parser_with(&Limits::default(), true);
    let out = run(&mut p, CHROME34, usize::MAX);
    let s = tls(&out[0]).server.as_ref().unwrap();
    assert!(s.certificate.as_deref().unwrap().starts_with("MII"));
    assert_eq!(s.certificate_chain.len(), 3);
}

#[test]
fn published_once_when_both_finished() {
    let mut p = parser();
    let mut out = Vec::new();
    let all = chunks(CHROME34);
    // Up to the client's Finished (chunk 4) nothing is published; the server's Finished
    // (chunk 5) completes the handshake.
    for (i, (dir, b)) in all.iter().enumerate() {
        p.data(*dir, i as i64, b, &mut out);
        assert_eq!(out.len(), usize::from(i >= 5), "after chunk {i}");
    }
    p.close(99, &mut out);
    p.tick(i64::MAX, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].end_ns, Some(5));
}

#[test]
fn tls13_session() {
    // sv-bug-5881-01.pcap: truth ja3 773906…, ja3s 15af97…, SNI musicstatus.itunes.apple.com.
    let mut p = parser();
    let out = run(&mut p, TLS13, 500);
    assert_eq!(out.len(), 1);
    let f = tls(&out[0]);
    let c = f.client.as_ref().unwrap();
    assert_eq!(c.server_name.as_deref(), Some("musicstatus.itunes.apple.com"));
    assert_eq!(c.ja3.as_deref(), Some("773906b0efdefa24a7f2b8eb6985bf37"));
    assert!(c.ja4.as_deref().unwrap().starts_with("t13d"), "{:?}", c.ja4);
    assert_eq!(
        f.server.as_ref().unwrap().ja3s.as_deref(),
        Some("15af977ce25de452b96affa2addb1036")
    );
    assert_eq!(f.version, Some("1.3"));
    assert_eq!(f.detailed.version.as_deref(), Some("TLS 1.3"));
    assert!(f.established);
    assert!(!c.supported_ciphers.iter().any(|n| n.contains("GREASE") || n.starts_with("0x")));
    let sv = &f.detailed.client_hello.as_ref().unwrap().extensions.supported_versions;
    assert_eq!(sv.first().map(String::as_str), Some("TLS 1.3"), "GREASE left out: {sv:?}");
}

#[test]
fn sslv2_compatible_client_hello() {
    // sv-sslv2-tls-upgrade-01-ssl-v2-s1.pcap: SSLv2 ClientHello offering TLS 1.0, TLS 1.0 reply.
    let mut p = parser();
    let out = run(&mut p, SSLV2, 1000);
    assert_eq!(out.len(), 1);
    let f = tls(&out[0]);
    let c = f.client.as_ref().unwrap();
    assert_eq!(c.ja3, None, "tshark computes no JA3 for SSLv2 hellos either");
    assert!(!c.supported_ciphers.is_empty());
    let d = f.detailed.client_hello.as_ref().unwrap();
    assert!(d.sslv2_format);
    assert_eq!(d.version, "3.1");
    assert_eq!(
        f.server.as_ref().unwrap().ja3s.as_deref(),
        Some("9a2c6bfd476184689a786457f33ece3a")
    );
    assert_eq!(f.version, Some("1.0"));
    assert!(f.established);
}

#[test]
fn handshake_spanning_records_is_reassembled() {
    // The chrome ClientHello re-framed into three records of a few bytes each.
    let (_, rec) = chunks(CHROME34).into_iter().next().unwrap();
    let (_, body, _) = parse_record(&rec).unwrap();
    let mut stream = Vec::new();
    for part in [&body[..3], &body[3..50], &body[50..]] {
        stream.extend_from_slice(&[0x16, 3, 1]);
        stream.extend_from_slice(&(part.len() as u16).to_be_bytes());
        stream.extend_from_slice(part);
    }
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &stream, &mut out);
    p.close(2, &mut out);
    let c = tls(&out[0]).client.clone().unwrap();
    assert_eq!(c.ja3.as_deref(), Some("a607f3a5c94c2ee592af1456f36c8367"));
    assert!(out[0].notes.iter().any(|n| n == "no ServerHello"));
    assert_eq!(p.take_counters().unmatched, 1);
}

#[test]
fn buffer_limit_is_counted_and_not_fatal() {
    let limits = Limits { max_buffer_bytes: 1000, ..Limits::default() };
    let mut p = parser_with(&limits, false);
    let out = run(&mut p, CHROME34, usize::MAX);
    assert_eq!(out.len(), 1);
    let f = tls(&out[0]);
    // The server flight (Certificate ~2.5 kB) is over the limit; the hellos are not.
    assert!(f.detailed.anomalies.iter().any(|a| a == "handshake_over_buffer_limit"));
    assert!(f.client.as_ref().unwrap().ja3.is_some());
    assert!(p.take_counters().limit_hits >= 1);
}

#[test]
fn heartbleed_is_flagged() {
    let (_, hello) = chunks(CHROME34).into_iter().next().unwrap();
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hello, &mut out);
    // Heartbeat request claiming 16384 payload bytes in a 3-byte record.
    p.data(Dir::ToServer, 2, &[0x18, 3, 3, 0, 3, 1, 0x40, 0], &mut out);
    p.close(3, &mut out);
    let f = tls(&out[0]);
    assert!(f.detailed.anomalies.iter().any(|a| a == "heartbleed"), "{:?}", f.detailed);
    assert!(out[0].notes.iter().any(|n| n.contains("Heartbleed")));
}

#[test]
fn alerts_are_recorded() {
    let (_, hello) = chunks(CHROME34).into_iter().next().unwrap();
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hello, &mut out);
    p.data(Dir::ToClient, 2, &[0x15, 3, 3, 0, 2, 2, 40], &mut out);
    p.close(3, &mut out);
    let f = tls(&out[0]);
    assert_eq!(f.detailed.alert_types, vec!["handshake_failure"]);
    assert_eq!(f.detailed.alerts[0].source, "server");
    assert_eq!(out[0].outcome, Outcome::Failure);
    assert!(!f.established);
}

#[test]
fn timeout_publishes_once() {
    let (_, hello) = chunks(CHROME34).into_iter().next().unwrap();
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 0, &hello, &mut out);
    p.tick(5_000_000_000, &mut out);
    assert!(out.is_empty());
    p.tick(20_000_000_000, &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].notes.iter().any(|n| n.contains("timeout")));
    p.close(30_000_000_000, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn gap_inside_skipped_data_is_harmless() {
    let all = chunks(CHROME34);
    let mut p = parser();
    let mut out = Vec::new();
    for (dir, b) in &all[..5] {
        p.data(*dir, 1, b, &mut out);
    }
    // Client application data record of 1000 bytes, of which 900 are lost.
    p.data(Dir::ToServer, 2, &[0x17, 3, 3, 0x03, 0xe8], &mut out);
    p.data(Dir::ToServer, 2, &[0; 50], &mut out);
    p.gap(Dir::ToServer, 900);
    p.data(Dir::ToServer, 2, &[0; 50], &mut out);
    p.data(Dir::ToServer, 2, &[0x17, 3, 3, 0, 1, 0], &mut out);
    assert!(!p.sides[0].dead);
    // A gap across a record boundary loses the framing until a chunk starts with a record.
    p.gap(Dir::ToServer, 10);
    assert!(p.sides[0].resync);
    p.data(Dir::ToServer, 2, &[0x55; 20], &mut out);
    assert!(p.sides[0].resync && p.sides[0].buf.is_empty());
    p.data(Dir::ToServer, 2, &[0x17, 3, 3, 0, 1, 0], &mut out);
    assert!(!p.sides[0].resync && !p.sides[0].dead);
    for (dir, b) in &all[5..] {
        p.data(*dir, 3, b, &mut out);
    }
    p.close(4, &mut out);
    assert_eq!(out.len(), 1);
    assert!(tls(&out[0]).established, "both Finished were seen before the gap");
}

#[test]
fn probe() {
    let (_, hello) = chunks(CHROME34).into_iter().next().unwrap();
    assert!(looks_like_tls(&hello));
    let (_, v2) = chunks(SSLV2).into_iter().next().unwrap();
    assert!(looks_like_tls(&v2));
    let (_, sh) = chunks(CHROME34).into_iter().nth(1).unwrap();
    assert!(looks_like_tls(&sh));
    assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
    assert!(!looks_like_tls(&[0x17, 3, 3, 0, 10, 0]));
    assert!(!looks_like_tls(&[0x16, 3, 1, 0xff, 0xff, 1]));
}

#[test]
fn fields_serialize_at_top_level() {
    let mut p = parser();
    let out = run(&mut p, CHROME34, usize::MAX);
    let v = serde_json::to_value(&out[0].fields).unwrap();
    assert_eq!(v["tls"]["client"]["server_name"], "google.de");
    assert_eq!(v["tls"]["server"]["x509"]["version_number"], "3");
    assert!(v["tls"]["server"]["hash"]["sha1"].is_string());
    assert!(v["tls"]["server"]["not_after"].as_str().unwrap().ends_with(".000Z"));
    assert!(v["tls"]["detailed"]["client_hello"]["extensions"]["_unparsed_"].is_array());
}

#[test]
fn stray_bytes_and_lost_change_cipher_spec_are_survived() {
    // zeek-pppoe-over-qinq.pcap has both: 6 padding bytes taken for payload, which ate the
    // server's ChangeCipherSpec. Rebuilt here on the chrome session: zeros injected before the
    // server's last flight, and its ChangeCipherSpec record removed.
    let mut all = chunks(CHROME34);
    let ccs = [0x14, 3, 3, 0, 1, 1];
    let flight = &mut all[5].1;
    let at = flight.windows(6).position(|w| w == ccs).unwrap();
    flight.drain(at..at + 6);
    all.insert(5, (Dir::ToClient, vec![0; 6]));
    let mut p = parser();
    let mut out = Vec::new();
    for (i, (dir, b)) in all.iter().enumerate() {
        p.data(*dir, i as i64, b, &mut out);
    }
    p.close(99, &mut out);
    assert_eq!(out.len(), 1);
    let f = tls(&out[0]);
    let a = &f.detailed.anomalies;
    assert!(f.established, "{a:?}");
    assert!(a.iter().any(|x| x == "not_tls_record"), "{a:?}");
    assert!(a.iter().any(|x| x == "change_cipher_spec_missing"), "{a:?}");
    assert_eq!(
        f.server.as_ref().unwrap().ja3s.as_deref(),
        Some("9f5e2e0d84076af5475bbe44debdb03e")
    );
}

/// The body of a ClientHello with `n` empty extensions of distinct types.
fn hello_body_with_extensions(n: u16) -> Vec<u8> {
    let mut exts = Vec::new();
    for i in 0..n {
        exts.extend_from_slice(&(1000 + i).to_be_bytes());
        exts.extend_from_slice(&[0, 0]);
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    body
}

/// That ClientHello as a handshake message in TLS records.
fn hello_with_extensions(n: u16) -> Vec<u8> {
    let body = hello_body_with_extensions(n);
    let mut msg = vec![1];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&body);
    let mut stream = Vec::new();
    for rec in msg.chunks(16_384) {
        stream.extend_from_slice(&[0x16, 3, 1]);
        stream.extend_from_slice(&(rec.len() as u16).to_be_bytes());
        stream.extend_from_slice(rec);
    }
    stream
}

// Regression (issue 15): extension lists were uncapped (one event of 138 KB).
#[test]
fn hello_lists_are_capped_and_counted() {
    let n = 16_000; // as many empty extensions as the 16-bit block length allows
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, &hello_with_extensions(n), &mut out);
    p.close(2, &mut out);
    assert_eq!(out.len(), 1);
    let json = serde_json::to_string(&out[0].fields).unwrap();
    assert!(json.len() < 16 * 1024, "event fields of {} bytes", json.len());
    let f = tls(&out[0]);
    assert!(f.detailed.anomalies.iter().any(|a| a == hello::LIST_OVER_LIMIT));
    assert_eq!(p.take_counters().limit_hits, 1);
    let ch = hello::parse_client_hello(&hello_body_with_extensions(n)).unwrap();
    assert_eq!(ch.ext.types.len(), hello::MAX_HELLO_LIST);
    // Below the cap nothing is cut or flagged.
    let ch = hello::parse_client_hello(&hello_body_with_extensions(40)).unwrap();
    assert_eq!(ch.ext.types.len(), 40);
    assert!(ch.anomalies.is_empty());
}
