//! SMTP parser and session on real bytes: the AUTH LOGIN session of zeek `smtp.pcap` (Exim,
//! stream 0), the pipelined envelope and BDAT of suricata-verify `smtp-rset` (Postfix), and the
//! STARTTLS of zeek `tls/smtp-starttls.pcap` (Google).

use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, Protocols, Transport, Txn};

const GREETING: &[u8] = b"220-xc90.websitewelcome.com ESMTP Exim 4.69 #1 Mon, 05 Oct 2009 01:05:54 -0500 \r\n220-We do not authorize the use of this system to transport unsolicited, \r\n220 and/or bulk e-mail.\r\n";
const EHLO_REPLY: &[u8] = b"250-xc90.websitewelcome.com Hello GP [122.162.143.157]\r\n250-SIZE 52428800\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 HELP\r\n";
const PASSWORD_B64: &[u8] = b"cHVuamFiQDEyMw==\r\n";
/// The first segment of the message (headers) and the last one (its end).
const BODY_HEAD: &[u8] = b"From: \"Gurpartap Singh\" <gurpartap@patriots.in>\r\nTo: <raj_deol2002in@yahoo.co.in>\r\nSubject: SMTP\r\nDate: Mon, 5 Oct 2009 11:36:07 +0530\r\nMessage-ID: <000301ca4581$ef9e57f0$cedb07d0$@in>\r\nMIME-Version: 1.0\r\n\r\nHello\r\n";
const BODY_END: &[u8] = b"04_01CA45B0.095693F0--\r\n\r\n.\r\n";

/// zeek smtp.pcap stream 0, in capture order.
fn exim_session() -> Vec<(Dir, &'static [u8])> {
    use Dir::{ToClient as S, ToServer as C};
    vec![
        (S, GREETING),
        (C, b"EHLO GP\r\n"),
        (S, EHLO_REPLY),
        (C, b"AUTH LOGIN\r\n"),
        (S, b"334 VXNlcm5hbWU6\r\n"),
        (C, b"Z3VycGFydGFwQHBhdHJpb3RzLmlu\r\n"),
        (S, b"334 UGFzc3dvcmQ6\r\n"),
        (C, PASSWORD_B64),
        (S, b"235 Authentication succeeded\r\n"),
        (C, b"MAIL FROM: <gurpartap@patriots.in>\r\n"),
        (S, b"250 OK\r\n"),
        (C, b"RCPT TO: <raj_deol2002in@yahoo.co.in>\r\n"),
        (S, b"250 Accepted\r\n"),
        (C, b"DATA\r\n"),
        (S, b"354 Enter message, ending with \".\" on a line by itself\r\n"),
        (C, BODY_HEAD),
        (C, BODY_END),
        (S, b"250 OK id=1Mugho-0003Dg-Un\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 xc90.websitewelcome.com closing connection\r\n"),
    ]
}

fn parser_with(limits: &Limits) -> SmtpParser {
    let cfg = Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    SmtpParser::new(&ctx)
}

fn parser() -> SmtpParser {
    parser_with(&Limits::default())
}

fn fields(t: &Txn) -> &Fields {
    match &t.fields {
        crate::proto::ProtoFields::Smtp(f) => f,
        _ => panic!("not smtp"),
    }
}

fn run(p: &mut SmtpParser, segs: &[(Dir, &[u8])], split: usize) -> Vec<Txn> {
    let mut out = Vec::new();
    for (i, (d, b)) in segs.iter().enumerate() {
        let ts = (i as i64 + 1) * 1000;
        if split > 0 && b.len() > split {
            let (a, c) = b.split_at(split);
            p.data(*d, ts, a, &mut out);
            p.data(*d, ts, c, &mut out);
        } else {
            p.data(*d, ts, b, &mut out);
        }
    }
    p.close(1_000_000, &mut out);
    out
}

