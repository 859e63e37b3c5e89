//! Content beats the port (issue 13 item 2): a flow whose port belongs to one protocol but
//! whose first bytes are another's is parsed as what it carries. The fixtures are real servers
//! on a port of another protocol (`tests/data/probe/make-fixtures`): HTTP on 443 (TLS's),
//! TLS on 80 (HTTP's), SSH on 8080 (HTTP's: SSH is found by its banner on any port). Each run also checks the summary's
//! `content_overrides` counter, so a capture that happened to match by port would fail.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/probe").join(name)
}

/// Events of one fixture (default configuration) and its `content_overrides` count.
fn run(name: &str) -> (Vec<Value>, u64) {
    let (out, events) = read(&[&fixture(name)], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: {stderr}");
    (events, summary_number(&stderr, "content_overrides"))
}

fn protocol_events<'a>(events: &'a [Value], proto: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| get(e, "event.kind").and_then(Value::as_str) == Some("event"))
        .filter(|e| get(e, "network.protocol").and_then(Value::as_str) == Some(proto))
        .filter(|e| get(e, "event.dataset").and_then(Value::as_str) != Some("network_traffic.flow"))
        .collect()
}

#[test]
fn http_on_the_tls_port_is_http() {
    let (events, overrides) = run("http-on-443.pcap");
    let http = protocol_events(&events, "http");
    let got: Vec<(String, u64)> = http
        .iter()
        .map(|e| {
            (
                get(e, "url.path").and_then(Value::as_str).unwrap_or_default().to_owned(),
                get(e, "http.response.status_code").and_then(Value::as_u64).unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, [("/index.html".to_owned(), 200), ("/missing".to_owned(), 404)], "{http:?}");
    assert!(http.iter().all(|e| get(e, "destination.port").and_then(Value::as_u64) == Some(443)));
    assert!(protocol_events(&events, "tls").is_empty(), "no TLS event on plain HTTP");
    assert_eq!(overrides, 2, "both connections were switched from TLS to HTTP");
}

#[test]
fn tls_on_the_http_port_is_tls() {
    let (events, overrides) = run("tls-on-80.pcap");
    let tls = protocol_events(&events, "tls");
    assert_eq!(tls.len(), 1, "{events:?}");
    let t = tls[0];
    assert_eq!(get(t, "tls.client.server_name").and_then(Value::as_str), Some("probe.example"));
    assert_eq!(get(t, "tls.established").and_then(Value::as_bool), Some(true));
    assert_eq!(get(t, "destination.port").and_then(Value::as_u64), Some(80));
    // curl and OpenSSL settle on TLS 1.3: the certificate is encrypted, the version is not.
    assert_eq!(get(t, "tls.version").and_then(Value::as_str), Some("1.3"));
    assert!(protocol_events(&events, "http").is_empty(), "no HTTP event on TLS");
    assert_eq!(overrides, 1);
}

#[test]
fn ssh_on_an_http_port_is_ssh() {
    let (events, overrides) = run("ssh-on-8080.pcap");
    let ssh = protocol_events(&events, "ssh");
    assert_eq!(ssh.len(), 1, "{events:?}");
    let s = ssh[0];
    assert_eq!(get(s, "destination.port").and_then(Value::as_u64), Some(8080));
    let software = get(s, "network_traffic.ssh.server.software").and_then(Value::as_str);
    assert!(software.is_some_and(|v| v.starts_with("OpenSSH")), "{s}");
    assert!(get(s, "network_traffic.ssh.hassh").and_then(Value::as_str).is_some(), "{s}");
    assert!(protocol_events(&events, "http").is_empty(), "no HTTP event on SSH");
    assert_eq!(overrides, 1);
}
