//! FTP parser and session, on bytes cut from corpus captures (zeek-ftp-ipv4.pcap: a NetBSD
//! ftpd; sv-ftp-epsv.pcap) and vsftpd's reply texts.

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, Transport, Txn};

const GREETING: &[u8] = b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n";
const USER: &[u8] = b"USER anonymous\r\n";
const R331: &[u8] = b"331 Guest login ok, type your name as password.\r\n";
const PASS: &[u8] = b"PASS test\r\n";
const R230: &[u8] = b"230-\r\n    EXPORT NOTICE\r\n    \r\n230 Guest login ok, access restrictions apply.\r\n";
const PASV: &[u8] = b"PASV\r\n";
const R227: &[u8] = b"227 Entering Passive Mode (199,233,217,249,221,91)\r\n";
const RETR: &[u8] = b"RETR robots.txt\r\n";
const R150: &[u8] =
    b"150 Opening BINARY mode data connection for 'robots.txt' (77 bytes).\r\n";
const R226: &[u8] = b"226 Transfer complete.\r\n";
const PORT: &[u8] = b"PORT 141,142,220,235,131,46\r\n";
const R200: &[u8] = b"200 PORT command successful.\r\n";

fn parser() -> FtpParser {
    let cfg = crate::proto::Protocols::default();
    let limits = Limits::default();
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 6 };
    FtpParser::new(&ctx)
}

fn ftp(t: &Txn) -> &FtpFields {
    match &t.fields {
        crate::proto::ProtoFields::Ftp(f) => &f.network_traffic.ftp,
        _ => panic!("not ftp"),
    }
}

fn fields(t: &Txn) -> &Fields {
    match &t.fields {
        crate::proto::ProtoFields::Ftp(f) => f,
        _ => panic!("not ftp"),
    }
}

