//! IMAP parser and session. Server bytes are cut from suricata-verify `tcp-async-01` (a
//! Coremail server; only the server side was captured); the client lines are those its tagged
//! completions answer (C1 CAPABILITY, C3 LOGIN, …), and the literal forms are RFC 9051's.

use super::*;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, Protocols, Transport, Txn};

const GREETING: &[u8] =
    b"* OK Coremail System IMap Server Ready(163com[b62aaa251425b4be4eaec4ab4744cf47])\r\n";
const CAPA: &[u8] = b"* CAPABILITY IMAP4rev1 XLIST SPECIAL-USE ID LITERAL+ STARTTLS XAPPLEPUSHSERVICE UIDPLUS X-CM-EXT-1\r\nC1 OK CAPABILITY completed\r\n";

fn parser_with(limits: &Limits) -> ImapParser {
    let cfg = Protocols::default();
    let ctx = ParserContext { config: &cfg, limits, transport: Transport::Tcp, ip_proto: 6 };
    ImapParser::new(&ctx)
}

fn imap(t: &Txn) -> &Fields {
    match &t.fields {
        crate::proto::ProtoFields::Imap(f) => f,
        _ => panic!("not imap"),
    }
}

#[test]
fn lines_parse_and_literals_are_found() {
    let c = parse_command(b"C3 LOGIN \"33496915@qq.com\" \"secret\"").unwrap();
    assert_eq!((c.tag.as_str(), c.name.as_str()), ("C3", "LOGIN"));
    assert_eq!(first_astring(&c.args).as_deref(), Some("33496915@qq.com"));
    assert_eq!(parse_command(b"a2 UID FETCH 1:* (FLAGS)").unwrap().name, "UID FETCH");
    assert_eq!(parse_command(b"DONE"), None);
    assert_eq!(literal_at_end(b"* 21 FETCH (UID 1320886124 BODY[] {180237}"), Some(180237));
    assert_eq!(literal_at_end(b"A003 APPEND saved-messages (\\Seen) {326+}"), Some(326));
    assert_eq!(literal_at_end(b"C7 OK [READ-WRITE] SELECT completed"), None);
    assert!(matches!(
        parse_response(b"C7 OK [READ-WRITE] SELECT completed"),
        Some(Response::Tagged { ref status, .. }) if status == "OK"
    ));
    assert!(matches!(parse_response(b"* 21 EXISTS"), Some(Response::Untagged { status: None, .. })));
    assert_eq!(parse_response(b"+ Ready for literal data"), Some(Response::Continue));
    assert_eq!(parse_response(b"\x16\x03\x01"), None);
}

