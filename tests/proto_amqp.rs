//! AMQP methods against tshark: for every AMQP capture of the fixtures (the corpus has none),
//! every method frame tshark decodes (class and method, e.g. `queue.declare-ok`) must be a
//! method of wirebeat's `network_traffic.amqp` events (the request's `method`, the answer's
//! `network_traffic.amqp.response_method`), and every reply code of a `connection.close` or
//! `channel.close` must be on the close's event; compared as multisets per capture, run at test
//! time (`tshark -T pdml`).
//!
//! Known differences are listed per capture, with the reason, in `tests/amqp-differences.txt`.
//! The list may only shrink: a listed capture that now agrees fails the test.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (capture, the port its broker listened on).
const FIXTURES: &[(&str, u16)] = &[("amqp/rabbitmq.pcap", 56720)];

const DIFFERENCES: &str = "tests/amqp-differences.txt";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Method(String),
    /// Reply code of a close.
    Close(String, u64),
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

/// `show` of a PDML `<field name="…" showname="Class: Queue (50)">`: the word before " (".
fn showname_word(line: &str) -> Option<String> {
    let s = line.split("showname=\"").nth(1)?;
    let s = s.split(": ").nth(1)?;
    Some(s.split(" (").next()?.to_lowercase())
}

fn attr(line: &str, key: &str) -> Option<String> {
    Some(line.split(&format!("{key}=\"")).nth(1)?.split('"').next()?.to_owned())
}

fn truth(pcap: &Path, port: u16) -> Vec<Msg> {
    let out = Command::new("tshark")
        .args(["-n", "-d", &format!("tcp.port=={port},amqp"), "-T", "pdml", "-r"])
        .arg(pcap)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut msgs = Vec::new();
    let mut class = None;
    let mut last = String::new();
    for line in text.lines() {
        if line.contains("name=\"amqp.method.class\"") {
            class = showname_word(line);
        } else if line.contains("name=\"amqp.method.method\"") {
            if let (Some(c), Some(m)) = (class.take(), showname_word(line)) {
                last = format!("{c}.{m}");
                msgs.push(Msg::Method(last.clone()));
            }
        } else if line.contains("name=\"amqp.method.arguments.reply_code\"")
            && last.ends_with(".close")
        {
            let code = attr(line, "show").and_then(|s| s.parse().ok()).unwrap_or(0);
            msgs.push(Msg::Close(last.clone(), code));
        }
    }
    msgs
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.amqp") {
        let method = get(e, "method").and_then(Value::as_str).unwrap_or_default().to_owned();
        let amqp = get(e, "network_traffic.amqp");
        if let Some(r) = amqp.and_then(|a| a.get("response_method")).and_then(Value::as_str) {
            out.push(Msg::Method(r.to_owned()));
        }
        if method.ends_with(".close") {
            if let Some(c) = amqp.and_then(|a| a.get("reply-code")).and_then(Value::as_u64) {
                out.push(Msg::Close(method.clone(), c));
            }
        }
        out.push(Msg::Method(method));
    }
    out
}

#[test]
fn amqp_matches_tshark() {
    if !tshark_present() {
        skipped("tshark not installed");
        return;
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total) = (0, 0);
    for (name, port) in FIXTURES {
        let pcap = fixture(name);
        let (out, events) = read(&[&pcap], &[&format!("wirebeat.protocols.amqp.ports=[{port}]")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let want = multiset(truth(&pcap, *port));
        assert!(!want.is_empty(), "{name}: tshark decoded no AMQP");
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = multiset_diff(&want, &got);
        total += want.values().sum::<u64>();
        compared += 1;
        let mut lines: Vec<String> = missing.iter().map(|m| format!("missing {m:?}")).collect();
        lines.extend(extra.iter().map(|m| format!("extra {m:?}")));
        differences.record_lines(name, &lines, 5);
    }
    eprintln!("amqp: {compared} captures, {total} tshark messages compared");
    differences.check("AMQP differs");
}

#[test]
fn refused_login_is_counted_as_an_auth_failure() {
    let (out, events) =
        read(&[&fixture("amqp/rabbitmq.pcap")], &["wirebeat.protocols.amqp.ports=[56720]"]);
    assert!(out.status.success());
    let amqp = of_dataset(&events, "network_traffic.amqp");
    let refused: Vec<_> = amqp
        .iter()
        .filter(|e| get(e, "network_traffic.amqp.reply-code").and_then(Value::as_u64) == Some(403))
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(get(refused[0], "status").and_then(Value::as_str), Some("Error"));
    let purge = amqp
        .iter()
        .find(|e| get(e, "method").and_then(Value::as_str) == Some("queue.purge"))
        .unwrap();
    assert_eq!(get(purge, "query").and_then(Value::as_str), Some("queue.purge wb-queue"));
    assert_eq!(get(purge, "network_traffic.amqp.message-count").and_then(Value::as_u64), Some(1));
}
