//! QUIC unit tests: the RFC key derivation vectors, the header and frame parsers on real
//! datagrams (cut from the corpus capture sv-quic-frag-unordered.pcap, `tests/data/quic`), the
//! session's reassembly of a ClientHello split out of order over two Initials, and broken input.

use super::crypto::{decode_pn, initial_raw, open, Keys, V1, V2};
use super::parser::{parse_frames, parse_packet, probe, varint, Frame, Kind, LongType, Packet};
use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Parser, ParserContext, ProtoFields, Transport, Txn};

const C1: &[u8] = include_bytes!("../../../tests/data/quic/frag-unordered-1.bin");
const C2: &[u8] = include_bytes!("../../../tests/data/quic/frag-unordered-2.bin");
const S1: &[u8] = include_bytes!("../../../tests/data/quic/frag-unordered-3.bin");
const S2: &[u8] = include_bytes!("../../../tests/data/quic/frag-unordered-4.bin");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn rfc9001_appendix_a1_initial_keys() {
    let dcid = unhex("8394c8f03e515708");
    let c = initial_raw(V1, &dcid, false).unwrap();
    assert_eq!(c.secret, unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"));
    assert_eq!(c.key, unhex("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(c.iv, unhex("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(c.hp, unhex("9f50449e04a0e810283a1e9933adedd2"));
    let s = initial_raw(V1, &dcid, true).unwrap();
    assert_eq!(s.secret, unhex("3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b"));
    assert_eq!(s.key, unhex("cf3a5331653c364c88f0f379b6067e37"));
    assert_eq!(s.iv, unhex("0ac1493ca1905853b0bba03e"));
    assert_eq!(s.hp, unhex("c206b8d9b9f0f37644430b490eeaa314"));
}

#[test]
fn rfc9369_appendix_a1_initial_keys() {
    let dcid = unhex("8394c8f03e515708");
    let c = initial_raw(V2, &dcid, false).unwrap();
    assert_eq!(c.key, unhex("8b1a0bc121284290a29e0971b5cd045d"));
    assert_eq!(c.iv, unhex("91f73e2351d8fa91660e909f"));
    assert_eq!(c.hp, unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
    let s = initial_raw(V2, &dcid, true).unwrap();
    assert_eq!(s.key, unhex("82db637861d55e1d011f19ea71d5d2a7"));
    assert_eq!(s.iv, unhex("dd13c276499c0249d3310652"));
    assert_eq!(s.hp, unhex("edf6d05c83121201b436e16877593c3a"));
    // Unknown versions have no Initial keys.
    assert!(initial_raw(0x1a2a_3a4a, &dcid, false).is_none());
}

#[test]
fn rfc9000_appendix_a_varints_and_packet_numbers() {
    for (b, v) in [
        ("c2197c5eff14e88c", 151_288_809_941_952_652u64),
        ("9d7f3e7d", 494_878_333),
        ("7bbd", 15_293),
        ("25", 37),
        ("4025", 37),
    ] {
        let b = unhex(b);
        assert_eq!(varint(&b, 0), Ok((v, b.len())));
        for n in 0..b.len() {
            assert_eq!(varint(&b[..n], 0), Err(ParseError::Incomplete));
        }
    }
    assert_eq!(decode_pn(Some(0xa82f_30ea), 0x9b32, 16), 0xa82f_9b32);
    assert_eq!(decode_pn(None, 0, 8), 0);
    assert_eq!(decode_pn(Some(0xff), 0x01, 8), 0x101);
}

fn first_long(d: &[u8]) -> parser::LongHeader<'_> {
    match parse_packet(d).unwrap() {
        Packet::Long(h) => h,
        Packet::Short => panic!("short header"),
    }
}

#[test]
fn client_initial_header_and_every_prefix_incomplete() {
    let h = first_long(C1);
    assert_eq!(h.version, V1);
    assert_eq!(h.len, C1.len());
    assert!(matches!(h.kind, Kind::Protected { kind: LongType::Initial, .. }));
    for n in 0..C1.len() {
        assert_eq!(parse_packet(&C1[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    // The server's second datagram: an Initial coalesced with a Handshake packet.
    let h = first_long(S2);
    assert!(h.len < S2.len());
    let next = first_long(&S2[h.len..]);
    assert!(matches!(next.kind, Kind::Protected { kind: LongType::Handshake, .. }));
}

#[test]
fn decrypts_the_client_initial_and_parses_every_frame_prefix() {
    let h = first_long(C1);
    let Kind::Protected { pn_offset, .. } = h.kind else { panic!() };
    let keys = Keys::initial(V1, h.dcid, false).unwrap();
    let mut buf = C1.to_vec();
    let (pn, range) = open(&keys, &mut buf, pn_offset, None).unwrap();
    assert_eq!(pn, 1, "this client numbers its first Initial 1");
    let plain = &buf[range];
    let frames = parse_frames(plain).unwrap();
    let crypto = frames.iter().filter(|f| matches!(f, Frame::Crypto { .. })).count();
    assert!(crypto >= 2, "the hello is split into several CRYPTO frames: {crypto}");
    for n in 0..plain.len() {
        // Never a panic; a cut frame is Incomplete.
        if let Err(e) = parse_frames(&plain[..n]) {
            assert_eq!(e, ParseError::Incomplete, "prefix {n}");
        }
    }
    // The server keys do not open the client's packet.
    let wrong = Keys::initial(V1, h.dcid, true).unwrap();
    assert!(open(&wrong, &mut C1.to_vec(), pn_offset, None).is_err());
    assert!(matches!(parse_frames(&[0x08, 0x00]), Err(ParseError::Malformed(_))));
}

fn session(limits: &Limits) -> QuicParser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Udp, ip_proto: 17 };
    QuicParser::new(&ctx)
}

fn fields(t: &Txn) -> &Fields {
    match &t.fields {
        ProtoFields::Quic(f) => f,
        _ => panic!("not a QUIC event"),
    }
}

fn run(datagrams: &[(Dir, &[u8])], limits: &Limits) -> (Vec<Txn>, crate::proto::ParserCounters) {
    let mut p = session(limits);
    let mut out = Vec::new();
    for (i, (dir, d)) in datagrams.iter().enumerate() {
        p.data(*dir, i as i64, d, &mut out);
    }
    p.close(99, &mut out);
    (out, p.take_counters())
}

#[test]
fn client_hello_reassembled_across_initials_in_either_order() {
    for order in [[C1, C2], [C2, C1]] {
        let d = [
            (Dir::ToServer, order[0]),
            (Dir::ToServer, order[1]),
            (Dir::ToClient, S1),
            (Dir::ToClient, S2),
        ];
        let (out, counters) = run(&d, &Limits::default());
        assert_eq!(out.len(), 1);
        let t = &out[0];
        assert_eq!(t.server_domain.as_deref(), Some("mastodon.social"));
        let tls = &fields(t).tls;
        let client = tls.client.as_ref().unwrap();
        assert_eq!(client.server_name.as_deref(), Some("mastodon.social"));
        assert_eq!(client.ja4.as_deref(), Some("q13d0311h3_55b375c5d22e_5a1f323ef56d"));
        let ch = tls.detailed.client_hello.as_ref().unwrap();
        assert_eq!(ch.extensions.application_layer_protocol_negotiation, ["h3"]);
        assert_eq!(tls.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(tls.next_protocol.as_deref(), Some("h3"), "the only protocol offered");
        assert_eq!(tls.version, Some("1.3"));
        assert_eq!(tls.version_protocol, Some("tls"));
        let q = &fields(t).network_traffic.quic;
        assert_eq!(q.version.as_deref(), Some("0x00000001"));
        assert_eq!(q.packets.initial, 4);
        assert_eq!(q.packets.handshake, 1);
        assert_eq!(counters.malformed, 0);
    }
}

#[test]
fn every_prefix_and_corrupted_byte_is_counted_not_a_panic() {
    let limits = Limits::default();
    for n in 0..C1.len() {
        let (out, c) = run(&[(Dir::ToServer, &C1[..n])], &limits);
        assert!(out.iter().all(|t| fields(t).tls.client.is_none()), "prefix {n}");
        assert!(n == 0 || c.malformed == 1, "prefix {n} counted");
    }
    for i in (0..C1.len()).step_by(7) {
        let mut d = C1.to_vec();
        d[i] ^= 0x5a;
        let (out, _) = run(&[(Dir::ToServer, &d), (Dir::ToServer, C2)], &limits);
        assert!(out.len() <= 2, "byte {i}");
        if i > 30 {
            // A changed payload byte fails authentication: counted, no hello.
            let q = &fields(&out[0]).network_traffic.quic;
            assert_eq!(q.packets.undecryptable, 1, "byte {i}");
            assert!(fields(&out[0]).tls.client.is_none());
        }
    }
    // Server packets without the client's Initial cannot be opened.
    let (out, _) = run(&[(Dir::ToClient, S1)], &limits);
    assert_eq!(fields(&out[0]).network_traffic.quic.packets.undecryptable, 1);
}

#[test]
fn crypto_buffer_limit_is_counted() {
    let limits = Limits { max_buffer_bytes: 100, ..Limits::default() };
    let (out, c) = run(&[(Dir::ToServer, C1), (Dir::ToServer, C2)], &limits);
    assert!(c.limit_hits > 0);
    assert!(fields(&out[0]).tls.client.is_none());
}

#[test]
fn crypto_stream_reassembles_by_offset() {
    let mut s = CryptoStream::default();
    assert!(s.insert(4, b"efgh", 64));
    assert!(s.insert(2, b"cdef", 64));
    assert!(s.data.is_empty());
    assert!(s.insert(0, b"ab", 64));
    assert_eq!(s.data, b"abcdefgh");
    assert!(s.insert(0, b"abc", 64), "a repeat is ignored");
    assert!(!s.insert(60, b"too far", 64));
    let mut s = CryptoStream::default();
    assert!(s.insert(0, &[1, 0, 0, 2, 9], 64));
    assert_eq!(s.first_message(), None);
    assert!(s.insert(5, &[8], 64));
    assert_eq!(s.first_message(), Some((1, &[9u8, 8][..])));
}

#[test]
fn probe_accepts_a_client_initial_only() {
    assert!(probe(Dir::ToServer, C1));
    assert!(!probe(Dir::ToClient, C1));
    assert!(!probe(Dir::ToServer, &C1[..600]));
    assert!(!probe(Dir::ToServer, b"GET / HTTP/1.1\r\n"));
    assert!(!probe(Dir::ToServer, &[0xc0; 1300]));
    let mut vn = vec![0x80, 0, 0, 0, 0, 8];
    vn.extend_from_slice(&[1; 8]);
    vn.push(0);
    vn.extend_from_slice(&V1.to_be_bytes());
    assert!(probe(Dir::ToClient, &vn));
    assert!(!probe(Dir::ToServer, &vn));
}

#[test]
fn retry_rekeys_from_the_new_dcid() {
    let r: [&[u8]; 4] = [
        include_bytes!("../../../tests/data/quic/retry-1.bin"),
        include_bytes!("../../../tests/data/quic/retry-2.bin"),
        include_bytes!("../../../tests/data/quic/retry-3.bin"),
        include_bytes!("../../../tests/data/quic/retry-4.bin"),
    ];
    let h = first_long(r[1]);
    assert!(matches!(h.kind, Kind::Retry { token } if !token.is_empty()));
    let d = [(Dir::ToServer, r[0]), (Dir::ToClient, r[1]), (Dir::ToServer, r[2]), (Dir::ToClient, r[3])];
    let (out, c) = run(&d, &Limits::default());
    assert_eq!(out.len(), 1, "one connection across the Retry");
    let f = fields(&out[0]);
    assert!(f.network_traffic.quic.retry);
    assert_eq!(f.network_traffic.quic.packets.retry, 1);
    assert_eq!(f.network_traffic.quic.dcid.as_deref(), Some("1bafab9fd70531bb"));
    assert_eq!(f.network_traffic.quic.packets.undecryptable, 0);
    assert_eq!(f.tls.client.as_ref().unwrap().server_name.as_deref(), Some("localhost"));
    assert_eq!(f.tls.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"), "server keys from the new DCID");
    assert_eq!(c.malformed, 0);
}