#[test]
fn session_pairs_by_tag_skips_literals_and_hides_the_password() {
    for split in [0usize, 1, 5] {
        let mut p = parser_with(&Limits::default());
        let mut out = Vec::new();
        let feed = |p: &mut ImapParser, d: Dir, ts: i64, b: &[u8], out: &mut Vec<Txn>| {
            if split > 0 {
                for c in b.chunks(split) {
                    p.data(d, ts, c, out);
                }
            } else {
                p.data(d, ts, b, out);
            }
        };
        feed(&mut p, Dir::ToClient, 1, GREETING, &mut out);
        feed(&mut p, Dir::ToServer, 2, b"C1 CAPABILITY\r\n", &mut out);
        feed(&mut p, Dir::ToClient, 3, CAPA, &mut out);
        // A LOGIN whose password is a literal (RFC 9051 6.2.3 with LITERAL+).
        feed(&mut p, Dir::ToServer, 4, b"C3 LOGIN 33496915@qq.com {6+}\r\nsecret\r\n", &mut out);
        feed(&mut p, Dir::ToClient, 5, b"C3 OK LOGIN completed\r\n", &mut out);
        feed(&mut p, Dir::ToServer, 6, b"C8 UID FETCH 1320886124 BODY.PEEK[]\r\nC9 NOOP\r\n", &mut out);
        // The literal's body holds lines that look like completions: skipped by count.
        feed(
            &mut p,
            Dir::ToClient,
            7,
            b"* 21 FETCH (UID 1320886124 BODY[] {28}\r\nC9 OK fake\r\nC8 NO fake\r\n\r\n)\r\nC8 OK Fetch completed\r\n",
            &mut out,
        );
        feed(&mut p, Dir::ToClient, 8, b"C9 OK NOOP completed\r\n", &mut out);
        let m: Vec<_> = out.iter().map(|t| (t.method.clone(), t.outcome)).collect();
        assert_eq!(
            m,
            [
                (None, Outcome::Success),
                (Some("CAPABILITY".into()), Outcome::Success),
                (Some("LOGIN".into()), Outcome::Success),
                (Some("UID FETCH".into()), Outcome::Success),
                (Some("NOOP".into()), Outcome::Success),
            ],
            "split {split}"
        );
        assert!(imap(&out[0]).network_traffic.imap.greeting);
        assert_eq!(out[2].auth, Some(Outcome::Success));
        assert_eq!(imap(&out[2]).user.as_ref().unwrap().name, "33496915@qq.com");
        let fetch = &imap(&out[3]).network_traffic.imap;
        assert_eq!(fetch.literal_bytes, Some(28));
        assert_eq!(fetch.text.as_deref(), Some("Fetch completed"));
        for t in &out {
            let j = serde_json::to_string(&t.fields).unwrap();
            assert!(!j.contains("secret"), "{j}");
            assert!(t.query.as_deref().is_none_or(|q| !q.contains("secret")));
        }
        let c = p.take_counters();
        assert_eq!((c.malformed, c.unmatched), (0, 0));
    }
}

#[test]
fn refused_login_and_authenticate_and_starttls() {
    let mut p = parser_with(&Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"a1 LOGIN bob wrong\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", &mut out);
    assert_eq!(out[0].auth, Some(Outcome::Failure));
    assert_eq!(out[0].query.as_deref(), Some("LOGIN bob"));
    p.data(Dir::ToServer, 3, b"a2 AUTHENTICATE PLAIN\r\n", &mut out);
    p.data(Dir::ToClient, 4, b"+ \r\n", &mut out);
    p.data(Dir::ToServer, 5, b"AGJvYgBzZWNyZXQ=\r\n", &mut out);
    p.data(Dir::ToClient, 6, b"a2 OK Logged in\r\n", &mut out);
    assert_eq!(out[1].auth, Some(Outcome::Success));
    assert_eq!(out[1].query.as_deref(), Some("AUTHENTICATE PLAIN"));
    assert_eq!(p.take_counters().malformed, 0, "the SASL line is not a command");
    p.data(Dir::ToServer, 7, b"a3 STARTTLS\r\n", &mut out);
    assert_eq!(p.handoff(), None);
    p.data(Dir::ToClient, 8, b"a3 OK Begin TLS negotiation now.\r\n", &mut out);
    assert_eq!(p.handoff(), Some(crate::proto::Handoff::Switched));
    assert_eq!(p.handoff(), None);
}

#[test]
fn garbage_and_limits_are_counted() {
    let limits = Limits { max_buffer_bytes: 64, max_pending: 2, ..Limits::default() };
    let mut p = parser_with(&limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"a NOOP\r\nb NOOP\r\nc NOOP\r\n", &mut out);
    assert_eq!(out.len(), 1, "the oldest is published when a third is pending");
    p.data(Dir::ToServer, 2, &[b'x'; 100], &mut out);
    p.data(Dir::ToClient, 3, b"\x00\x01\r\n", &mut out);
    let c = p.take_counters();
    assert!(c.limit_hits >= 2 && c.malformed >= 1, "{c:?}");
    // A huge literal announced then a gap: no panic, the count runs down.
    p.data(Dir::ToClient, 4, b"* 1 FETCH (BODY[] {18446744073709551615}\r\n", &mut out);
    p.gap(Dir::ToClient, 1000);
    p.data(Dir::ToClient, 5, b"abc", &mut out);
    p.close(6, &mut out);
}
