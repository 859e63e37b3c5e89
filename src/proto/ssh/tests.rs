//! SSH parser and session on real bytes: TCP segments cut from corpus captures by
//! `tests/data/ssh/make-fixtures`.

use super::*;
use crate::bytes::ParseError;
use crate::proto::{
    Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Protocols, Transport, Txn,
};

/// zeek-ssh-sshguess.pcap, connection 0: a password guesser against OpenSSH 6.7p1.
const SSHGUESS: &[u8] = include_bytes!("../../../tests/data/ssh/sshguess-conn0.segments");
/// sv-ssh-hassh.pcap, connection 1: OpenSSH for Windows 7.7 against OpenSSH 7.4.
const HASSH: &[u8] = include_bytes!("../../../tests/data/ssh/hassh-conn1.segments");

/// The segments of a fixture: (direction, payload).
fn segments(mut f: &[u8]) -> Vec<(Dir, &[u8])> {
    let mut v = Vec::new();
    while let [d, a, b, c, e, rest @ ..] = f {
        let n = u32::from_be_bytes([*a, *b, *c, *e]) as usize;
        let dir = if *d == 0 { Dir::ToServer } else { Dir::ToClient };
        v.push((dir, &rest[..n]));
        f = &rest[n..];
    }
    v
}

/// The bytes one side sent, concatenated.
fn stream(f: &[u8], dir: Dir) -> Vec<u8> {
    segments(f).into_iter().filter(|(d, _)| *d == dir).flat_map(|(_, b)| b.to_vec()).collect()
}

fn parser_with(limits: &Limits) -> SshParser {
    let cfg = Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    SshParser::new(&ctx)
}

fn replay(f: &[u8], limits: &Limits) -> (Vec<Txn>, SshParser) {
    let mut p = parser_with(limits);
    let mut out = Vec::new();
    for (i, (dir, b)) in segments(f).into_iter().enumerate() {
        p.data(dir, 1_000 + i as i64, b, &mut out);
    }
    assert!(out.is_empty(), "published only at close");
    p.close(5_000, &mut out);
    (out, p)
}

fn ssh(t: &Txn) -> &SshFields {
    match &t.fields {
        ProtoFields::Ssh(f) => &f.network_traffic.ssh,
        _ => panic!("not ssh"),
    }
}

