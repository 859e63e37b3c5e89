//! IMAP transactions against tshark: for every corpus capture of IMAP (named so, or filed
//! under IMAP by the corpus README), tshark runs at test time (`-Y imap -T fields -e
//! imap.request.command -e imap.response_tag -e imap.response.status`) and gives each client
//! command (its name) and each tagged completion (tag and status). The wirebeat side:
//! `network_traffic.imap.command` (`UID FETCH` as tshark names it, `FETCH`) and (`tag`,
//! `status`) of every event but the greeting. Also the Dovecot fixture (`tests/data/imap/`).
//! Compared as multisets per capture. Known differences are listed per capture, with the
//! reason, in `tests/imap-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Command(String),
    Completion(String, String),
}

fn truth(pcap: &Path) -> Option<Vec<Msg>> {
    let out = Command::new("tshark")
        .args(["-n", "-d", "tcp.port==14300,imap", "-r"])
        .arg(pcap)
        .args(["-Y", "imap", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
        .args([
            "-e",
            "imap.request.command",
            "-e",
            "imap.response_tag",
            "-e",
            "imap.response.status",
        ])
        .output()
        .ok()?;
    if !out.status.success() && out.stdout.is_empty() {
        return None;
    }
    let mut msgs = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = l.split('\t').collect();
        let col = |i: usize| cols.get(i).copied().unwrap_or_default();
        msgs.extend(
            col(0).split('|').filter(|c| !c.is_empty()).map(|c| Msg::Command(c.to_uppercase())),
        );
        // Continuation requests ("+ OK") and a literal's closing ")" show as tags too; the
        // completions are the last tags of the segment, with the last statuses.
        let all: Vec<&str> = col(1).split('|').filter(|c| !c.is_empty()).collect();
        let statuses: Vec<&str> = col(2).split('|').filter(|c| !c.is_empty()).collect();
        let tags: Vec<&str> =
            all.iter().copied().filter(|c| !matches!(*c, "*" | "+" | ")")).collect();
        let statuses = &statuses[statuses.len().saturating_sub(tags.len())..];
        for (t, s) in tags.iter().zip(statuses) {
            msgs.push(Msg::Completion((*t).to_owned(), s.to_uppercase()));
        }
    }
    Some(msgs)
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.imap") {
        let s = get(e, "network_traffic.imap").unwrap();
        if let Some(c) = s.get("command").and_then(Value::as_str) {
            // tshark names `UID FETCH` by its second word (with imap.request.command.uid).
            out.push(Msg::Command(c.strip_prefix("UID ").unwrap_or(c).to_owned()));
        }
        let tag = s.get("tag").and_then(Value::as_str);
        let status = s.get("status").and_then(Value::as_str);
        if let (Some(t), Some(st)) = (tag, status) {
            out.push(Msg::Completion(t.to_owned(), st.to_owned()));
        }
    }
    out
}

/// Corpus captures named for IMAP, and the one the corpus README files under IMAP by content.
fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = corpus_pcaps()
        .into_iter()
        .filter(|p| {
            let n = capture_name(p);
            n.contains("imap") || n == "sv-tcp-async-01.pcap"
        })
        .collect();
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/imap/dovecot.pcap"));
    v
}

const DIFFERENCES: &str = "tests/imap-differences.txt";

#[test]
fn imap_matches_tshark() {
    require_shared!();
    let caps = captures();
    let Some(first) = caps.first() else { return skipped("no IMAP capture") };
    if truth(first).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched) = (0, 0, 0);
    let ports = "wirebeat.protocols.imap.ports=[143,14300]";
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
    eprintln!(
        "{compared} captures: tshark commands and completions {total}, found in wirebeat {matched}"
    );
    assert!(compared >= 1, "no IMAP capture compared");
    differences.check("IMAP differs");
}

/// The server-only capture: greeting first, FETCH literals skipped without losing the lines.
#[test]
fn imap_server_side_literals_are_skipped() {
    require_shared!();
    let events = read_capture_ok("sv-tcp-async-01.pcap", &[]);
    let imap = of_dataset(&events, "network_traffic.imap");
    assert_eq!(imap[0]["network_traffic"]["imap"]["greeting"], true);
    let literal: u64 =
        imap.iter().filter_map(|e| e["network_traffic"]["imap"]["literal_bytes"].as_u64()).sum();
    let fetches =
        imap.iter().filter(|e| e["network_traffic"]["imap"]["text"] == "Fetch completed").count();
    assert!(fetches >= 2, "{fetches} FETCH completions");
    assert_eq!(literal, 0, "without the commands, the server's literals count on no command");
}

/// The Dovecot fixture: STARTTLS answered OK hands the connection to TLS (the handshake that
/// follows is a TLS event), and no password or SASL secret reaches an event.
#[test]
fn imap_fixture_starttls_and_secrets() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/imap/dovecot.pcap");
    let (out, events) = read(&[&pcap], &["wirebeat.protocols.imap.ports=[143,14300]"]);
    assert_eq!(out.status.code(), Some(0));
    let ev = of_dataset(&events, "network_traffic.imap");
    assert!(ev.iter().any(|e| e["method"] == "STARTTLS" && e["event"]["outcome"] == "success"));
    assert_eq!(of_dataset(&events, "network_traffic.tls").len(), 1, "the TLS after STARTTLS");
    let fails = ev.iter().filter(|e| e["event"]["outcome"] == "failure").count();
    assert_eq!(fails, 1, "the refused login");
    let text = serde_json::to_string(&ev).unwrap();
    assert!(!text.contains("wonderland") && !text.contains("AGFsaWNl"), "no secret in events");
}

#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "an IMAP capture");
}
