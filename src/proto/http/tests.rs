//! Parser tests on connections extracted from corpus captures (`tests/data/http/`, see its
//! README for the capture and frames of each) and on hand-made edge cases.

use super::session::MAX_INTERIM;
use super::*;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ProtoFields, Transport, Txn};

type Records = Vec<(Dir, Vec<u8>)>;

/// Reads a `tests/data/http/*.stream` fixture: `dir(C|S) len(u32 BE) bytes` records.
fn load(name: &str) -> Records {
    let path = format!("{}/tests/data/http/{name}", env!("CARGO_MANIFEST_DIR"));
    let b = std::fs::read(&path).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let dir = if b[i] == b'C' { Dir::ToServer } else { Dir::ToClient };
        let n = u32::from_be_bytes(b[i + 1..i + 5].try_into().unwrap()) as usize;
        out.push((dir, b[i + 5..i + 5 + n].to_vec()));
        i += 5 + n;
    }
    out
}

fn parser_with(cfg: Config, limits: Limits) -> HttpParser {
    let protocols = crate::proto::Protocols { http: cfg, ..Default::default() };
    let ctx = ParserContext {
        config: &protocols,
        limits: &limits,
        transport: Transport::Tcp,
        ip_proto: 0,
    };
    HttpParser::new(&ctx)
}

fn parser() -> HttpParser {
    parser_with(Config::default(), Limits::default())
}

/// Feeds records (record `i` at time `i`), then closes.
fn run(p: &mut HttpParser, recs: &Records) -> Vec<Txn> {
    let mut out = Vec::new();
    for (i, (d, b)) in recs.iter().enumerate() {
        p.data(*d, i as i64, b, &mut out);
    }
    p.close(recs.len() as i64, &mut out);
    out
}

fn f(t: &Txn) -> &Fields {
    match &t.fields {
        ProtoFields::Http(f) => f,
        _ => panic!("not http"),
    }
}

fn req(t: &Txn) -> &RequestFields {
    f(t).http.request.as_ref().unwrap()
}

fn resp(t: &Txn) -> &ResponseFields {
    f(t).http.response.as_ref().unwrap()
}

fn status(t: &Txn) -> Option<u16> {
    f(t).http.response.as_ref().and_then(|r| r.status_code)
}

fn uri(t: &Txn) -> &str {
    &f(t).url.as_ref().unwrap().original
}

/// What a transaction says, for comparing runs.
fn summary(out: &[Txn]) -> Vec<String> {
    out.iter()
        .map(|t| {
            format!(
                "{} {:?} {} {}",
                serde_json::to_string(&t.fields).unwrap(),
                t.notes,
                t.client_bytes,
                t.server_bytes
            )
        })
        .collect()
}

