//! Unit tests on messages cut from corpus captures (`tests/data/dns/README.md` names the
//! capture and frame of each file).

use super::parser::{self, Anomaly};
use super::*;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

macro_rules! fixture {
    ($f:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dns/", $f))
    };
}

fn parser(transport: Transport, limits: Limits) -> DnsParser {
    let cfg = crate::proto::Protocols::default();
    let ctx = ParserContext { config: &cfg, limits: &limits, transport, ip_proto: 0 };
    DnsParser::new(&ctx)
}

fn dns(t: &Txn) -> &DnsFields {
    match &t.fields {
        ProtoFields::Dns(f) => &f.dns,
        _ => panic!("not a DNS transaction"),
    }
}

fn json(t: &Txn) -> serde_json::Value {
    serde_json::to_value(&t.fields).unwrap()
}

#[test]
fn cookie_query_and_badcookie_response() {
    let q = parser::parse(fixture!("badcookie-query.bin")).unwrap();
    assert!(!q.header.qr());
    assert_eq!(q.questions[0].name, ".");
    assert_eq!(q.questions[0].qtype, 6);
    let r = parser::parse(fixture!("badcookie-response.bin")).unwrap();
    assert_eq!(r.header.rcode(), 7, "header bits of BADCOOKIE");
    assert_eq!(r.rcode(), 23);
    assert!(r.anomalies.is_empty());
    let mut p = parser(Transport::Udp, Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1_000, fixture!("badcookie-query.bin"), &mut out);
    assert!(out.is_empty(), "the query waits for its response");
    p.data(Dir::ToClient, 3_000, fixture!("badcookie-response.bin"), &mut out);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!((t.start_ns, t.end_ns), (1_000, Some(3_000)));
    assert_eq!((t.client_bytes, t.server_bytes), (40, 56));
    assert_eq!(t.outcome, Outcome::Failure);
    assert_eq!(t.status, "Error");
    let d = dns(t);
    assert_eq!(d.kind, "answer");
    assert_eq!(d.id, "63147");
    assert_eq!(d.response_code, "BADCOOKIE");
    let opt = d.opt.as_ref().unwrap();
    assert_eq!(opt.ext_rcode, "BADCOOKIE");
    let cookie = opt.cookie.as_ref().unwrap();
    assert_eq!(cookie.client, "36bf111fef2e0109");
    assert_eq!(cookie.server.as_deref(), Some("7d8ffe065c636ffb142d767494407a73"));
    let req = d.request.as_ref().unwrap();
    assert_eq!(req.response_code, "NOERROR");
    assert_eq!(req.header_flags, ["RD", "AD"]);
    assert!(req.opt.as_ref().unwrap().cookie.as_ref().unwrap().server.is_none());
    assert!(t.related_hosts.is_empty(), "the root is not a host");
    let c = p.take_counters();
    assert_eq!((c.messages, c.malformed, c.unmatched), (2, 0, 0));
}

#[test]
fn edns_client_subnet_and_do_bit() {
    let m = parser::parse(fixture!("ecs-query.bin")).unwrap();
    let opt = m.opt.as_ref().unwrap();
    assert!(opt.dnssec_ok);
    assert_eq!(opt.udp_size, 4096);
    assert_eq!(opt.version, 0);
    assert_eq!(opt.codes, [8]);
    assert!(m.anomalies.is_empty());
    assert_eq!(header_flags(&m), ["CD", "DO"]);
    let f = opt_fields(&m).unwrap();
    assert_eq!(f.subnet.as_deref(), Some("2001:470:1f0b:1600::/56/0"));
    assert_eq!(f.options, ["ECS"]);
    assert_eq!(m.additionals.len(), 0, "OPT is not an additional record");
}

