//! SMTP transactions against tshark: for every corpus capture whose name says SMTP, tshark runs
//! at test time (`-Y smtp -T fields -e smtp.req.command -e smtp.response.code`) and gives each
//! client command (its verb) and each server reply (its code; a multi-line reply is one). The
//! wirebeat side: `network_traffic.smtp.command` of every event and its reply codes
//! (`response.code`, and `intermediate_code`: the 354 of DATA, the 334s of AUTH,
//! `auth_challenges` of them). Compared as
//! multisets per capture, verbs uppercased (tshark keeps the client's case). Known differences
//! are listed per capture, with the reason, in `tests/smtp-differences.txt`; the list may only
//! shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Command(String),
    Reply(u64),
}

/// tshark's commands and replies of a capture; `None` when tshark is not usable.
fn truth(pcap: &Path) -> Option<Vec<Msg>> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", "smtp", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
        .args(["-e", "smtp.req.command", "-e", "smtp.response.code"])
        .output()
        .ok()?;
    if !out.status.success() && out.stdout.is_empty() {
        return None;
    }
    let mut msgs = Vec::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cols = l.split('\t');
        let cmds = cols.next().unwrap_or_default();
        let codes = cols.next().unwrap_or_default();
        msgs.extend(
            cmds.split('|').filter(|c| !c.is_empty()).map(|c| Msg::Command(c.to_uppercase())),
        );
        msgs.extend(codes.split('|').filter_map(|c| c.parse().ok()).map(Msg::Reply));
    }
    Some(msgs)
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.smtp") {
        let s = get(e, "network_traffic.smtp").unwrap();
        if let Some(c) = s.get("command").and_then(Value::as_str) {
            out.push(Msg::Command(c.to_owned()));
        }
        if let Some(c) = s.get("intermediate_code").and_then(Value::as_u64) {
            let n = s.get("auth_challenges").and_then(Value::as_u64).unwrap_or(1);
            out.extend((0..n).map(|_| Msg::Reply(c)));
        }
        if let Some(c) = get(s, "response.code").and_then(Value::as_u64) {
            out.push(Msg::Reply(c));
        }
    }
    out
}

fn captures() -> Vec<PathBuf> {
    corpus_pcaps().into_iter().filter(|p| capture_name(p).contains("smtp")).collect()
}

const DIFFERENCES: &str = "tests/smtp-differences.txt";

#[test]
fn smtp_matches_tshark() {
    require_shared!();
    let caps = captures();
    if caps.is_empty() || truth(&caps[0]).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched) = (0, 0, 0);
    for pcap in caps {
        let name = capture_name(&pcap);
        let want = truth(&pcap).unwrap();
        let (out, events) = read(&[&pcap], &[]);
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
        differences.record_lines(&name, &lines, 4);
    }
    eprintln!(
        "{compared} captures: tshark commands and replies {total}, found in wirebeat {matched}"
    );
    assert!(compared >= 20, "only {compared} captures compared");
    differences.check("SMTP differs");
}

/// Events carry what a person reads in Kibana: the envelope on the mail's last command, the
/// reply codes, outcomes and durations.
#[test]
fn smtp_events_carry_envelope_and_outcome() {
    require_shared!();
    let events = read_capture_ok("sv-smtp-rset.pcap", &[]);
    let smtp = of_dataset(&events, "network_traffic.smtp");
    assert_eq!(smtp.len(), 10, "greeting and 9 commands");
    let bdat: Vec<&&Value> = smtp.iter().filter(|e| e["method"] == "BDAT").collect();
    assert_eq!(bdat.len(), 2);
    for b in bdat {
        assert_eq!(b["email"]["from"]["address"][0], "username@domain.com");
        assert_eq!(b["email"]["to"]["address"][0], "john.doe@example.com");
        assert_eq!(b["event"]["outcome"], "success");
        assert!(b["event"]["duration"].as_u64().unwrap() > 0);
    }
}

/// STARTTLS accepted (220) hands the connection to TLS: the TLS handshake that follows is
/// parsed as TLS.
#[test]
fn starttls_hands_over_to_tls() {
    require_shared!();
    let events = read_capture_ok("zeek-tls-smtp-starttls.pcap", &[]);
    let starttls = of_dataset(&events, "network_traffic.smtp")
        .into_iter()
        .find(|e| e["method"] == "STARTTLS")
        .expect("a STARTTLS event");
    assert_eq!(starttls["network_traffic"]["smtp"]["response"]["code"], 220);
    assert!(
        !of_dataset(&events, "network_traffic.tls").is_empty(),
        "the handshake after STARTTLS is TLS"
    );
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "an SMTP capture");
}