#[test]
fn hundred_continue_is_interim_and_the_chunked_200_is_final() {
    // zeek-http-100-continue.pcap
    let mut p = parser();
    let out = run(&mut p, &load("100-continue.stream"));
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(req(t).method, "POST");
    assert_eq!(req(t).body.as_ref().unwrap().bytes, 2001);
    assert_eq!(req(t).mime_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(status(t), Some(200));
    assert_eq!(resp(t).interim_status_codes, vec![100]);
    assert_eq!(resp(t).headers.get("transfer-encoding").map(String::as_str), Some("chunked"));
    assert_eq!(resp(t).body.as_ref().unwrap().bytes, 60731);
    assert_eq!((t.client_bytes, t.server_bytes), (2222, 25 + 61077));
    assert_eq!(t.start_ns, 0);
    assert_eq!(t.end_ns, Some(3));
    assert_eq!((t.outcome, t.status), (Outcome::Success, "OK"));
    assert_eq!(t.server_domain.as_deref(), Some("www.osu.edu"));
    assert_eq!(f(t).url.as_ref().unwrap().full.as_deref(), Some("http://www.osu.edu/"));
    assert!(t.notes.is_empty(), "{:?}", t.notes);
    let c = p.take_counters();
    assert_eq!((c.messages, c.malformed, c.unmatched, c.limit_hits), (3, 0, 0, 0));
}

#[test]
fn every_split_of_real_connections_gives_the_same_transactions() {
    for name in [
        "100-continue.stream",
        "pipelined.stream",
        "basic-auth.stream",
        "desync.stream",
        "docker-head-post.stream",
        "docker-upgrade.stream",
        "connect.stream",
    ] {
        let recs = load(name);
        let whole = summary(&run(&mut parser(), &recs));
        // Byte by byte: every prefix of every message is "need more", never malformed.
        let mut p = parser();
        let mut out = Vec::new();
        for (i, (d, b)) in recs.iter().enumerate() {
            for x in b.chunks(1) {
                p.data(*d, i as i64, x, &mut out);
            }
        }
        p.close(recs.len() as i64, &mut out);
        assert_eq!(summary(&out), whole, "{name} byte by byte");
        assert_eq!(p.take_counters().malformed, 0, "{name}");
        // Records cut in two at a sample of positions.
        for (k, (_, b)) in recs.iter().enumerate().take(6) {
            for cut in (1..b.len()).step_by((b.len() / 40).max(1)) {
                let mut p = parser();
                let mut out = Vec::new();
                for (i, (d, b)) in recs.iter().enumerate() {
                    if i == k {
                        p.data(*d, i as i64, &b[..cut], &mut out);
                        p.data(*d, i as i64, &b[cut..], &mut out);
                    } else {
                        p.data(*d, i as i64, b, &mut out);
                    }
                }
                p.close(recs.len() as i64, &mut out);
                assert_eq!(summary(&out), whole, "{name} record {k} cut at {cut}");
            }
        }
    }
}

#[test]
fn prefix_of_a_request_publishes_nothing_and_is_not_malformed() {
    let recs = load("basic-auth.stream");
    let request = &recs[0].1;
    for n in 0..request.len() {
        let mut p = parser();
        let mut out = Vec::new();
        p.data(Dir::ToServer, 0, &request[..n], &mut out);
        assert!(out.is_empty(), "prefix {n}");
        assert_eq!(p.take_counters().malformed, 0, "prefix {n}");
    }
}

#[test]
fn keep_alive_and_pipelining_pair_in_order() {
    // zeek-http-pipelined-requests.pcap
    let recs = load("pipelined.stream");
    let out = run(&mut parser(), &recs);
    let uris: Vec<&str> = out.iter().map(uri).collect();
    assert_eq!(
        uris,
        [
            "/style/enhanced.css",
            "/script/urchin.js",
            "/images/template/screen/bullet_utility.png",
            "/images/template/screen/key-point-top.png",
            "/projects/calendar/images/header-sunbird.png"
        ]
    );
    assert!(out.iter().all(|t| status(t) == Some(200) && t.notes.is_empty()));
    let sizes: Vec<u64> = out.iter().map(|t| resp(t).body.as_ref().unwrap().bytes).collect();
    assert_eq!(sizes, [946, 6716, 94, 2349, 27579]);
    // Truly pipelined: every request before any response gives the same pairs.
    let mut reordered: Records = recs.iter().filter(|r| r.0 == Dir::ToServer).cloned().collect();
    reordered.extend(recs.iter().filter(|r| r.0 == Dir::ToClient).cloned());
    let piped = run(&mut parser(), &reordered);
    assert_eq!(piped.iter().map(uri).collect::<Vec<_>>(), uris);
}

#[test]
fn extra_responses_are_published_unmatched() {
    // zeek-http-http-desync-request-response-5.pcap: three responses to the first request.
    let mut p = parser();
    let out = run(&mut p, &load("desync.stream"));
    assert_eq!(out.len(), 7);
    let lone: Vec<&Txn> = out.iter().filter(|t| f(t).http.request.is_none()).collect();
    assert_eq!(lone.len(), 2);
    assert!(lone.iter().all(|t| t.notes.contains(&"response without request".to_owned())));
    assert_eq!(out.iter().filter(|t| status(t) == Some(200)).count(), 7);
    assert_eq!(p.take_counters().unmatched, 2);
}

#[test]
fn switching_protocols_ends_http() {
    // zeek-http-docker-http-upgrade.pcap: 101 then raw terminal bytes both ways.
    let mut p = parser();
    let out = run(&mut p, &load("docker-upgrade.stream"));
    assert_eq!(out.len(), 1);
    assert_eq!(status(&out[0]), Some(101));
    assert_eq!(req(&out[0]).headers.get("upgrade").map(String::as_str), Some("tcp"));
    let c = p.take_counters();
    assert_eq!((c.messages, c.malformed), (2, 0));
}

#[test]
fn connect_tunnel_is_not_parsed() {
    // zeek-http-connect-with-header.pcap: CONNECT, 200, then TLS.
    let mut p = parser();
    let out = run(&mut p, &load("connect.stream"));
    assert_eq!(out.len(), 1);
    let u = f(&out[0]).url.as_ref().unwrap();
    assert_eq!((u.domain.as_deref(), u.port), (Some("secure.newegg.com"), Some(443)));
    assert_eq!(status(&out[0]), Some(200));
    assert_eq!(out[0].server_domain.as_deref(), Some("secure.newegg.com"));
    assert_eq!(p.take_counters().malformed, 0);
}

#[test]
fn declined_upgrade_releases_the_held_bytes() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(
        Dir::ToServer,
        1,
        b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
        &mut out,
    );
    p.data(Dir::ToClient, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &mut out);
    p.data(Dir::ToClient, 3, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &mut out);
    p.close(4, &mut out);
    assert_eq!(out.iter().map(uri).collect::<Vec<_>>(), ["/a", "/b"]);
    assert_eq!(status(&out[1]), Some(404));
    assert_eq!((out[1].outcome, out[1].status), (Outcome::Failure, "Error"));
}