#[test]
fn record_types_render_like_dig_and_packetbeat() {
    let m = parser::parse(fixture!("https-response.bin")).unwrap();
    assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
    assert_eq!(
        m.answers[0].data.data,
        "1 . alpn=\"h3,h2\" ipv4hint=104.18.10.118,104.18.11.118 \
         ech=\"AEX+DQBBdAAgACDB6UNjy9kyv48V6cEOb99HnrfJuiTGKjW9A05sDxhcKQAEAAEAAQASY2xvdWRmbGFyZS1lY2guY29tAAA=\" \
         ipv6hint=2606:4700::6812:a76,2606:4700::6812:b76"
    );
    let m = parser::parse(fixture!("loc-response.bin")).unwrap();
    assert_eq!(m.answers[0].data.data, "37 22 26.000 N 121 59 28.000 W 0.00m 1m 1000m 10m");
    let sig = &m.answers[1].data;
    assert!(sig.extra.contains(&("type_covered", rdata::Extra::Str("LOC".into()))));
    let m = parser::parse(fixture!("uri-response.bin")).unwrap();
    assert_eq!(m.answers[0].data.data, "10 5 \"http://www.dns.test:8000\"");
    let m = parser::parse(fixture!("rrsig-response.bin")).unwrap();
    assert_eq!(m.answers[0].data.data, "194.63.248.47");
    let sig = &m.answers[1].data;
    assert!(sig.extra.contains(&("algorithm", rdata::Extra::Str("ED25519".into()))));
    assert!(sig.extra.contains(&("signer_name", rdata::Extra::Str("ed25519.no".into()))));
    let v = serde_json::to_value(rdata::RecordJson(&m.answers[1])).unwrap();
    assert_eq!(v["type"], "RRSIG");
    assert_eq!(v["labels"], 2);
    assert_eq!(v["expiration"].as_str().unwrap().len(), 14);
}

#[test]
fn update_and_mdns_messages() {
    let m = parser::parse(fixture!("update-query.bin")).unwrap();
    assert_eq!(m.header.opcode(), 5);
    assert!(m.anomalies.is_empty(), "deletes without RDATA are valid: {:?}", m.anomalies);
    assert_eq!(m.additionals[0].rtype, 250);
    assert_eq!(m.additionals[0].data.data, "gss-tsig");
    let m = parser::parse(fixture!("mdns-4-questions.bin")).unwrap();
    assert_eq!(m.questions.len(), 4);
    assert_eq!(m.questions[1].name, "johanna-QEMU-Virtual-Machine.local");
    let r = parser::parse(fixture!("mdns-response.bin")).unwrap();
    assert!(r.questions.is_empty());
    assert_eq!(r.answers.len(), 6);
    assert!(r.answers.iter().any(|a| a.class & 0x8000 != 0), "cache-flush bit");
    assert_eq!(names::class_name(r.answers[0].class), "IN");
    // An mDNS announcement (id 0, no question) is not an answer to a pending id-0 query.
    let mut p = parser(Transport::Udp, Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, fixture!("mdns-4-questions.bin"), &mut out);
    p.data(Dir::ToServer, 2, fixture!("mdns-response.bin"), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].notes, ["response without a query"]);
    assert_eq!(dns(&out[0]).resolved_ip.len(), 3);
    p.close(3, &mut out);
    assert_eq!(out.len(), 2);
    let q = json(&out[1]);
    assert_eq!(q["dns"]["type"], "query");
    assert_eq!(q["dns"]["questions"].as_array().unwrap().len(), 4);
    assert_eq!(
        q["dns"]["question"]["name"],
        "4.c.d.4.1.e.e.f.f.f.6.d.c.3.8.8.5.3.2.8.c.3.0.c.e.9.2.4.2.5.d.f.ip6.arpa"
    );
}

#[test]
fn broken_names_are_flagged_and_the_message_kept() {
    // A name that points at itself: the question is kept, flagged, with no labels.
    let m = parser::parse(fixture!("invalid-names-2.bin")).unwrap();
    assert_eq!(m.questions.len(), 1);
    assert_eq!(m.questions[0].name, "");
    assert_eq!(m.questions[0].qtype, 1);
    assert_eq!(m.anomalies.0, [Anomaly::NamePointerLoop]);
    // Names cut short: the header is reported, the question is not.
    for f in [&fixture!("invalid-names-1.bin")[..], fixture!("invalid-names-3.bin")] {
        let m = parser::parse(f).unwrap();
        assert!(m.questions.is_empty());
        assert_eq!(m.anomalies.0, [Anomaly::Truncated]);
    }
    // SNMP on port 53: header only, the name points outside the message.
    let m = parser::parse(fixture!("junk-query.bin")).unwrap();
    assert_eq!(m.header.id, 0x3040);
    assert!(m.questions.is_empty());
    assert_eq!(m.anomalies.0, [Anomaly::NameBadPointer]);
    // The event still goes out, with the anomaly and a reason.
    let mut p = parser(Transport::Udp, Limits::default());
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, fixture!("invalid-names-2.bin"), &mut out);
    p.close(2, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(dns(&out[0]).anomalies, ["name_pointer_loop"]);
    assert!(out[0].notes.iter().any(|n| n.contains("pointers loop")));
    assert_eq!(p.take_counters().malformed, 1);
}

