//! Thrift messages against tshark: for every Thrift capture of the fixtures (the corpus has
//! none; binary, old binary and compact protocols, framed and unframed), every message tshark
//! decodes (`thrift.mtype`, `thrift.method`) must be the request (`network_traffic.thrift.
//! request_type`, `method`) or the response (`response_type`) of a wirebeat
//! `network_traffic.thrift` event; compared as multisets per capture, tshark run at test time.
//!
//! Known differences are listed per capture, with the reason, in `tests/thrift-differences.txt`.
//! The list may only shrink: a listed capture that now agrees fails the test.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PORT: u16 = 19090;
const FIXTURES: &[&str] = &[
    "binary-buffered.pcap",
    "binary-framed.pcap",
    "binary-old-buffered.pcap",
    "binary-old-framed.pcap",
    "compact-buffered.pcap",
    "compact-framed.pcap",
];

const DIFFERENCES: &str = "tests/thrift-differences.txt";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/thrift").join(name)
}

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

fn type_name(v: &str) -> &'static str {
    match v.trim_start_matches("0x").trim_start_matches('0') {
        "1" => "CALL",
        "2" => "REPLY",
        "3" => "EXCEPTION",
        "4" => "ONEWAY",
        _ => "?",
    }
}

/// (message type, method) of every message tshark decodes.
fn truth(pcap: &Path) -> Vec<(String, String)> {
    let out = Command::new("tshark")
        .args(["-n", "-d", &format!("tcp.port=={PORT},thrift"), "-Y", "thrift"])
        .args(["-T", "fields", "-e", "thrift.mtype", "-e", "thrift.method", "-r"])
        .arg(pcap)
        .output()
        .unwrap();
    let mut msgs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (types, methods) = line.split_once('\t').unwrap_or((line, ""));
        for (t, m) in types.split(',').zip(methods.split(',')) {
            if !t.is_empty() {
                msgs.push((type_name(t).to_owned(), m.to_owned()));
            }
        }
    }
    msgs
}

fn wirebeat_msgs(events: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.thrift") {
        let method = get(e, "method").and_then(Value::as_str).unwrap_or_default().to_owned();
        for k in ["request_type", "response_type"] {
            let path = format!("network_traffic.thrift.{k}");
            if let Some(t) = get(e, &path).and_then(Value::as_str) {
                out.push((t.to_owned(), method.clone()));
            }
        }
    }
    out
}

#[test]
fn thrift_matches_tshark() {
    if !tshark_present() {
        skipped("tshark not installed");
        return;
    }
    let mut differences = Differences::load(DIFFERENCES);
    let mut total = 0;
    for name in FIXTURES {
        let pcap = fixture(name);
        let (out, events) = read(&[&pcap], &[&format!("wirebeat.protocols.thrift.ports=[{PORT}]")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let want = multiset(truth(&pcap));
        assert!(!want.is_empty(), "{name}: tshark decoded no Thrift");
        let got = multiset(wirebeat_msgs(&events));
        assert_eq!(got.values().sum::<u64>(), 7, "{name}: 4 calls (one oneway), 3 answers");
        let (missing, extra) = multiset_diff(&want, &got);
        total += want.values().sum::<u64>();
        let mut lines: Vec<String> = missing.iter().map(|m| format!("missing {m:?}")).collect();
        lines.extend(extra.iter().map(|m| format!("extra {m:?}")));
        differences.record_lines(name, &lines, 5);
    }
    eprintln!("thrift: {} captures, {total} tshark messages compared", FIXTURES.len());
    differences.check("Thrift differs");
}

#[test]
fn found_by_content_on_an_unknown_port() {
    // No port configured for 19090: the probe finds strict binary and compact.
    for name in ["binary-framed.pcap", "compact-buffered.pcap"] {
        let (out, events) = read(&[&fixture(name)], &[]);
        assert!(out.status.success());
        let t = of_dataset(&events, "network_traffic.thrift");
        assert_eq!(t.len(), 4, "{name}");
        let errors = t.iter().filter(|e| get(e, "status").and_then(Value::as_str) == Some("Error"));
        assert_eq!(errors.count(), 2, "{name}: the declared exception and the unknown method");
    }
}