#[test]
fn head_204_304_have_no_body_and_basic_auth_is_redacted() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\n\r\n", &mut out);
    p.data(
        Dir::ToClient,
        2,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        &mut out,
    );
    assert_eq!(out.iter().map(status).collect::<Vec<_>>(), [Some(200), Some(304), Some(204)]);
    assert!(out.iter().all(|t| resp(t).body.is_none()));
    // zeek-http-basic-auth-with-colon.pcap
    let out = run(&mut parser(), &load("basic-auth.stream"));
    let r = req(&out[0]);
    assert_eq!(r.headers.get("authorization").map(String::as_str), Some("Basic *"));
    assert_eq!(f(&out[0]).http.version.as_deref(), Some("1.1"));
    assert_eq!(f(&out[0]).user_agent.as_ref().unwrap().original, "python-requests/2.31.0");
    assert_eq!(resp(&out[0]).body.as_ref().unwrap().bytes, 643);
    assert_eq!(resp(&out[0]).mime_type.as_deref(), Some("text/html"));
}

#[test]
fn close_delimited_response_ends_with_the_connection() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"GET / HTTP/1.0\r\n\r\n", &mut out);
    p.data(
        Dir::ToClient,
        2,
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ",
        &mut out,
    );
    p.data(Dir::ToClient, 3, b"world", &mut out);
    assert!(out.is_empty());
    p.close(9, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(resp(&out[0]).body.as_ref().unwrap().bytes, 11);
    assert_eq!(out[0].end_ns, Some(3));
    assert!(out[0].notes.is_empty());
}

#[test]
fn body_capture_by_mime_type_with_a_limit() {
    let cfg = Config {
        include_body_for: vec!["text/".into()],
        max_body_bytes: 5,
        send_all_headers: true,
        ..Config::default()
    };
    let mut p = parser_with(cfg, Limits::default());
    let mut out = Vec::new();
    p.data(
        Dir::ToServer,
        1,
        b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain; charset=utf-8\r\nX-Custom: 1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nT: v\r\n\r\n",
        &mut out,
    );
    p.data(
        Dir::ToClient,
        2,
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 3\r\n\r\nPNG",
        &mut out,
    );
    let r = req(&out[0]);
    let body = r.body.as_ref().unwrap();
    assert_eq!((body.bytes, body.content.as_deref()), (7, Some("abcde")));
    assert_eq!(r.headers.get("x-custom").map(String::as_str), Some("1"));
    assert_eq!(resp(&out[0]).body.as_ref().unwrap().content, None);
}

