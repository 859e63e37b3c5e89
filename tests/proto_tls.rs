//! TLS against tshark's truth: every ClientHello tshark decoded (SNI, hello version, offered
//! supported_versions, JA3, ALPN) and every ServerHello (version, selected supported_version,
//! JA3S, ALPN) must be found in wirebeat's `network_traffic.tls` events of the same capture,
//! compared as multisets (one wirebeat event covers a ClientHello and a ServerHello).
//!
//! Known differences are listed per capture, with the reason, in `tests/tls-differences.txt`.
//! The list may only shrink: a listed capture that now agrees fails the test until removed.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use wirebeat::proto::tls::names;

/// One hello as both sides describe it (strings in wirebeat's vocabulary).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Hello {
    Client {
        sni: Option<String>,
        version: String,
        supported_versions: Vec<String>,
        ja3: Option<String>,
        alpn: Vec<String>,
    },
    Server {
        version: String,
        supported_versions: Vec<String>,
        ja3s: Option<String>,
        alpn: Vec<String>,
    },
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn nums(v: Option<&Value>) -> Vec<u16> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_u64().map(|n| n as u16)).collect())
        .unwrap_or_default()
}

fn versions(v: &[u16]) -> Vec<String> {
    v.iter().filter(|x| !names::is_grease(**x)).map(|x| names::version_name(*x)).collect()
}

/// The hellos of tshark's per-packet truth, in frame order.
fn truth_hellos(capture: &str) -> Vec<Hello> {
    let mut out = Vec::new();
    for p in truth_lines(capture) {
        let Some(t) = p.get("tls") else { continue };
        let types = nums(t.get("handshake_type"));
        let hellos: Vec<u16> = types.iter().copied().filter(|t| matches!(t, 1 | 2)).collect();
        let hs_versions = nums(t.get("handshake_version"));
        let (mut ja3, mut ja3s) = (strs(t.get("ja3")).into_iter(), strs(t.get("ja3s")).into_iter());
        let sni = strs(t.get("sni"));
        // Per-frame lists: a frame holds at most one ClientHello and one ServerHello here.
        let sv = nums(t.get("supported_versions"));
        let alpn = strs(t.get("alpn"));
        for (k, h) in hellos.iter().enumerate() {
            let version = names::hello_version(hs_versions.get(k).copied().unwrap_or(0));
            out.push(if *h == 1 {
                Hello::Client {
                    sni: sni.first().cloned(),
                    version,
                    supported_versions: versions(&sv),
                    ja3: ja3.next(),
                    alpn: alpn.clone(),
                }
            } else {
                Hello::Server {
                    version,
                    supported_versions: versions(&sv),
                    ja3s: ja3s.next(),
                    alpn: alpn.clone(),
                }
            });
        }
    }
    out
}

fn wirebeat_hellos(events: &[Value]) -> Vec<Hello> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.tls") {
        let s = |k: &str| get(e, k).and_then(Value::as_str).map(str::to_owned);
        if let Some(version) = s("tls.detailed.client_hello.version") {
            out.push(Hello::Client {
                sni: s("tls.client.server_name"),
                version,
                supported_versions: strs(get(
                    e,
                    "tls.detailed.client_hello.extensions.supported_versions",
                )),
                ja3: s("tls.client.ja3"),
                alpn: strs(get(
                    e,
                    "tls.detailed.client_hello.extensions.application_layer_protocol_negotiation",
                )),
            });
        }
        if let Some(version) = s("tls.detailed.server_hello.version") {
            out.push(Hello::Server {
                version,
                supported_versions: strs(get(
                    e,
                    "tls.detailed.server_hello.extensions.supported_versions",
                )),
                ja3s: s("tls.server.ja3s"),
                alpn: strs(get(
                    e,
                    "tls.detailed.server_hello.extensions.application_layer_protocol_negotiation",
                )),
            });
        }
    }
    out
}

const DIFFERENCES: &str = "tests/tls-differences.txt";

#[test]
fn tls_hellos_match_tshark_truth() {
    require_shared!();
    let mut differences = Differences::load(DIFFERENCES);
    let mut totals = (0usize, 0usize);
    let captures = captures_with_app("tls");
    assert!(captures.len() >= 30, "only {} captures with TLS", captures.len());
    for name in &captures {
        let (_, events) = read_capture(name, &["wirebeat.workers=2"]);
        let want = truth_hellos(name);
        let got = wirebeat_hellos(&events);
        // wirebeat hellos tshark did not decode are not differences here.
        let (missing, unused) = match_up(&want, &got, Hello::eq);
        totals.0 += want.len();
        totals.1 += want.len() - missing.len();
        differences.record(name, !missing.is_empty(), || {
            let near = |m: &Hello| {
                unused
                    .iter()
                    .find(|g| std::mem::discriminant(**g) == std::mem::discriminant(m))
                    .map(|g| format!("{g:?}"))
                    .unwrap_or_else(|| "nothing".into())
            };
            format!(
                "{name}: {} of {} tshark hellos not found; first {:?}, nearest wirebeat {}",
                missing.len(),
                want.len(),
                missing[0],
                near(missing[0])
            )
        });
    }
    eprintln!("tshark hellos found in wirebeat events: {} of {}", totals.1, totals.0);
    differences.check("hellos differ");
}

/// The differences file names only corpus captures with TLS, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    Differences::load(DIFFERENCES)
        .check_well_formed(&captures_with_app("tls"), "a corpus capture with TLS");
}

/// Heartbleed (zeek-tls-heartbleed.pcap): the oversized heartbeat request is flagged and the
/// session, which never completed, is still published.
#[test]
fn heartbleed_capture_is_flagged() {
    require_shared!();
    let pcap = corpus().join("pcaps/zeek-tls-heartbleed.pcap");
    let (_, events) = read(&[&pcap], &[]);
    let tls = of_dataset(&events, "network_traffic.tls");
    assert_eq!(tls.len(), 1);
    let e = tls[0];
    assert!(strs(get(e, "tls.detailed.anomalies")).iter().any(|a| a == "heartbleed"), "{e}");
    assert_eq!(get(e, "tls.established"), Some(&Value::Bool(false)));
    assert!(get(e, "event.reason").and_then(Value::as_str).unwrap().contains("Heartbleed"));
}

/// TLS on a port no protocol claims is found by content (Tor on 9001, a test server on 4433).
#[test]
fn tls_found_by_content_on_other_ports() {
    require_shared!();
    for (capture, port) in [
        ("sv-tls-tls-bypass-missing-event-tor_bl.pcap", 9001),
        ("zeek-tls-CVE-2015-3194.pcap", 4433),
    ] {
        let (_, events) = read(&[&corpus().join("pcaps").join(capture)], &[]);
        let n = events
            .iter()
            .filter(|e| {
                is_dataset(e, "network_traffic.tls")
                    && get(e, "destination.port").and_then(Value::as_u64) == Some(port)
            })
            .count();
        assert!(n >= 1, "{capture}: no TLS event on port {port}");
    }
}
