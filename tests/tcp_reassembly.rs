//! TCP reassembly seen from the events: a hole the peer acknowledged is given up at once and
//! marked on the flow (`network_traffic.flow.gap_bytes`), data on a SYN (TCP Fast Open) is
//! stream data, and SYNs answered with two ISNs do not turn into a gap. Traffic comes from the
//! generator (`tests/common/traffic.rs`); the corpus case skips without `../shared`.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::traffic::*;
use common::*;
use serde_json::Value;

fn run(g: &Gen, name: &str) -> (String, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    g.write(&path);
    let (out, events) = read(&[path.as_path()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stderr).into_owned(), events)
}

/// A summary counter, 0 when the summary leaves it out (it prints only counters that moved).
fn counter(stderr: &str, name: &str) -> u64 {
    if summary_lines(stderr).contains(&format!(" {name}=")) {
        summary_number(stderr, name)
    } else {
        0
    }
}

fn final_flow(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| is_dataset(e, "network_traffic.flow") && e["flow"]["final"] == true)
        .expect("a final flow report")
}

#[test]
fn an_acknowledged_hole_is_a_gap_at_once_and_marked_on_the_flow() {
    let (client, server) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut g = Gen::new(1_700_000_000);
    let (c, s) = g.handshake(client, 40000, server, 80, 2 * MS);
    let head = b"POST /upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: 30\r\n\r\n";
    let body = [b"0123456789".as_slice(), b"abcdefghij", b"ABCDEFGHIJ"];
    let n = head.len() as u32;
    g.advance(MS).tcp(client, 40000, server, 80, ACK | PSH, c, s, head);
    // The capture misses the first body segment; the server got it and acknowledges it.
    g.advance(MS).tcp(client, 40000, server, 80, ACK | PSH, c + n + 10, s, body[1]);
    g.advance(MS).tcp(server, 80, client, 40000, ACK, s, c + n + 20, &[]);
    g.advance(MS).tcp(client, 40000, server, 80, ACK | PSH, c + n + 20, s, body[2]);
    let resp = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    g.advance(MS).tcp(server, 80, client, 40000, ACK | PSH, s, c + n + 30, resp);
    let (c2, s2) = (c + n + 30, s + resp.len() as u32);
    g.advance(MS).tcp(client, 40000, server, 80, FIN | ACK, c2, s2, &[]);
    g.advance(MS).tcp(server, 80, client, 40000, FIN | ACK, s2, c2 + 1, &[]);
    g.advance(MS).tcp(client, 40000, server, 80, ACK, c2 + 1, s2 + 1, &[]);
    let (stderr, events) = run(&g, "acked-hole.pcap");

    assert_eq!(summary_number(&stderr, "holes_acked"), 1, "{stderr}");
    assert_eq!(summary_number(&stderr, "gap_bytes"), 10, "{stderr}");
    let flow = final_flow(&events);
    assert_eq!(flow["network_traffic"]["flow"]["gap_bytes"]["source"], 10, "{flow}");
    assert_eq!(flow["network_traffic"]["flow"]["gap_bytes"]["destination"], 0, "{flow}");
    // The exchange is still one HTTP transaction, its request body marked incomplete.
    let http = of_dataset(&events, "network_traffic.http");
    assert_eq!(http.len(), 1, "{http:?}");
    assert_eq!(http[0]["http"]["response"]["status_code"], 201);
    assert!(http[0]["event"]["reason"].as_str().unwrap_or_default().contains("missing"));
}

#[test]
fn a_flow_without_loss_has_no_gap_marker() {
    let (client, server) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut g = Gen::new(1_700_000_000);
    let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".as_slice();
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".as_slice();
    g.session(client, 40001, server, 80, &[(true, req), (false, resp)], MS);
    let (stderr, events) = run(&g, "clean.pcap");
    assert_eq!(counter(&stderr, "gaps"), 0, "{stderr}");
    assert!(final_flow(&events)["network_traffic"]["flow"].get("gap_bytes").is_none());
}

#[test]
fn data_on_a_syn_is_stream_data() {
    let (client, server) = (ip("10.0.0.1"), ip("10.0.0.2"));
    let mut g = Gen::new(1_700_000_000);
    let req = b"GET /tfo HTTP/1.1\r\nHost: a\r\n\r\n";
    let n = req.len() as u32;
    // TCP Fast Open: the request rides on the SYN and the SYN-ACK acknowledges it.
    g.tcp(client, 40002, server, 80, SYN, 1000, 0, req);
    g.advance(MS).tcp(server, 80, client, 40002, SYN | ACK, 5000, 1001 + n, &[]);
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    g.advance(MS).tcp(server, 80, client, 40002, ACK | PSH, 5001, 1001 + n, resp);
    g.advance(MS).tcp(client, 40002, server, 80, ACK, 1001 + n, 5001 + resp.len() as u32, &[]);
    let (stderr, events) = run(&g, "tfo.pcap");
    assert_eq!(counter(&stderr, "gaps"), 0, "{stderr}");
    let http = of_dataset(&events, "network_traffic.http");
    assert_eq!(http.len(), 1, "{http:?}");
    assert_eq!(http[0]["url"]["path"], "/tfo");
    assert_eq!(http[0]["http"]["response"]["status_code"], 200);
}

// A real capture (suricata-verify): the client's SYN carries a ClientHello the server ignores;
// the SYN-ACKs come with two ISNs, retransmitted in turns. It used to report a 1 MiB gap and a
// TLS session not established.
#[test]
fn tfo_capture_with_two_server_isns_has_no_gap() {
    require_shared!();
    let (out, events) = read_capture("sv-tcp-fastopen-10-syn-data-ignore.pcap", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(counter(&stderr, "gaps"), 0, "{stderr}");
    let tls = of_dataset(&events, "network_traffic.tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["tls"]["established"], true, "{}", tls[0]);
    assert!(tls[0]["event"].get("reason").is_none(), "{}", tls[0]);
}