#[test]
fn gap_in_a_body_skips_it_and_parsing_goes_on() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", &mut out);
    p.gap(Dir::ToClient, 80);
    p.data(Dir::ToClient, 3, b"0123456789HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(resp(&out[0]).body.as_ref().unwrap().bytes, 100);
    assert!(out[0].notes.iter().any(|n| n.contains("80 body bytes missing")), "{:?}", out[0].notes);
    assert_eq!(uri(&out[1]), "/2");
    assert!(out[1].notes.is_empty());
}

#[test]
fn gap_in_a_head_resynchronises_on_the_next_request_line() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"GET /lost HTTP/1.1\r\nHo", &mut out);
    p.gap(Dir::ToServer, 500);
    p.data(
        Dir::ToServer,
        2,
        b"st: x\r\nAccept: */*\r\n\r\nbody?\nPUT /next HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
        &mut out,
    );
    p.data(Dir::ToClient, 3, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", &mut out);
    // The request cut by the gap is published (issue 15: it used to vanish), unanswered.
    assert_eq!(out.len(), 2);
    assert_eq!(uri(&out[0]), "/lost");
    assert!(out[0].notes.iter().any(|n| n == "request: head cut short by missing bytes"));
    assert!(f(&out[0]).http.response.is_none());
    assert_eq!((req(&out[1]).method.as_str(), uri(&out[1])), ("PUT", "/next"));
    // A gap between messages: the next segment starts a message.
    p.gap(Dir::ToServer, 10);
    p.data(Dir::ToServer, 4, b"DELETE /d HTTP/1.1\r\n\r\n", &mut out);
    p.close(5, &mut out);
    assert_eq!(req(&out[2]).method, "DELETE");
}

// Regression (issue 15): a request interrupted by a large TCP gap disappeared with no event
// and no counter (an evasion route).
#[test]
fn request_cut_by_a_large_gap_is_published_with_a_note() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"POST /upload?cmd=x HTTP/1.1\r\nHost: victim\r\nContent-Le", &mut out);
    p.gap(Dir::ToServer, 5_000_000);
    p.close(2, &mut out);
    assert_eq!(out.len(), 1);
    let r = req(&out[0]);
    assert_eq!(r.method, "POST");
    assert_eq!(uri(&out[0]), "/upload?cmd=x");
    assert!(out[0].notes.iter().any(|n| n == "request: head cut short by missing bytes"));
    assert_eq!(p.take_counters().messages, 1);

    // Not even a start line: nothing to publish, but counted.
    let mut p = parser();
    p.data(Dir::ToServer, 1, b"POST /upl", &mut out);
    p.gap(Dir::ToServer, 5_000_000);
    assert_eq!(p.take_counters().malformed, 1);
}

#[test]
fn broken_input_is_malformed_then_resynchronised() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"\x16\x03\x01\x00\x05hello\r\nGET /ok HTTP/1.1\r\n\r\n", &mut out);
    p.data(
        Dir::ToClient,
        2,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        &mut out,
    );
    p.data(Dir::ToClient, 3, b"garbage\nHTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", &mut out);
    p.close(4, &mut out);
    let c = p.take_counters();
    assert_eq!(c.malformed, 2, "the TLS bytes and the chunk size");
    assert_eq!(out.len(), 2);
    assert_eq!(uri(&out[0]), "/ok");
    assert!(out[0].notes.iter().any(|n| n.contains("invalid chunk size")));
    assert_eq!(status(&out[1]), Some(500));
}

#[test]
fn limits_are_counted_and_flagged() {
    let cfg = Config { max_headers: 2, max_header_bytes: 64, ..Config::default() };
    let limits = Limits { max_pending: 2, ..Limits::default() };
    let mut p = parser_with(cfg, limits);
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"GET /1 HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &mut out);
    let mut big = b"POST /2 HTTP/1.1\r\nContent-Length: 2\r\n".to_vec();
    big.extend_from_slice(format!("X-Pad: {}\r\n\r\nok", "p".repeat(200)).as_bytes());
    p.data(Dir::ToServer, 2, &big, &mut out);
    p.data(Dir::ToServer, 3, b"GET /3 HTTP/1.1\r\n\r\n", &mut out);
    // The third request pushed the first out unanswered.
    assert_eq!(out.len(), 1);
    assert_eq!(uri(&out[0]), "/1");
    assert!(out[0].notes.iter().any(|n| n.contains("more than 2 headers")));
    assert!(out[0].notes.iter().any(|n| n.contains("pending request limit")));
    p.close(4, &mut out);
    let post = out.iter().find(|t| uri(t) == "/2").unwrap();
    assert!(post.notes.iter().any(|n| n.contains("header block larger than 64 bytes")));
    assert_eq!(req(post).bytes, big.len() as u64, "skipped bytes still count");
    assert!(out.iter().any(|t| uri(t) == "/3"), "the body of /2 was not taken for a head");
    let c = p.take_counters();
    assert_eq!(c.limit_hits, 3);
    assert_eq!(c.malformed, 0);
}

