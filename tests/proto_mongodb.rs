//! MongoDB transactions against tshark, run at test time: for every corpus capture where the
//! truth shows MongoDB and for the committed fixtures (`tests/data/mongodb/*.pcap`), each
//! message tshark decodes (`-d tcp.port==27017,mongo`: tshark 4.0 otherwise hands port 27017
//! to TLS) — a request's opcode and command, a reply — must be in wirebeat's
//! `network_traffic.mongodb` events, compared as multisets per capture. The command is the
//! first element of an OP_MSG body (or of an OP_QUERY on `<db>.$cmd`; `find` for a query on
//! a collection; the legacy opcodes' own names). A reply is an event with `event.end`.
//!
//! Known differences are listed per capture, with the reason, in
//! `tests/mongodb-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Request { opcode: i64, command: Option<String> },
    Reply,
}

/// A field that `--no-duplicate-keys` may have made an array: its first value.
fn first<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    match v.get(k)? {
        Value::Array(a) => a.first(),
        x => Some(x),
    }
}

fn num(v: &Value, k: &str) -> Option<i64> {
    let s = first(v, k)?.as_str()?;
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The first element name of a document node (`mongo.elements` → `mongo.element.name`).
fn first_element(doc: &Value) -> Option<String> {
    let els = first(doc, "mongo.elements")?;
    first(els, "mongo.element.name")?.as_str().map(str::to_owned)
}

fn legacy_command(op: i64) -> Option<&'static str> {
    match op {
        2001 => Some("update"),
        2002 => Some("insert"),
        2005 => Some("getMore"),
        2006 => Some("delete"),
        2007 => Some("killCursors"),
        _ => None,
    }
}

fn tshark_msgs(pcap: &Path) -> Option<Vec<Msg>> {
    let out = std::process::Command::new("tshark")
        .args([
            "-n",
            "-d",
            "tcp.port==27017,mongo",
            "-Y",
            "mongo",
            "-T",
            "json",
            "--no-duplicate-keys",
            "-r",
        ])
        .arg(pcap)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let packets: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut msgs = Vec::new();
    for p in packets {
        let Some(m) = p["_source"]["layers"].get("mongo") else { continue };
        let list = match m {
            Value::Array(a) => a.clone(),
            x => vec![x.clone()],
        };
        for m in list {
            let op = num(&m, "mongo.opcode").unwrap_or(-1);
            let to = num(&m, "mongo.response_to").unwrap_or(0);
            let inner = first(&m, "mongo.compression")
                .and_then(|c| num(c, "mongo.compression.original_opcode"))
                .unwrap_or(op);
            if inner == 1 || (inner == 2013 && to != 0) {
                msgs.push(Msg::Reply);
                continue;
            }
            let command = match inner {
                2013 => first(&m, "mongo.msg.sections.section")
                    .and_then(|s| first(s, "mongo.msg.sections.section.body"))
                    .and_then(first_element),
                2004 => {
                    let ns = first(&m, "mongo.full_collection_name").and_then(Value::as_str);
                    if ns.is_some_and(|n| n.ends_with(".$cmd")) {
                        first(&m, "mongo.query").and_then(first_element)
                    } else {
                        Some("find".to_owned())
                    }
                }
                o => legacy_command(o).map(str::to_owned),
            };
            msgs.push(Msg::Request { opcode: op, command });
        }
    }
    Some(msgs)
}

fn opcode_number(name: &str) -> i64 {
    match name {
        "OP_REPLY" => 1,
        "OP_UPDATE" => 2001,
        "OP_INSERT" => 2002,
        "OP_QUERY" => 2004,
        "OP_GET_MORE" => 2005,
        "OP_DELETE" => 2006,
        "OP_KILL_CURSORS" => 2007,
        "OP_COMPRESSED" => 2012,
        "OP_MSG" => 2013,
        _ => -1,
    }
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.mongodb") {
        let m = &e["network_traffic"]["mongodb"];
        let has_request =
            !e["event"]["reason"].as_str().is_some_and(|r| r.contains("response without request"));
        if has_request {
            out.push(Msg::Request {
                opcode: opcode_number(m["opcode"].as_str().unwrap_or_default()),
                command: m["method"].as_str().map(str::to_owned),
            });
        }
        if get(e, "event.end").is_some() {
            out.push(Msg::Reply);
        }
    }
    out
}

const DIFFERENCES: &str = "tests/mongodb-differences.txt";

/// The captures to compare: corpus captures where tshark saw MongoDB, and the fixtures.
fn captures() -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    if corpus().join("truth").is_dir() {
        for name in captures_with_app("mongo") {
            let p = corpus().join("pcaps").join(&name);
            v.push((name, p));
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mongodb");
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
fn mongodb_matches_tshark() {
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
    eprintln!(
        "{} captures: tshark MongoDB messages {total}, found in wirebeat {found}",
        caps.len()
    );
    differences.check("MongoDB differs");
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    let names: Vec<String> = captures().into_iter().map(|(n, _)| n).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a compared MongoDB capture");
}

/// The destructive commands Elastic's rule `impact_destructive_mongodb_command` looks for are
/// in `network_traffic.mongodb.method`, and the failed SCRAM login is a login failure.
#[test]
fn fixture_events_carry_what_the_rules_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mongodb/mongodb.pcap");
    let (_, events) = read(&[&path], &[]);
    let ev = of_dataset(&events, "network_traffic.mongodb");
    let method =
        |m: &str| ev.iter().find(|e| e["network_traffic"]["mongodb"]["method"] == m).copied();
    let drop = method("drop").expect("a drop");
    assert_eq!(drop["network_traffic"]["mongodb"]["resource"], "shop.sessions");
    assert!(drop["network_traffic"]["mongodb"]["query"].as_str().unwrap().contains("\"drop\""));
    assert_eq!(drop["method"], "drop");
    assert!(method("dropDatabase").is_some());
    let sasl = method("saslStart").unwrap();
    assert_eq!(sasl["event"]["outcome"], "failure");
    assert_eq!(sasl["error"]["code"], "18");
    assert_eq!(sasl["user"]["name"], "admin");
}