#[test]
fn malformed_rdata_and_short_sections_are_flagged() {
    let m = parser::parse(fixture!("svcb-malformed.bin")).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert!(m.answers[0].data.malformed);
    assert_eq!(m.answers[0].data.data, "00010000010006026832086833");
    assert_eq!(m.anomalies.0, [Anomaly::RdataMalformed]);
    let m = parser::parse(fixture!("corrupt-additionals.bin")).unwrap();
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.answers[1].data.data, "sip-anycast-1.voice.google.com");
    assert_eq!(m.anomalies.0, [Anomaly::Truncated]);
}

#[test]
fn every_prefix_is_incomplete_or_flagged_never_lost() {
    // TCP: every prefix of a framed message is Incomplete, never Malformed.
    let stream = fixture!("tcp-response-id0.bin");
    for n in 0..stream.len() {
        assert_eq!(parser::frame(&stream[..n]), Err(ParseError::Incomplete), "prefix {n}");
    }
    assert!(parser::frame(stream).is_ok());
    // UDP (a datagram cut by the snaplen): shorter than a header is Malformed, anything longer
    // is reported with its header and flagged.
    let msg = fixture!("loc-response.bin");
    for n in 0..msg.len() {
        match parser::parse(&msg[..n]) {
            Err(ParseError::Malformed(_)) => assert!(n < parser::HEADER_LEN),
            Err(ParseError::Incomplete) => panic!("a datagram is never incomplete"),
            Ok(m) => {
                assert!(n >= parser::HEADER_LEN);
                assert_eq!(m.header.id, 33295);
                assert!(!m.anomalies.is_empty(), "prefix {n} not flagged");
            }
        }
    }
    assert!(parser::parse(msg).unwrap().anomalies.is_empty());
}

#[test]
fn tcp_messages_split_at_every_byte_and_several_per_segment() {
    let queries = fixture!("tcp-20-queries.bin");
    let response = fixture!("tcp-response-id0.bin");
    for split in 1..queries.len() {
        let mut p = parser(Transport::Tcp, Limits::default());
        let mut out = Vec::new();
        p.data(Dir::ToServer, 1, &queries[..split], &mut out);
        p.data(Dir::ToServer, 2, &queries[split..], &mut out);
        p.data(Dir::ToClient, 3, response, &mut out);
        assert_eq!(out.len(), 1, "split {split}");
        let d = dns(&out[0]);
        assert_eq!(d.id, "0");
        assert_eq!(d.response_code, "NXDOMAIN");
        assert_eq!(d.question.as_ref().unwrap().name, "0.google.com");
        assert_eq!(out[0].client_bytes, 32, "first query with its length prefix");
        p.close(4, &mut out);
        assert_eq!(out.len(), 20, "split {split}: the 19 unanswered queries");
        assert_eq!(p.take_counters().messages, 21);
    }
}

#[test]
fn tcp_buffer_limit_and_resync_after_a_gap() {
    let limits = Limits { max_buffer_bytes: 40, ..Limits::default() };
    let mut p = parser(Transport::Tcp, limits);
    let mut out = Vec::new();
    // A message announced as 1000 bytes: more than the buffer may hold.
    let mut big = vec![0x03, 0xe8];
    big.extend_from_slice(&[0u8; 60]);
    p.data(Dir::ToServer, 1, &big, &mut out);
    assert_eq!(p.take_counters().limit_hits, 1);
    // The rest of that message is ignored; a segment that starts a message resyncs.
    p.data(Dir::ToServer, 2, &[0u8; 30], &mut out);
    let queries = fixture!("tcp-20-queries.bin");
    p.data(Dir::ToServer, 3, &queries[..32], &mut out);
    p.data(Dir::ToClient, 4, fixture!("tcp-response-id0.bin"), &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].end_ns.is_some());
    // Lost bytes in the middle of a message: the partial message is dropped.
    p.data(Dir::ToServer, 5, &queries[32..50], &mut out);
    p.gap(Dir::ToServer, 10);
    p.data(Dir::ToServer, 6, &queries[60..64], &mut out);
    p.close(7, &mut out);
    assert_eq!(out.len(), 1, "nothing made up from the damaged stream");
}