#[test]
fn interim_responses_are_bounded() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"GET / HTTP/1.1\r\n\r\n", &mut out);
    for _ in 0..20 {
        p.data(Dir::ToClient, 2, b"HTTP/1.1 102 Processing\r\n\r\n", &mut out);
    }
    p.data(Dir::ToClient, 3, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &mut out);
    assert_eq!(resp(&out[0]).interim_status_codes.len(), MAX_INTERIM);
    assert_eq!(out[0].server_bytes, 20 * 27 + 38);
    assert!(out[0].notes.iter().any(|n| n.contains("interim responses")));
    assert_eq!(p.take_counters().limit_hits, 1);
}

#[test]
fn unanswered_requests_time_out() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 0, b"GET /slow HTTP/1.1\r\n\r\n", &mut out);
    p.tick(5_000_000_000, &mut out);
    assert!(out.is_empty());
    p.tick(20_000_000_000, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Unknown);
    assert!(out[0].notes.iter().any(|n| n.contains("transaction timeout")));
    // While a response is still arriving, requests pipelined behind it wait their turn: the
    // timeout runs from the server's last byte.
    p.data(
        Dir::ToServer,
        21_000_000_000,
        b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        &mut out,
    );
    p.data(
        Dir::ToClient,
        21_000_000_000,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        &mut out,
    );
    p.data(Dir::ToClient, 29_000_000_000, b"12345", &mut out);
    p.tick(38_000_000_000, &mut out);
    assert_eq!(out.len(), 1, "the server sent a byte 9 s ago");
    p.data(Dir::ToClient, 45_000_000_000, b"67890", &mut out);
    assert_eq!(out.len(), 2, "/a answered");
    assert_eq!(resp(&out[1]).status_code, Some(200));
    // The server goes quiet: /b is published unanswered once the timeout has passed.
    p.tick(54_000_000_000, &mut out);
    assert_eq!(out.len(), 2);
    p.tick(56_000_000_000, &mut out);
    assert_eq!(out.len(), 3);
    assert!(out[2].notes.iter().any(|n| n.contains("transaction timeout")));
}

