//! Cassandra (CQL) transactions against tshark, run at test time: for every corpus capture
//! where the truth shows CQL and for the committed fixtures (`tests/data/cassandra/*.pcap`),
//! each frame tshark decodes — a request's version, stream, opcode and CQL text (QUERY,
//! PREPARE), a response's version, stream, opcode, result kind and error code — must be in
//! wirebeat's `network_traffic.cassandra` events, compared as multisets per capture.
//!
//! Known differences are listed per capture, with the reason, in
//! `tests/cassandra-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Request { version: i64, stream: i64, opcode: i64, query: Option<String> },
    Response { version: i64, stream: i64, opcode: i64, kind: Option<i64>, error: Option<i64> },
}

fn first<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    match v.get(k)? {
        Value::Array(a) => a.first(),
        x => Some(x),
    }
}

fn parse_num(s: &str) -> Option<i64> {
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn num(v: &Value, k: &str) -> Option<i64> {
    first(v, k)?.as_str().and_then(parse_num)
}

/// The first value of `key` anywhere below `v` (depth first, in document order).
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    return match x {
                        Value::Array(a) => a.first(),
                        _ => Some(x),
                    };
                }
                if let Some(f) = find(x, key) {
                    return Some(f);
                }
            }
            None
        }
        Value::Array(a) => a.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

const QUERY: i64 = 7;
const PREPARE: i64 = 9;
const RESULT: i64 = 8;
const ERROR: i64 = 0;

fn tshark_msgs(pcap: &Path) -> Option<Vec<Msg>> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-Y", "cql", "-T", "json", "--no-duplicate-keys", "-r"])
        .arg(pcap)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let packets: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut msgs = Vec::new();
    for p in packets {
        let Some(m) = p["_source"]["layers"].get("cql") else { continue };
        let list = match m {
            Value::Array(a) => a.clone(),
            x => vec![x.clone()],
        };
        for m in list {
            let vb = num(&m, "cql.version").unwrap_or(0);
            let (version, response) = (vb & 0x7f, vb & 0x80 != 0);
            let stream = num(&m, "cql.stream").unwrap_or(0);
            let opcode = num(&m, "cql.opcode").unwrap_or(-1);
            if response {
                let kind = if opcode == RESULT {
                    find(&m, "cql.result.kind").and_then(Value::as_str).and_then(parse_num)
                } else {
                    None
                };
                let error = if opcode == ERROR {
                    find(&m, "cql.error_code").and_then(Value::as_str).and_then(parse_num)
                } else {
                    None
                };
                msgs.push(Msg::Response { version, stream, opcode, kind, error });
            } else {
                let query = if matches!(opcode, QUERY | PREPARE) {
                    find(&m, "cql.string").and_then(Value::as_str).map(str::to_owned)
                } else {
                    None
                };
                msgs.push(Msg::Request { version, stream, opcode, query });
            }
        }
    }
    Some(msgs)
}

fn opcode_number(name: &str) -> i64 {
    [
        "ERROR",
        "STARTUP",
        "READY",
        "AUTHENTICATE",
        "",
        "OPTIONS",
        "SUPPORTED",
        "QUERY",
        "RESULT",
        "PREPARE",
        "EXECUTE",
        "REGISTER",
        "EVENT",
        "BATCH",
        "AUTH_CHALLENGE",
        "AUTH_RESPONSE",
        "AUTH_SUCCESS",
    ]
    .iter()
    .position(|n| *n == name)
    .map(|p| p as i64)
    .unwrap_or(-1)
}

fn result_kind(t: &str) -> i64 {
    match t {
        "void" => 1,
        "rows" => 2,
        "setKeyspace" => 3,
        "prepared" => 4,
        "schemaChanged" => 5,
        _ => -1,
    }
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.cassandra") {
        let c = &e["network_traffic"]["cassandra"];
        let h = |x: &Value| {
            (
                x["version"].as_str().and_then(parse_num).unwrap_or(0),
                x["stream"].as_i64().unwrap_or(0),
                opcode_number(x["op"].as_str().unwrap_or_default()),
            )
        };
        if let Some(r) = c.get("request") {
            let (version, stream, opcode) = h(&r["headers"]);
            let query = if matches!(opcode, QUERY | PREPARE) {
                r["query"].as_str().map(str::to_owned)
            } else {
                None
            };
            out.push(Msg::Request { version, stream, opcode, query });
        }
        if let Some(r) = c.get("response") {
            let (version, stream, opcode) = h(&r["headers"]);
            let kind = r["result"]["type"].as_str().map(result_kind);
            let error = r["error"]["code"].as_i64();
            out.push(Msg::Response { version, stream, opcode, kind, error });
        }
    }
    out
}

const DIFFERENCES: &str = "tests/cassandra-differences.txt";

fn captures() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    if corpus().join("truth").is_dir() {
        for name in captures_with_app("cql") {
            let p = corpus().join("pcaps").join(&name);
            v.push((name, p));
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cassandra");
    let mut fx: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    fx.sort();
    v.extend(fx.into_iter().map(|p| (capture_name(&p), p)));
    v
}

#[test]
fn cassandra_matches_tshark() {
    let caps = captures();
    assert!(!caps.is_empty());
    let mut differences = Differences::load(DIFFERENCES);
    let (mut total, mut found) = (0u64, 0u64);
    for (name, path) in &caps {
        let Some(truth) = tshark_msgs(path) else {
            skipped("tshark not usable");
            return;
        };
        let (out, events) = read(&[path], &["wirebeat.workers=2"]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let want = multiset(truth);
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = multiset_diff(&want, &got);
        total += want.values().sum::<u64>();
        found += want.values().sum::<u64>() - missing.iter().map(|(n, _)| n).sum::<u64>();
        let lines: Vec<String> = missing
            .iter()
            .map(|(n, m)| format!("{n} missing {m:?}"))
            .chain(extra.iter().map(|(n, m)| format!("{n} extra {m:?}")))
            .collect();
        differences.record_lines(name, &lines, 4);
    }
    eprintln!("{} captures: tshark CQL messages {total}, found in wirebeat {found}", caps.len());
    differences.check("Cassandra differs");
}

#[test]
fn differences_file_is_well_formed() {
    let names: Vec<String> = captures().into_iter().map(|(n, _)| n).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a compared Cassandra capture");
}

/// The JavaScript UDF that Elastic's rule `execution_cassandra_javascript_udf_creation` looks
/// for is in `network_traffic.cassandra.request.query`; the refused login is a failure.
#[test]
fn fixture_events_carry_what_the_rules_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cassandra/cassandra.pcap");
    let (_, events) = read(&[&path], &[]);
    let ev = of_dataset(&events, "network_traffic.cassandra");
    let udf = ev
        .iter()
        .find(|e| {
            e["network_traffic"]["cassandra"]["request"]["query"]
                .as_str()
                .is_some_and(|q| q.contains("CREATE FUNCTION") && q.contains("LANGUAGE javascript"))
        })
        .expect("the UDF");
    assert_eq!(udf["network_traffic"]["cassandra"]["response"]["result"]["type"], "schemaChanged");
    assert_eq!(udf["method"], "QUERY");
    let refused = ev
        .iter()
        .find(|e| e["network_traffic"]["cassandra"]["response"]["error"]["code"] == 256)
        .unwrap();
    assert_eq!(refused["event"]["outcome"], "failure");
    assert_eq!(refused["user"]["name"], "cassandra");
}
