//! memcache transactions against tshark, for the committed fixtures (`tests/data/memcache/`,
//! made from a real memcached; no public capture of memcache exists in the corpus). tshark runs
//! at test time (`-d tcp.port==11311,memcache -d udp.port==11311,memcache`, JSON tree) and gives
//! each message it decodes: a text request (command, first key), a text reply (its word:
//! STORED, END, VERSION, STAT for a stats reply, VALUE for a reply carrying values), a binary
//! request (opcode, key) and a binary response (opcode, status). wirebeat's
//! `network_traffic.memcached` events give the same. Compared as multisets per capture; known
//! differences are listed with the reason in `tests/memcache-differences.txt` (may only shrink).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    TextRequest(String, Option<String>),
    TextReply(String),
    BinaryRequest(u64, Option<String>),
    BinaryResponse(u64, u64),
}

const PORT: u16 = 11311;

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(x) => vec![x],
        None => vec![],
    }
}

fn first_str(v: &Value, k: &str) -> Option<String> {
    as_list(v.get(k)).first().and_then(|x| x.as_str()).map(str::to_owned)
}

fn num(v: &Value, k: &str) -> u64 {
    first_str(v, k).and_then(|s| s.parse().ok()).unwrap_or(u64::MAX)
}

fn truth(pcap: &Path) -> Option<Vec<Msg>> {
    let out = Command::new("tshark")
        .args(["-n", "-d", &format!("tcp.port=={PORT},memcache")])
        .args(["-d", &format!("udp.port=={PORT},memcache"), "-r"])
        .arg(pcap)
        .args(["-Y", "memcache", "-T", "json", "--no-duplicate-keys"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let frames: Value = serde_json::from_slice(&out.stdout).ok()?;
    let mut msgs = Vec::new();
    for f in frames.as_array()? {
        let l = &f["_source"]["layers"];
        let transport = if l.get("tcp").is_some() { &l["tcp"] } else { &l["udp"] };
        let to_server = first_str(transport, "tcp.dstport")
            .or_else(|| first_str(transport, "udp.dstport"))
            == Some(PORT.to_string());
        for m in as_list(l.get("memcache")) {
            let msg = if !m.is_object() {
                if to_server {
                    Msg::TextRequest("<undecoded>".into(), None)
                } else {
                    Msg::TextReply("<undecoded>".into())
                }
            } else if m.get("memcache.magic").is_some() {
                let key = first_str(m, "memcache.key");
                if to_server {
                    Msg::BinaryRequest(num(m, "memcache.opcode"), key)
                } else {
                    Msg::BinaryResponse(num(m, "memcache.opcode"), num(m, "memcache.status"))
                }
            } else if to_server {
                let cmd = first_str(m, "memcache.command").unwrap_or_default();
                Msg::TextRequest(cmd, first_str(m, "memcache.key"))
            } else if let Some(r) = first_str(m, "memcache.response") {
                Msg::TextReply(r)
            } else if m.get("memcache.version").is_some() {
                Msg::TextReply("VERSION".into())
            } else if first_str(m, "memcache.command").as_deref() == Some("STAT") {
                Msg::TextReply("STAT".into())
            } else if m.get("memcache.key").is_some() {
                Msg::TextReply("VALUE".into())
            } else {
                Msg::TextReply("<other>".into())
            };
            msgs.push(msg);
        }
    }
    Some(msgs)
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.memcached") {
        let m = get(e, "network_traffic.memcached").unwrap();
        let binary = m["protocol_type"] == "binary";
        if let Some(r) = m.get("request") {
            let key = as_list(r.get("keys")).first().and_then(|k| k.as_str()).map(str::to_owned);
            out.push(if binary {
                Msg::BinaryRequest(r["opcode_value"].as_u64().unwrap(), key)
            } else {
                Msg::TextRequest(r["command"].as_str().unwrap().to_owned(), key)
            });
        }
        if let Some(r) = m.get("response") {
            out.push(if binary {
                let op = e["network_traffic"]["memcached"]["request"]["opcode_value"].as_u64();
                Msg::BinaryResponse(op.unwrap_or(u64::MAX), r["status_code"].as_u64().unwrap())
            } else {
                Msg::TextReply(r["command"].as_str().unwrap().to_owned())
            });
        }
    }
    out
}

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/memcache");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    v
}

const DIFFERENCES: &str = "tests/memcache-differences.txt";

#[test]
fn memcache_matches_tshark() {
    let caps = captures();
    assert!(caps.len() >= 2, "fixtures missing");
    if truth(&caps[0]).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut total, mut matched) = (0, 0);
    for pcap in &caps {
        let name = capture_name(pcap);
        let want = truth(pcap).unwrap();
        let ports = format!("wirebeat.protocols.memcache.ports=[11211,{PORT}]");
        let (out, events) = read(&[pcap], &[&ports]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("panicked"), "{name}: {stderr}");
        let got = wirebeat_msgs(&events);
        assert!(!got.is_empty(), "{name}: no memcache events");
        let (want, got) = (multiset(want), multiset(got));
        let (missing, extra) = multiset_diff(&want, &got);
        let n: u64 = want.values().sum();
        total += n;
        matched += n - missing.iter().map(|(k, _)| k).sum::<u64>();
        let mut lines = Vec::new();
        for (k, m) in &missing {
            lines.push(format!("{k}x missing {m:?}"));
        }
        for (k, m) in &extra {
            lines.push(format!("{k}x extra {m:?}"));
        }
        differences.record_lines(&name, &lines, 40);
    }
    eprintln!("{} captures: tshark messages {total}, found in wirebeat {matched}", caps.len());
    differences.check("memcache differs");
}

#[test]
fn differences_file_is_well_formed() {
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a memcache fixture");
}