#[test]
fn server_first_pickup_pairs_by_content() {
    // The flow's initiator is the server (capture started mid-connection).
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToClient, 1, b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n", &mut out);
    p.data(Dir::ToServer, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(uri(&out[0]), "/late");
    // Bytes follow the flow's directions: the initiator sent the response here.
    assert_eq!((out[0].client_bytes, out[0].server_bytes), (38, 31));
    assert_eq!(out[0].server_domain, None, "the responder of the flow is the HTTP client");
    assert_eq!(out[0].related_hosts, ["h"]);
    assert!(out[0].notes.iter().any(|n| n.contains("initiator is the HTTP server")));
}

#[test]
fn probe_recognises_request_and_status_lines() {
    let t = Transport::Tcp;
    assert!(probe(t, Dir::ToServer, b"PROPFIND /dav HTTP/1.1\r\nHost: x\r\n"));
    assert!(probe(t, Dir::ToServer, b"CUSTOM_M /x HTTP/1.0\r\n"));
    assert!(probe(t, Dir::ToServer, b"GET /a-very-long-target-cut-by-the-segm"));
    assert!(probe(t, Dir::ToClient, b"HTTP/1.1 200 OK\r\n"));
    assert!(probe(t, Dir::ToServer, b"HTTP/1.0 404 Not Found\r\n"));
    assert!(!probe(t, Dir::ToServer, b"\x16\x03\x01\x02\x00\x01"));
    assert!(!probe(t, Dir::ToServer, b"SSH-2.0-OpenSSH_8.9\r\n"));
    assert!(!probe(t, Dir::ToServer, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    assert!(!probe(t, Dir::ToServer, b"DESCRIBE rtsp://a/b RTSP/1.0\r\n"));
    assert!(!probe(Transport::Udp, Dir::ToServer, b"M-SEARCH * HTTP/1.1\r\n"));
}

#[test]
fn mutated_captures_never_panic() {
    // Deterministic xorshift: flip bytes, cut records, insert gaps.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let cfg = Config {
        include_body_for: vec!["text/".into()],
        send_all_headers: true,
        ..Config::default()
    };
    for name in [
        "100-continue.stream",
        "pipelined.stream",
        "desync.stream",
        "docker-head-post.stream",
        "connect.stream",
    ] {
        let recs = load(name);
        for _ in 0..40 {
            let mut p = parser_with(
                cfg.clone(),
                Limits { max_buffer_bytes: 4096, max_pending: 3, ..Limits::default() },
            );
            let mut out = Vec::new();
            for (i, (d, b)) in recs.iter().enumerate() {
                let mut b = b.clone();
                for _ in 0..(rnd() % 8) {
                    if !b.is_empty() {
                        let at = (rnd() as usize) % b.len();
                        b[at] = rnd() as u8;
                    }
                }
                let cut = if b.is_empty() { 0 } else { (rnd() as usize) % b.len() };
                p.data(*d, i as i64, &b[..cut], &mut out);
                if rnd() % 4 == 0 {
                    p.gap(*d, rnd() % 3000);
                }
                p.data(*d, i as i64, &b[cut..], &mut out);
                p.tick(i as i64 * 4_000_000_000, &mut out);
            }
            p.close(99, &mut out);
            let _ = p.take_counters();
        }
    }
}

#[test]
fn connect_with_a_stray_token_opens_a_tunnel() {
    // zeek-http-connect-with-smtp.pcap: a proxy CONNECT whose request line carries an extra
    // " /" before the version; after the 200 the connection carries SMTP, not HTTP.
    let connect = b"CONNECT mailin03.sul.t-online.de:25 / HTTP/1.0\r\n\
        Mozilla 4.0 (compatible; MSIE 5.01; Windows NT 5.0)\r\n\r\n";
    assert!(probe(Transport::Tcp, Dir::ToServer, connect), "the probe takes the CONNECT line");
    let recs: Records = vec![
        (Dir::ToServer, connect.to_vec()),
        (Dir::ToClient, b"HTTP/1.0 200 Connection established\r\n\r\n".to_vec()),
        (Dir::ToClient, b"220 mailin03.sul.t-online.de ESMTP ready.\r\n".to_vec()),
        (Dir::ToServer, b"HELO 208.191.73.21\r\n".to_vec()),
        (Dir::ToClient, b"250 Ok.\r\n".to_vec()),
        (Dir::ToServer, b"MAIL FROM:<a@b.example>\r\n".to_vec()),
    ];
    let out = run(&mut parser(), &recs);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(req(&out[0]).method, "CONNECT");
}

#[test]
fn connect_answered_2xx_hands_the_stream_on_once() {
    let mut p = parser();
    let mut out = Vec::new();
    p.data(Dir::ToServer, 1, b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org\r\n\r\n", &mut out);
    assert_eq!(p.handoff(), None, "not before the answer");
    p.data(Dir::ToClient, 2, b"HTTP/1.1 200 Connection established\r\n\r\n", &mut out);
    assert_eq!(p.handoff(), Some(crate::proto::Handoff::Switched));
    assert_eq!(p.handoff(), None, "reported once");
    assert_eq!(out.len(), 1, "the CONNECT transaction is published before the hand-off");

    // Refused: the connection stays HTTP.
    let mut p = parser();
    p.data(Dir::ToServer, 1, b"CONNECT example.org:443 HTTP/1.1\r\n\r\n", &mut out);
    p.data(Dir::ToClient, 2, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", &mut out);
    assert_eq!(p.handoff(), None);
}