#[test]
fn banner_parts() {
    let (l, used) = parse_line(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\nxx").unwrap();
    assert_eq!(used, 32);
    let Line::Banner(b) = l else { panic!("{l:?}") };
    assert_eq!(b.text, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3");
    assert_eq!((b.proto_version.as_str(), b.software.as_str()), ("2.0", "OpenSSH_8.9p1"));
    assert_eq!(b.comments.as_deref(), Some("Ubuntu-3"));
    assert_eq!(parse_line(b"hello\n"), Ok((Line::Other, 6)));
    assert!(matches!(parse_line(b"SSH-2.0\r\n"), Err(ParseError::Malformed(_))));
    assert!(matches!(parse_line(&[b'a'; MAX]), Err(ParseError::Malformed(_))));
}

const MAX: usize = 8192;

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    let client = stream(HASSH, Dir::ToServer);
    let (Line::Banner(_), used) = parse_line(&client).unwrap() else { panic!() };
    for n in 0..used {
        assert_eq!(parse_line(&client[..n]), Err(ParseError::Incomplete), "banner prefix {n}");
    }
    let kex = &client[used..];
    let (p, len) = parse_packet(kex).unwrap();
    assert_eq!(p.msg, 20);
    for n in 0..len {
        assert_eq!(parse_packet(&kex[..n]), Err(ParseError::Incomplete), "KEXINIT prefix {n}");
    }
    let k = parse_kexinit(p.body).unwrap();
    assert!(k.kex.starts_with("curve25519-sha256"), "{}", k.kex);
    assert_eq!(
        crate::proto::tls::fingerprint::md5_hex(&hassh_algorithms(&k, true)),
        "2dd6531c7e89d3c925db9214711be76a"
    );
    for n in 0..p.body.len() {
        assert!(parse_kexinit(&p.body[..n]).is_err(), "cut KEXINIT {n}");
    }
}

#[test]
fn hassh_connection_matches_tshark() {
    let (out, mut p) = replay(HASSH, &Limits::default());
    assert_eq!(out.len(), 1);
    let s = ssh(&out[0]);
    assert_eq!(s.client.banner.as_deref(), Some("SSH-2.0-OpenSSH_for_Windows_7.7"));
    assert_eq!(s.server.software.as_deref(), Some("OpenSSH_7.4"));
    assert_eq!(s.hassh.as_deref(), Some("2dd6531c7e89d3c925db9214711be76a"));
    assert_eq!(s.hassh_server.as_deref(), Some("6832f1ce43d4397c2c0a3e2f8c94334e"));
    let n = s.negotiated.as_ref().unwrap();
    assert_eq!(n.kex.as_deref(), Some("curve25519-sha256"));
    assert_eq!(n.compression_c2s.as_deref(), Some("none"));
    assert!(s.encrypted);
    // One request after the service request, then the capture ends: nothing to infer.
    assert_eq!(out[0].auth, Some(Outcome::Unknown));
    assert_eq!(out[0].related_hashes.len(), 2);
    assert_eq!((out[0].start_ns, out[0].end_ns), (1_000, Some(1_000 + 10)));
    let c = p.take_counters();
    assert_eq!((c.malformed, c.limit_hits), (0, 0));
}

#[test]
fn password_guesser_fails() {
    let (out, _) = replay(SSHGUESS, &Limits::default());
    assert_eq!(out.len(), 1);
    let s = ssh(&out[0]);
    assert_eq!(s.hassh.as_deref(), Some("1f120ecfc2c57fbdeaf66b93a3bf26ee"));
    assert_eq!(s.hassh_server.as_deref(), Some("3711ee816d3ea9975d96c39c31c54299"));
    assert_eq!(out[0].auth, Some(Outcome::Failure));
    assert_eq!(out[0].outcome, Outcome::Failure);
    assert_eq!(s.auth_attempts, Some(5));
}

#[test]
fn byte_at_a_time_gives_the_same_event() {
    let (whole, _) = replay(HASSH, &Limits::default());
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    let mut encrypted_from = [usize::MAX; 2];
    for (dir, b) in segments(HASSH) {
        let i = usize::from(dir == Dir::ToClient);
        // Cleartext bytes one at a time; encrypted segments whole (their sizes matter).
        if encrypted_from[i] == usize::MAX && !b.starts_with(&[0, 0, 0, 12, 10, 21]) {
            for byte in b.chunks(1) {
                p.data(dir, 1, byte, &mut out);
            }
        } else {
            encrypted_from[i] = 0;
            p.data(dir, 1, b, &mut out);
        }
    }
    p.close(2, &mut out);
    assert_eq!(ssh(&out[0]).hassh, ssh(&whole[0]).hassh);
    assert_eq!(ssh(&out[0]).hassh_server, ssh(&whole[0]).hassh_server);
    assert_eq!(ssh(&out[0]).negotiated, ssh(&whole[0]).negotiated);
}

#[test]
fn broken_input_is_counted_not_a_panic() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, b"SSH-2.0-x\r\n\xff\xff\xff\xff\x05", &mut out);
    p.data(Dir::ToServer, 2, b"SSH-2.0-y\r\n\x00\x00\x00\x10\x04\x14\x00", &mut out);
    p.data(Dir::ToServer, 3, &[0; 13], &mut out);
    p.close(4, &mut out);
    assert_eq!(out.len(), 1);
    assert!(!out[0].notes.is_empty(), "{:?}", out[0].notes);
    assert_eq!(p.take_counters().malformed, 2, "bad length, KEXINIT cut short");
    // Bytes that are not SSH at all publish nothing.
    let mut p = parser_with(&Limits::default());
    p.data(Dir::ToServer, 1, b"GET / HTTP/1.1\r\n\r\n", &mut out);
    p.close(2, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn buffer_limit_is_counted() {
    let limits = Limits { max_buffer_bytes: 512, ..Limits::default() };
    let (out, mut p) = replay(HASSH, &limits);
    assert_eq!(out.len(), 1);
    assert!(ssh(&out[0]).hassh.is_none(), "the KEXINIT did not fit");
    assert!(ssh(&out[0]).client.banner.is_some());
    assert!(p.take_counters().limit_hits >= 1);
}

#[test]
fn gap_before_newkeys_stops_the_side() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    let segs = segments(HASSH);
    p.data(segs[0].0, 1, segs[0].1, &mut out);
    p.gap(Dir::ToServer, 100);
    for (dir, b) in &segs[1..] {
        p.data(*dir, 2, b, &mut out);
    }
    p.close(3, &mut out);
    let s = ssh(&out[0]);
    assert!(s.hassh.is_none() && s.hassh_server.is_some());
    assert!(out[0].notes.iter().any(|n| n.contains("missing")));
    assert_eq!(out[0].auth, None, "the client never reached NEWKEYS");
}

#[test]
fn ssh1_is_not_malformed() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, b"SSH-1.99-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2\n", &mut out);
    p.data(Dir::ToServer, 2, b"SSH-1.5-OpenSSH_6.2\n", &mut out);
    p.data(Dir::ToClient, 3, &[0, 0, 1, 4, 0, 0, 0, 0, 0, 2], &mut out);
    p.close(4, &mut out);
    assert_eq!(ssh(&out[0]).client.version.as_deref(), Some("1.5"));
    assert_eq!(p.take_counters().malformed, 0);
}

#[test]
fn probe_takes_banners_either_way() {
    let probe = PROTOCOL.probe;
    assert!(probe(Transport::Tcp, Dir::ToServer, b"SSH-2.0-OpenSSH_9.2p1\r\n"));
    assert!(probe(Transport::Tcp, Dir::ToClient, b"SSH-1.99-x\n"));
    assert!(probe(Transport::Tcp, Dir::ToClient, b"SS"));
    assert!(!probe(Transport::Tcp, Dir::ToServer, b"GET / HTTP/1.1\r\n"));
    assert!(!probe(Transport::Udp, Dir::ToServer, b"SSH-2.0-x\r\n"));
}

/// sshd-logins.pcap, connection 0: Debian's OpenSSH 9.2 accepting a key and running a command.
const SSHD_SUCCESS: &[u8] = include_bytes!("../../../tests/data/ssh/sshd-success.segments");

#[test]
fn accepted_key_is_a_success() {
    let (out, _) = replay(SSHD_SUCCESS, &Limits::default());
    assert_eq!(out.len(), 1);
    let s = ssh(&out[0]);
    assert_eq!(out[0].auth, Some(Outcome::Success));
    assert_eq!(out[0].outcome, Outcome::Success);
    assert_eq!(s.auth_attempts, Some(2), "none, then the key");
    assert_eq!(s.client.comments.as_deref(), Some("Debian-2+deb12u10"));
    let n = s.negotiated.as_ref().unwrap();
    assert_eq!(n.host_key.as_deref(), Some("ssh-ed25519"));
    assert_eq!(n.cipher_c2s.as_deref(), Some("chacha20-poly1305@openssh.com"));
}
