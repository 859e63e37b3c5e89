//! `wirebeat export config --from-packetbeat FILE` through the binary: the output is a
//! wirebeat.yml that `wirebeat test config` accepts and `wirebeat read` runs with, and what
//! does not carry over is a comment.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;

const PACKETBEAT: &str = "\
packetbeat.interfaces.device: any
packetbeat.interfaces.type: af_packet
packetbeat.flows:
  timeout: 30s
  period: 5s
packetbeat.protocols:
- type: dns
  ports: [53, 5353]
  include_additionals: false
- type: http
  ports: [80, 8080]
  include_body_for: [text/html]
  send_response: true
- type: tls
  ports: [443]
- type: pgsql
  ports: [5432]
processors:
  - drop_event.when.equals.event.dataset: network_traffic.tls
output.console.pretty: false
logging.level: debug
";

#[test]
fn packetbeat_config_converts_to_a_working_wirebeat_config() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("packetbeat.yml");
    std::fs::write(&pb, PACKETBEAT).unwrap();
    let out = wirebeat().args(["export", "config", "--from-packetbeat"]).arg(&pb).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "# wirebeat.interfaces[0].type: not accepted: af_packet captures on one interface, not \"any\"",
        "# packetbeat.protocols.http.send_response: wirebeat does not write the raw response text",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    // pgsql: a section when this build has the protocol, else a comment naming it.
    let has_pgsql = wirebeat()
        .args(["test", "config", "-E", "wirebeat.protocols.pgsql.enabled=true"])
        .output()
        .unwrap()
        .status
        .success();
    let commented = text.contains("# wirebeat.protocols.pgsql: this wirebeat build has no such protocol yet (was: {ports: [5432]})");
    assert_eq!(commented, !has_pgsql, "{text}");
    let cfg = dir.path().join("wirebeat.yml");
    std::fs::write(&cfg, &text).unwrap();
    let check = wirebeat().args(["test", "config", "-c"]).arg(&cfg).output().unwrap();
    assert!(check.status.success(), "{}\n{text}", String::from_utf8_lossy(&check.stderr));
    // And it runs: the converted drop_event drops TLS transactions.
    require_shared!();
    let pcap = corpus().join("pcaps/zeek-tls-chrome-34-google.pcap");
    let run =
        wirebeat().args(["read", "--no-progress", "-c"]).arg(&cfg).arg(&pcap).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| !is_dataset(e, "network_traffic.tls")));
    assert!(events.iter().any(|e| e["network"]["protocol"] == "tls"), "TLS flows stay");
}

#[test]
fn export_config_without_a_file_is_a_usage_error() {
    let out = wirebeat().args(["export", "config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--from-packetbeat FILE"), "{err}");
    let out = wirebeat()
        .args(["export", "config", "--from-packetbeat", "/nonexistent/packetbeat.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
