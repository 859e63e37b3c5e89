//! POP3 transactions against tshark: for every corpus capture named for POP3, tshark runs at
//! test time (`-Y pop -T fields -e pop.request.command -e pop.response.indicator`) and gives
//! each client command (its keyword) and each status line (`+OK` / `-ERR`). tshark also shows
//! the client's SASL lines during AUTH as commands: only keywords (1 to 8 letters) are kept.
//! The wirebeat side: `network_traffic.pop3.command` and `status` of every event (the greeting
//! included). Compared as multisets per capture. Known differences are listed per capture,
//! with the reason, in `tests/pop3-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Command(String),
    Status(String),
}

fn truth(pcap: &Path) -> Option<Vec<Msg>> {
    let out = Command::new("tshark")
        .args(["-n", "-d", "tcp.port==11000,pop", "-r"])
        .arg(pcap)
        .args(["-Y", "pop", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
        .args(["-e", "pop.request.command", "-e", "pop.response.indicator"])
        .output()
        .ok()?;
    if !out.status.success() && out.stdout.is_empty() {
        return None;
    }
    let keyword =
        |c: &str| (1..=8).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphabetic());
    let mut msgs = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = l.split('\t').collect();
        let col = |i: usize| cols.get(i).copied().unwrap_or_default();
        msgs.extend(
            col(0).split('|').filter(|c| keyword(c)).map(|c| Msg::Command(c.to_uppercase())),
        );
        msgs.extend(
            col(1)
                .split('|')
                .filter(|c| *c == "+OK" || *c == "-ERR")
                .map(|c| Msg::Status(c.to_owned())),
        );
    }
    Some(msgs)
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.pop3") {
        let s = get(e, "network_traffic.pop3").unwrap();
        if let Some(c) = s.get("command").and_then(Value::as_str) {
            out.push(Msg::Command(c.to_owned()));
        }
        if let Some(st) = s.get("status").and_then(Value::as_str) {
            out.push(Msg::Status(st.to_owned()));
        }
    }
    out
}

/// Corpus captures named for POP3 (zeek-pop3-redis-50-pings.pcap is Redis on port 110 in
/// zeek's POP3 tests: wirebeat must not take it for POP3).
fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        corpus_pcaps().into_iter().filter(|p| capture_name(p).contains("pop3")).collect();
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pop3/dovecot.pcap"));
    v
}

const DIFFERENCES: &str = "tests/pop3-differences.txt";

#[test]
fn pop3_matches_tshark() {
    require_shared!();
    let caps = captures();
    let Some(first) = caps.first() else { return skipped("no POP3 capture") };
    if truth(first).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched) = (0, 0, 0);
    let ports = "wirebeat.protocols.pop3.ports=[110,11000]";
    for pcap in &caps {
        let name = &capture_name(pcap);
        let want = truth(pcap).unwrap();
        let (out, events) = read(&[pcap], &[ports]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        let got = wirebeat_msgs(&events);
        if want.is_empty() && got.is_empty() {
            continue;
        }
        compared += 1;
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
        differences.record_lines(name, &lines, 4);
    }
    eprintln!("{compared} captures: tshark commands and status lines {total}, found in wirebeat {matched}");
    assert!(compared >= 1, "no POP3 capture compared");
    differences.check("POP3 differs");
}

/// The logins of zeek pop3.pcap: AUTH PLAIN refused once, then accepted twice; the user is
/// read from the SASL line, the password never kept; RETR bodies counted.
#[test]
fn pop3_logins_and_retr() {
    require_shared!();
    let events = read_capture_ok("zeek-pop3-pop3.pcap", &[]);
    let pop = of_dataset(&events, "network_traffic.pop3");
    let logins: Vec<&&Value> = pop.iter().filter(|e| e["query"] == "AUTH PLAIN").collect();
    let outcomes: Vec<&str> =
        logins.iter().map(|e| e["event"]["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["failure", "success", "success"]);
    for l in &logins {
        assert_eq!(l["user"]["name"], "digitalinvestigator@networksims.com");
    }
    let text = serde_json::to_string(&pop).unwrap();
    assert!(!text.contains("AGRpZ2l0"), "SASL data never emitted");
    let retr: u64 = pop
        .iter()
        .filter(|e| e["method"] == "RETR")
        .map(|e| e["network_traffic"]["pop3"]["data_bytes"].as_u64().unwrap())
        .sum();
    assert!(retr > 15_000, "{retr}");
    let redis = read_capture_ok("zeek-pop3-redis-50-pings.pcap", &[]);
    assert!(of_dataset(&redis, "network_traffic.pop3").len() <= 1, "Redis on port 110 is not POP3");
}

/// The Dovecot fixture: STLS answered +OK hands the connection to TLS (the handshake that
/// follows is a TLS event), and no password or SASL secret reaches an event.
#[test]
fn pop3_fixture_starttls_and_secrets() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pop3/dovecot.pcap");
    let (out, events) = read(&[&pcap], &["wirebeat.protocols.pop3.ports=[110,11000]"]);
    assert_eq!(out.status.code(), Some(0));
    let ev = of_dataset(&events, "network_traffic.pop3");
    assert!(ev.iter().any(|e| e["method"] == "STLS" && e["event"]["outcome"] == "success"));
    assert_eq!(of_dataset(&events, "network_traffic.tls").len(), 1, "the TLS after STLS");
    let fails = ev.iter().filter(|e| e["event"]["outcome"] == "failure").count();
    assert_eq!(fails, 1, "the refused login");
    let text = serde_json::to_string(&ev).unwrap();
    assert!(!text.contains("wonderland") && !text.contains("AGFsaWNl"), "no secret in events");
}

#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a POP3 capture");
}