#[test]
fn every_prefix_is_incomplete_not_malformed() {
    for msg in [USER, PASS, PASV, RETR, PORT] {
        for n in 0..msg.len() {
            assert_eq!(parse_command(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert_eq!(parse_command(msg).map(|r| r.1), Ok(msg.len()));
    }
    for msg in [GREETING, R331, R230, R227, R150, R226] {
        for n in 0..msg.len() {
            assert_eq!(parse_reply(&msg[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert_eq!(parse_reply(msg).map(|r| r.1), Ok(msg.len()));
    }
    let (r, _) = parse_reply(R230).unwrap();
    assert_eq!((r.code, r.multiline), (230, true));
    assert!(r.text.contains("EXPORT NOTICE"));
    assert_eq!(parse_command(RETR).unwrap().0.args, "robots.txt");
    assert!(matches!(parse_reply(b"HTTP/1.1 200 OK\r\n"), Err(ParseError::Malformed(_))));
    assert!(matches!(parse_command(b"\x16\x03\x01\x02"), Err(ParseError::Malformed(_))));
}

#[test]
fn a_session_pairs_commands_with_final_replies_across_segments() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, GREETING, &mut out);
    p.data(Dir::ToServer, 2, &USER[..5], &mut out);
    p.data(Dir::ToServer, 3, &USER[5..], &mut out);
    p.data(Dir::ToClient, 4, R331, &mut out);
    p.data(Dir::ToServer, 5, PASS, &mut out);
    p.data(Dir::ToClient, 6, &R230[..10], &mut out);
    p.data(Dir::ToClient, 7, &R230[10..], &mut out);
    p.data(Dir::ToServer, 8, PASV, &mut out);
    p.data(Dir::ToClient, 9, R227, &mut out);
    p.data(Dir::ToServer, 10, RETR, &mut out);
    p.data(Dir::ToClient, 11, R150, &mut out);
    p.data(Dir::ToClient, 12, R226, &mut out);
    p.data(Dir::ToServer, 13, PORT, &mut out);
    p.data(Dir::ToClient, 14, R200, &mut out);
    assert_eq!(out.len(), 6);
    assert_eq!(ftp(&out[0]).reply_code, Some(220));
    assert!(out[0].notes.is_empty(), "the greeting is no anomaly");
    let user = &out[1];
    assert_eq!(user.method.as_deref(), Some("USER"));
    assert_eq!(fields(user).user.as_ref().unwrap().name, "anonymous");
    assert_eq!((user.start_ns, user.end_ns), (2, Some(4)));
    let pass = &out[2];
    assert!(ftp(pass).password_sent);
    assert_eq!(ftp(pass).arguments, None, "the password is never kept");
    assert!(!format!("{pass:?}").contains("test"), "no password anywhere");
    assert_eq!(pass.auth, Some(Outcome::Success));
    let pasv = ftp(&out[3]).data.clone().unwrap();
    assert_eq!((pasv.ip.as_deref(), pasv.port, pasv.passive), (Some("199.233.217.249"), 56667, true));
    let retr = &out[4];
    assert_eq!(ftp(retr).preliminary_codes, vec![150]);
    assert_eq!(ftp(retr).reply_code, Some(226));
    let file = fields(retr).file.as_ref().unwrap();
    assert_eq!((file.name.as_str(), file.size), ("robots.txt", Some(77)));
    assert_eq!(retr.outcome, Outcome::Success);
    let port = ftp(&out[5]).data.clone().unwrap();
    assert_eq!((port.ip.as_deref(), port.port, port.passive), (Some("141.142.220.235"), 33582, false));
    assert_eq!(p.take_counters().messages, 12);
}

#[test]
fn a_refused_login_is_a_failure() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"USER bob\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"331 Please specify the password.\r\n", &mut out);
    p.data(Dir::ToServer, 3, b"PASS hunter2\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"530 Login incorrect.\r\n", &mut out);
    assert_eq!(out[1].auth, Some(Outcome::Failure));
    assert_eq!(out[1].outcome, Outcome::Failure);
    assert!(!format!("{:?}", out[1]).contains("hunter2"));
}

#[test]
fn epsv_eprt_and_auth_tls() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"EPSV\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"229 Entering Extended Passive Mode (|||40001|)\r\n", &mut out);
    p.data(Dir::ToServer, 3, b"EPRT |2|::1|40002|\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"200 EPRT command successful.\r\n", &mut out);
    let d = ftp(&out[0]).data.clone().unwrap();
    assert_eq!((d.ip, d.port, d.passive), (None, 40001, true));
    let d = ftp(&out[1]).data.clone().unwrap();
    assert_eq!((d.ip.as_deref(), d.port, d.passive), (Some("::1"), 40002, false));
    assert_eq!(p.handoff(), None);
    p.data(Dir::ToServer, 5, b"AUTH TLS\r\n", &mut out);
    p.data(Dir::ToClient, 6, b"234 Proceed with negotiation.\r\n", &mut out);
    assert_eq!(p.handoff(), Some(crate::proto::Handoff::Switched));
}

#[test]
fn broken_input_is_counted_not_a_panic_and_limits_hold() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"\x00\x01garbage\r\nNOOP\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"xyz\r\n200 NOOP ok.\r\n", &mut out);
    assert_eq!(out.len(), 1, "resynchronised at the next line");
    assert_eq!(ftp(&out[0]).command.as_deref(), Some("NOOP"));
    let c = p.take_counters();
    assert_eq!(c.malformed, 2);
    let cfg = crate::proto::Protocols::default();
    let limits = Limits { max_buffer_bytes: 64, max_pending: 2, ..Limits::default() };
    let ctx =
        ParserContext { config: &cfg, limits: &limits, transport: Transport::Tcp, ip_proto: 6 };
    let mut p = FtpParser::new(&ctx);
    p.data(Dir::ToServer, 1, b"STOR ", &mut out);
    p.data(Dir::ToServer, 1, &[b'a'; 100], &mut out);
    p.data(Dir::ToServer, 2, b"AAAA\r\nNOOP\r\nNOOP\r\nNOOP\r\n", &mut out);
    let c = p.take_counters();
    assert_eq!(c.limit_hits, 2, "an overlong line and a third pending command");
    p.tick(i64::MAX / 2, &mut out);
    let mut rest = Vec::new();
    p.close(0, &mut rest);
    assert!(rest.is_empty(), "timed out commands were published by tick");
    for n in 0..=R230.len() {
        let mut p = parser();
        p.data(Dir::ToClient, 1, &R230[n..], &mut out);
        p.data(Dir::ToServer, 1, &RETR[n.min(RETR.len())..], &mut out);
    }
}

#[test]
fn the_probe_knows_ftp_greetings_not_smtp_ones() {
    let probe = PROTOCOL.probe;
    assert!(probe(Transport::Tcp, Dir::ToClient, GREETING));
    assert!(probe(Transport::Tcp, Dir::ToClient, b"220 (vsFTPd 3.0.3)\r\n"));
    assert!(!probe(Transport::Tcp, Dir::ToClient, b"220 mail.example.org ESMTP Postfix\r\n"));
    assert!(probe(Transport::Tcp, Dir::ToServer, b"AUTH TLS\r\n"));
    assert!(!probe(Transport::Tcp, Dir::ToServer, b"USER bob\r\n"));
}

#[test]
fn size_in_text_after_a_multibyte_character() {
    assert_eq!(super::parser::size_in_text("Opening (é427 bytes)"), Some(427));
    assert_eq!(super::parser::size_in_text("successfull\u{fffd}   \u{fffd}427 bytes"), Some(427));
    assert_eq!(super::parser::size_in_text("no digits \u{fffd} bytes"), None);
}
