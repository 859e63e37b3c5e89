//! Redis transactions against tshark: for every corpus capture whose name says Redis/RESP and
//! every committed fixture (`tests/data/redis/*.pcap`), tshark runs at test time (`-Y resp`,
//! JSON tree) and gives each top-level RESP message: a client's command (its name, from the
//! first bulk string of the array; `<inline>` for each inline command line, which tshark 4.0
//! shows as a `resp.fragment`) and a server's reply by type. wirebeat's `network_traffic.redis`
//! events give the same: `network_traffic.redis.command` (or `<inline>` when `inline`) and
//! `reply_type`. Compared as multisets per capture.
//!
//! Pub/sub messages pushed to a subscriber (arrays starting `message`/`pmessage`/`smessage`)
//! are not replies: wirebeat publishes no event for them, so they are left out of tshark's side
//! (counted and printed). Known differences are listed per capture, with the reason, in
//! `tests/redis-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Command(String),
    Reply(String),
}

/// Port of the fixtures' redis-server (the corpus uses 6379).
const FIXTURE_PORT: &str = "63790";

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(x) => vec![x],
        None => vec![],
    }
}

fn hex_text(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    let bytes: Vec<u8> = s.split(':').filter_map(|h| u8::from_str_radix(h, 16).ok()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The first element's text of a tshark `resp.array` object, if it is a bulk string.
fn first_bulk(arr: &Value) -> Option<String> {
    let b = as_list(arr.get("resp.bulk_string")).into_iter().next()?;
    Some(as_list(b.get("resp.bulk_string.value")).first().map(|v| hex_text(v)).unwrap_or_default())
}

/// tshark's messages of a capture and the number of pushed pub/sub messages left out; `None`
/// when tshark is not usable.
fn truth(pcap: &Path) -> Option<(Vec<Msg>, usize)> {
    let out = Command::new("tshark")
        .args(["-n", "-d", &format!("tcp.port=={FIXTURE_PORT},resp"), "-r"])
        .arg(pcap)
        .args(["-Y", "resp", "-T", "json", "--no-duplicate-keys", "-J", "tcp resp"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let frames: Value = serde_json::from_slice(&out.stdout).ok()?;
    let (mut msgs, mut pushed) = (Vec::new(), 0);
    for f in frames.as_array()? {
        let layers = &f["_source"]["layers"];
        let dport = as_list(layers["tcp"].get("tcp.dstport")).first().and_then(|v| v.as_str());
        let to_server = dport == Some("6379") || dport == Some(FIXTURE_PORT);
        for resp in as_list(layers.get("resp")) {
            let Some(obj) = resp.as_object() else { continue };
            for (k, v) in obj {
                for item in as_list(Some(v)) {
                    let msg = match (to_server, k.as_str()) {
                        (true, "resp.array") => {
                            Msg::Command(first_bulk(item).unwrap_or_default().to_uppercase())
                        }
                        (true, "resp.fragment") => Msg::Command("<inline>".into()),
                        (true, other) => Msg::Command(format!("<{other}>")),
                        (false, "resp.string") => Msg::Reply("simple_string".into()),
                        (false, "resp.error") => Msg::Reply("error".into()),
                        (false, "resp.integer") => Msg::Reply("integer".into()),
                        (false, "resp.bulk_string") => {
                            let len = as_list(item.get("resp.bulk_string.length"));
                            let null = len.first().and_then(|v| v.as_str()) == Some("-1");
                            Msg::Reply(if null { "null" } else { "bulk_string" }.into())
                        }
                        (false, "resp.array") => {
                            let len = as_list(item.get("resp.array.length"));
                            if len.first().and_then(|v| v.as_str()) == Some("-1") {
                                Msg::Reply("null".into())
                            } else if first_bulk(item).is_some_and(|w| {
                                ["message", "pmessage", "smessage"]
                                    .contains(&w.to_lowercase().as_str())
                            }) {
                                pushed += 1;
                                continue;
                            } else {
                                Msg::Reply("array".into())
                            }
                        }
                        (false, other) => Msg::Reply(format!("<{other}>")),
                    };
                    msgs.push(msg);
                }
            }
        }
    }
    Some((msgs, pushed))
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.redis") {
        let r = get(e, "network_traffic.redis").unwrap();
        if let Some(c) = r.get("command").and_then(Value::as_str) {
            let inline = r.get("inline").and_then(Value::as_bool).unwrap_or(false);
            out.push(Msg::Command(if inline { "<inline>".into() } else { c.to_owned() }));
        }
        if let Some(t) = r.get("reply_type").and_then(Value::as_str) {
            out.push(Msg::Reply(t.to_owned()));
        }
    }
    out
}

/// Corpus captures named for Redis/RESP, then the committed fixtures.
fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = corpus_pcaps()
        .into_iter()
        .filter(|p| {
            let n = capture_name(p);
            n.contains("redis") || n.contains("resp_")
        })
        .collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/redis");
    let mut f: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
                .collect()
        })
        .unwrap_or_default();
    f.sort();
    v.extend(f);
    v
}

const DIFFERENCES: &str = "tests/redis-differences.txt";

#[test]
fn redis_matches_tshark() {
    require_shared!();
    if truth(&captures()[0]).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched, mut pushed_total) = (0, 0, 0, 0);
    for pcap in captures() {
        let name = capture_name(&pcap);
        let (want, pushed) = truth(&pcap).unwrap();
        let ports = format!("wirebeat.protocols.redis.ports=[6379,{FIXTURE_PORT}]");
        let (out, events) = read(&[&pcap], &[&ports]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        let got = wirebeat_msgs(&events);
        if want.is_empty() && got.is_empty() {
            continue;
        }
        compared += 1;
        pushed_total += pushed;
        let (want, got) = (multiset(want), multiset(got));
        let (missing, extra) = multiset_diff(&want, &got);
        let n_want: u64 = want.values().sum();
        total += n_want;
        matched += n_want - missing.iter().map(|(n, _)| n).sum::<u64>();
        let mut lines = Vec::new();
        for (n, m) in &missing {
            lines.push(format!("{n}x missing {m:?}"));
        }
        for (n, m) in &extra {
            lines.push(format!("{n}x extra {m:?}"));
        }
        differences.record_lines(&name, &lines, 4);
    }
    eprintln!(
        "{compared} captures: tshark messages {total}, found in wirebeat {matched}; \
         {pushed_total} pushed pub/sub messages left out"
    );
    assert!(compared >= 10, "only {compared} captures compared");
    differences.check("Redis differs");
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a Redis capture");
}