#[test]
fn every_prefix_of_a_reply_or_line_is_incomplete() {
    for n in 0..GREETING.len() {
        assert_eq!(parse_reply(&GREETING[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (r, used) = parse_reply(GREETING).unwrap();
    assert_eq!((r.code, used, r.more.len()), (220, GREETING.len(), 2));
    let (r, _) = parse_reply(EHLO_REPLY).unwrap();
    assert_eq!(r.text, "xc90.websitewelcome.com Hello GP [122.162.143.157]");
    let cmd = b"MAIL FROM: <gurpartap@patriots.in>\r\n";
    for n in 0..cmd.len() {
        assert_eq!(line(&cmd[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    let (l, _) = line(cmd).unwrap();
    let c = parse_command(l).unwrap();
    assert_eq!(c.verb, "MAIL");
    assert_eq!(path_address(&c.args).as_deref(), Some("gurpartap@patriots.in"));
    assert_eq!(path_address("FROM:<>"), None);
    assert!(matches!(parse_reply(b"hello\r\n"), Err(ParseError::Malformed(_))));
    assert!(matches!(parse_command(b"\x16\x03\x01\x02"), Err(ParseError::Malformed(_))));
}

#[test]
fn exim_session_pairs_commands_and_hides_the_password() {
    for split in [0, 1, 3, 7] {
        let mut p = parser();
        let out = run(&mut p, &exim_session(), split);
        let methods: Vec<Option<&str>> = out.iter().map(|t| t.method.as_deref()).collect();
        assert_eq!(
            methods,
            [None, Some("EHLO"), Some("AUTH"), Some("MAIL"), Some("RCPT"), Some("DATA"), Some("QUIT")],
            "split {split}"
        );
        let greeting = fields(&out[0]);
        assert!(greeting.network_traffic.smtp.greeting);
        assert_eq!(out[0].server_domain.as_deref(), Some("xc90.websitewelcome.com"));
        let ehlo = &fields(&out[1]).network_traffic.smtp;
        assert_eq!(ehlo.extensions, ["SIZE", "PIPELINING", "AUTH", "STARTTLS", "HELP"]);
        let auth = &out[2];
        assert_eq!(auth.auth, Some(Outcome::Success));
        assert_eq!(fields(auth).user.as_ref().map(|u| u.name.as_str()), Some("gurpartap@patriots.in"));
        assert_eq!(fields(auth).network_traffic.smtp.auth_challenges, Some(2));
        let data = &out[5];
        let f = fields(data);
        let email = f.email.as_ref().unwrap();
        assert_eq!(email.from.as_ref().unwrap().address, ["gurpartap@patriots.in"]);
        assert_eq!(email.to.as_ref().unwrap().address, ["raj_deol2002in@yahoo.co.in"]);
        assert_eq!(email.subject.as_deref(), Some("SMTP"));
        assert_eq!(email.message_id.as_deref(), Some("<000301ca4581$ef9e57f0$cedb07d0$@in>"));
        let body = (BODY_HEAD.len() + BODY_END.len() - 3) as u64;
        assert_eq!(f.network_traffic.smtp.message_bytes, Some(body));
        assert_eq!(f.network_traffic.smtp.intermediate_code, Some(354));
        assert_eq!(f.network_traffic.smtp.response.as_ref().unwrap().code, 250);
        assert!(data.end_ns.unwrap() > data.start_ns);
        for t in &out {
            let json = serde_json::to_string(&t.fields).unwrap();
            assert!(!json.contains("cHVuamFi") && !json.contains("punjab"), "{json}");
            assert!(t.query.as_deref().is_none_or(|q| !q.contains("cHVuamFi")));
        }
        let c = p.take_counters();
        assert_eq!((c.malformed, c.unmatched, c.limit_hits), (0, 0, 0));
    }
}

#[test]
fn refused_login_is_a_failure() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, GREETING, &mut out);
    // AUTH PLAIN with an initial response ("\0gurpartap\0secret"), refused.
    p.data(Dir::ToServer, 2, b"AUTH PLAIN AGd1cnBhcnRhcABzZWNyZXQ=\r\n", &mut out);
    p.data(Dir::ToClient, 3, b"535 Incorrect authentication data\r\n", &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].auth, Some(Outcome::Failure));
    assert_eq!(out[1].outcome, Outcome::Failure);
    assert_eq!(out[1].query.as_deref(), Some("AUTH PLAIN"));
    assert_eq!(fields(&out[1]).user.as_ref().unwrap().name, "gurpartap");
}

/// suricata-verify smtp-rset: MAIL and RCPT pipelined in one segment, their replies in one,
/// then `BDAT 11 LAST` and its chunk in separate segments.
#[test]
fn pipelined_envelope_and_bdat_chunk() {
    use Dir::{ToClient as S, ToServer as C};
    let segs: Vec<(Dir, &[u8])> = vec![
        (S, b"220 MacBook-Air.localdomain ESMTP Postfix\r\n"),
        (C, b"EHLO ehlo.fr\r\n"),
        (S, b"250-MacBook-Air.localdomain\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
        (C, b"MAIL FROM:<username@domain.com>\r\nRCPT TO:<john.doe@example.com>\r\n"),
        (S, b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        (C, b"BDAT 11 LAST\r\n"),
        (C, b"Message 1\r\n"),
        (S, b"250 2.0.0 Ok: 11 bytes queued as 9FE18201AAA610\r\n"),
        (C, b"RSET\r\n"),
        (S, b"250 2.0.0 Ok\r\n"),
    ];
    let mut p = parser();
    let out = run(&mut p, &segs, 0);
    let q: Vec<&str> = out.iter().filter_map(|t| t.query.as_deref()).collect();
    assert_eq!(q, ["EHLO ehlo.fr", "MAIL FROM:<username@domain.com>", "RCPT TO:<john.doe@example.com>", "BDAT 11 LAST", "RSET"]);
    let bdat = fields(&out[4]);
    assert_eq!(bdat.network_traffic.smtp.message_bytes, Some(11));
    assert_eq!(bdat.network_traffic.smtp.chunks, Some(1));
    assert_eq!(bdat.email.as_ref().unwrap().to.as_ref().unwrap().address, ["john.doe@example.com"]);
    assert_eq!(out[4].client_bytes, 14 + 11);
}

#[test]
fn starttls_accepted_hands_over_once() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, b"220 mx.google.com ESMTP hf10si4097299icc.190 - gsmtp\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"EHLO openssl.client.net\r\n", &mut out);
    p.data(Dir::ToClient, 3, b"250-mx.google.com at your service, [192.150.187.237]\r\n250-STARTTLS\r\n250 CHUNKING\r\n", &mut out);
    assert_eq!(p.handoff(), None);
    p.data(Dir::ToServer, 4, b"STARTTLS\r\n", &mut out);
    assert_eq!(p.handoff(), None, "not before the reply");
    p.data(Dir::ToClient, 5, b"220 2.0.0 Ready to start TLS\r\n", &mut out);
    assert_eq!(p.handoff(), Some(crate::proto::Handoff::Switched));
    assert_eq!(p.handoff(), None, "once");
    assert_eq!(out.last().unwrap().method.as_deref(), Some("STARTTLS"));
    // A refused STARTTLS keeps parsing SMTP.
    let mut p = parser();
    p.data(Dir::ToServer, 1, b"STARTTLS\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"454 4.7.0 TLS not available\r\n", &mut out);
    assert_eq!(p.handoff(), None);
    p.data(Dir::ToServer, 3, b"QUIT\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"221 Bye\r\n", &mut out);
    assert_eq!(out.last().unwrap().method.as_deref(), Some("QUIT"));
}

#[test]
fn refused_data_takes_the_next_lines_as_commands() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"DATA\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"554 5.5.1 Error: no valid recipients\r\n", &mut out);
    p.data(Dir::ToServer, 3, b"RSET\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"250 2.0.0 Ok\r\n", &mut out);
    let m: Vec<_> = out.iter().map(|t| (t.method.clone(), t.outcome)).collect();
    assert_eq!(m, [(Some("DATA".into()), Outcome::Failure), (Some("RSET".into()), Outcome::Success)]);
}

#[test]
fn garbage_and_limits_are_counted_not_panics() {
    let limits = Limits { max_buffer_bytes: 64, max_pending: 2, ..Limits::default() };
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, b"\x16\x03\x01\x00\x05hello\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"\x00\x01\x02\r\nNOOP\r\nNOOP\r\nNOOP\r\n", &mut out);
    p.data(Dir::ToServer, 3, &[b'A'; 100], &mut out);
    let c = p.take_counters();
    assert!(c.malformed >= 2, "{c:?}");
    assert!(c.limit_hits >= 2, "{c:?}");
    assert_eq!(out.len(), 1, "the oldest NOOP is published when a third is pending");
    for n in [0usize, 1, 5, 17] {
        let mut p = parser();
        let bytes: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(31).wrapping_add(n as u32)) as u8).collect();
        p.data(Dir::ToServer, 1, &bytes, &mut out);
        p.data(Dir::ToClient, 2, &bytes, &mut out);
        p.gap(Dir::ToServer, 10);
        p.close(3, &mut out);
    }
}

/// A binary stream on an SMTP port (the bench capture's rewritten ports put some on 25): its
/// line breaks are not SMTP lines. After `MAX_BAD_LINES` malformed lines in a row the flow is
/// given up on, so it counts a few malformed messages, not one per line; a few bad lines
/// between good ones do not give up.
#[test]
fn a_binary_stream_on_the_smtp_port_is_given_up_after_a_few_lines() {
    let mut p = parser();
    let mut out = Vec::new();
    let junk: Vec<u8> = (0..2000u32).flat_map(|i| [0x80 | (i % 97) as u8, 0x01, b'\n']).collect();
    for (i, chunk) in junk.chunks(300).enumerate() {
        p.data(Dir::ToServer, i as i64, chunk, &mut out);
        p.data(Dir::ToClient, i as i64, chunk, &mut out);
    }
    p.close(99, &mut out);
    let c = p.take_counters();
    assert_eq!(c.malformed, u64::from(super::session::MAX_BAD_LINES), "{c:?}");
    assert!(out.is_empty());

    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, b"220 mx.example ESMTP\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"\x80\x01\r\n\x81\x02\r\nEHLO c.example\r\n", &mut out);
    p.data(Dir::ToClient, 3, b"250 mx.example\r\n", &mut out);
    p.data(Dir::ToServer, 4, b"QUIT\r\n", &mut out);
    p.data(Dir::ToClient, 5, b"221 bye\r\n", &mut out);
    p.close(6, &mut out);
    assert_eq!(out.len(), 3, "greeting, EHLO and QUIT");
    assert_eq!(p.take_counters().malformed, 2);
}