#[test]
fn pairing_by_id_and_question_with_limits_and_timeout() {
    // Build queries and responses by editing the id of a real pair.
    let q0 = fixture!("badcookie-query.bin");
    let r0 = fixture!("badcookie-response.bin");
    let with_id = |m: &[u8], id: u16| {
        let mut v = m.to_vec();
        v[..2].copy_from_slice(&id.to_be_bytes());
        v
    };
    let limits = Limits { max_pending: 3, transaction_timeout_ns: 100, ..Limits::default() };
    let mut p = parser(Transport::Udp, limits);
    let mut out = Vec::new();
    for id in 1..=3 {
        p.data(Dir::ToServer, i64::from(id), &with_id(q0, id), &mut out);
    }
    // Answered out of order.
    p.data(Dir::ToClient, 10, &with_id(r0, 2), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(dns(&out[0]).id, "2");
    // Same id, other question: not an answer.
    let mut other = with_id(r0, 1);
    other[13..15].copy_from_slice(&[0, 1]); // qtype A instead of SOA
    p.data(Dir::ToClient, 11, &other, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].notes[0], "response without a query");
    // The pending limit: a fourth and fifth query push the oldest out.
    p.data(Dir::ToServer, 12, &with_id(q0, 4), &mut out);
    p.data(Dir::ToServer, 13, &with_id(q0, 5), &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(dns(&out[2]).id, "1");
    assert!(out[2].notes[0].contains("pending-query limit"));
    // A retransmitted query closes the first copy.
    p.data(Dir::ToServer, 14, &with_id(q0, 5), &mut out);
    assert_eq!(out.len(), 4);
    assert!(out[3].notes[0].contains("sent again"));
    // Timeout on packet time.
    p.tick(50, &mut out);
    assert_eq!(out.len(), 4);
    p.tick(150, &mut out);
    assert_eq!(out.len(), 7, "ids 3, 4 and 5 time out");
    assert!(out[4..].iter().all(|t| t.notes[0].contains("transaction timeout")));
    assert!(out[4..].iter().all(|t| dns(t).kind == "query" && t.outcome == Outcome::Unknown));
    let c = p.take_counters();
    assert_eq!(c.limit_hits, 1);
    assert_eq!(c.unmatched, 6);
}

#[test]
fn question_domain_parts() {
    let p = |n: &str| domain_parts(n);
    assert_eq!(
        p("www.example.co.uk"),
        (Some("example.co.uk".into()), Some("www".into()), Some("co.uk".into()))
    );
    assert_eq!(p("Example.COM"), (Some("example.com".into()), None, Some("com".into())));
    assert_eq!(p("com"), (None, None, Some("com".into())));
    assert_eq!(p("wpad"), (None, None, None), "a single unknown label");
    assert_eq!(p("."), (None, None, None));
    assert_eq!(p("a\\000.example.com"), (None, None, None));
    assert_eq!(
        p("_ipp._tcp.local"),
        (Some("_tcp.local".into()), Some("_ipp".into()), Some("local".into()))
    );
}

/// Deterministic garbage and mutations of real messages: no panic, bounded output.
#[test]
fn garbage_and_mutations_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let samples: [&[u8]; 6] = [
        fixture!("https-response.bin"),
        fixture!("loc-response.bin"),
        fixture!("rrsig-response.bin"),
        fixture!("update-query.bin"),
        fixture!("mdns-response.bin"),
        fixture!("ecs-query.bin"),
    ];
    let mut p = parser(Transport::Udp, Limits::default());
    let mut tcp = parser(Transport::Tcp, Limits::default());
    let mut out = Vec::new();
    for i in 0..20_000u64 {
        let base = samples[(i % samples.len() as u64) as usize];
        let mut m = base.to_vec();
        for _ in 0..1 + rnd() % 4 {
            let at = (rnd() as usize) % m.len();
            m[at] = rnd() as u8;
        }
        if i % 7 == 0 {
            m.truncate((rnd() as usize) % m.len());
        }
        if let Ok(msg) = parser::parse(&m) {
            for r in msg.answers.iter().chain(&msg.authorities).chain(&msg.additionals) {
                assert!(r.name.len() <= 4 * parser::MAX_NAME_TEXT);
            }
        }
        p.data(Dir::ToServer, i as i64, &m, &mut out);
        tcp.data(Dir::ToClient, i as i64, &m, &mut out);
        out.clear();
    }
    for _ in 0..2_000 {
        let len = (rnd() % 600) as usize;
        let m: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        let _ = parser::parse(&m);
        p.data(Dir::ToClient, 0, &m, &mut out);
    }
    // A message made of pointers to pointers: bounded work, flagged.
    let mut m = vec![0u8; 12];
    m[5] = 1; // one question
    for k in 0..2000u16 {
        let target = 12 + 2 * (k + 1);
        m.extend_from_slice(&(0xc000 | target).to_be_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    let msg = parser::parse(&m).unwrap();
    assert_eq!(msg.anomalies.0[0], Anomaly::NamePointerLoop);
}
