//! SMB2/SMB3 against tshark: for every corpus capture whose name says smb (and the committed
//! fixtures, `tests/data/smb/*.pcap`), tshark runs at test time (`-Y smb2 -T fields`) and gives
//! each SMB2 PDU's command, NT status and response flag, the NTLMSSP AUTHENTICATE user names,
//! the tree (share) names and the CREATE file names. wirebeat's `network_traffic.smb` events
//! give the same: a request per event (unless it notes "response without request") and a
//! response with its status (when it has one). Commands and statuses are compared as multisets
//! per capture; users, trees and file names as sets. Interim STATUS_PENDING responses are not
//! events in wirebeat (the final response closes the transaction): they are left out of
//! tshark's side. Known differences per capture, with the reason, are in
//! `tests/smb-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Request(String),
    Response(String, String),
    User(String),
    Tree(String),
    File(String),
}

const FIXTURE_PORT: &str = "4450";

const COMMANDS: [&str; 19] = [
    "NEGOTIATE",
    "SESSION_SETUP",
    "LOGOFF",
    "TREE_CONNECT",
    "TREE_DISCONNECT",
    "CREATE",
    "CLOSE",
    "FLUSH",
    "READ",
    "WRITE",
    "LOCK",
    "IOCTL",
    "CANCEL",
    "ECHO",
    "QUERY_DIRECTORY",
    "CHANGE_NOTIFY",
    "QUERY_INFO",
    "SET_INFO",
    "OPLOCK_BREAK",
];

fn split(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').collect()
    }
}

/// tshark's items of a capture and the interim responses left out; `None` when tshark fails.
fn truth(pcap: &Path) -> Option<(Vec<Item>, usize)> {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-d",
            &format!("tcp.port=={FIXTURE_PORT},nbss"),
            "-d",
            "tcp.port==4445,nbss",
            "-r",
        ])
        .arg(pcap)
        .args(["-Y", "smb2", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,"])
        .args(["-e", "smb2.cmd", "-e", "smb2.nt_status", "-e", "smb2.flags.response"])
        .args(["-e", "ntlmssp.auth.username", "-e", "smb2.tree", "-e", "smb2.filename"])
        .args(["-e", "smb2.flags.async"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut items, mut interim) = (Vec::new(), 0);
    let (mut users, mut trees, mut files) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let col = |i: usize| cols.get(i).copied().unwrap_or("");
        let (cmds, stats, resp) = (split(col(0)), split(col(1)), split(col(2)));
        for (i, c) in cmds.iter().enumerate() {
            let name = c
                .parse::<usize>()
                .ok()
                .and_then(|n| COMMANDS.get(n).copied())
                .unwrap_or("UNKNOWN")
                .to_owned();
            let st = stats.get(i).copied().unwrap_or("");
            let st = u32::from_str_radix(st.trim_start_matches("0x"), 16).unwrap_or(0);
            let is_resp = matches!(resp.get(i).copied(), Some("1" | "True" | "true"));
            if !is_resp {
                items.push(Item::Request(name));
            } else if st == 0x103 {
                interim += 1;
            } else {
                items.push(Item::Response(name, format!("0x{st:08x}")));
            }
        }
        for u in split(col(3)) {
            if !u.is_empty() && u != "NULL" {
                users.insert(u.to_owned());
            }
        }
        for t in split(col(4)) {
            if !t.is_empty() {
                trees.insert(t.to_owned());
            }
        }
    }
    // File names: those of CREATE requests (tshark also shows directory-listing names).
    let out = Command::new("tshark")
        .args([
            "-n",
            "-d",
            &format!("tcp.port=={FIXTURE_PORT},nbss"),
            "-d",
            "tcp.port==4445,nbss",
            "-r",
        ])
        .arg(pcap)
        .args(["-Y", "smb2.cmd == 5 && smb2.flags.response == 0", "-T", "fields"])
        .args(["-E", "occurrence=a", "-E", "aggregator=\t", "-e", "smb2.filename"])
        .output()
        .ok()?;
    for f in String::from_utf8_lossy(&out.stdout).lines().flat_map(|l| l.split('\t')) {
        let base = f.rsplit('\\').next().unwrap_or(f);
        if !base.is_empty() && !f.starts_with('<') {
            files.insert(base.to_owned());
        }
    }
    items.extend(users.into_iter().map(Item::User));
    items.extend(trees.into_iter().map(Item::Tree));
    items.extend(files.into_iter().map(Item::File));
    Some((items, interim))
}

fn wirebeat_items(events: &[Value]) -> Vec<Item> {
    let mut out = Vec::new();
    let (mut users, mut trees, mut files) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for e in of_dataset(events, "network_traffic.smb") {
        let s = get(e, "network_traffic.smb").unwrap();
        if s.get("version").and_then(Value::as_str) != Some("SMB2") {
            continue;
        }
        let cmd = s.get("command").and_then(Value::as_str).unwrap_or_default().to_owned();
        if cmd == "ENCRYPTED" {
            continue;
        }
        let reason = get(e, "event.reason").and_then(Value::as_str).unwrap_or_default();
        if !reason.contains("response without request") && !reason.contains("notification") {
            out.push(Item::Request(cmd.clone()));
        }
        if let Some(st) = s.get("status_code").and_then(Value::as_str) {
            out.push(Item::Response(cmd.clone(), st.to_owned()));
        }
        if let Some(u) = get(e, "user.name").and_then(Value::as_str) {
            if cmd == "SESSION_SETUP" {
                users.insert(u.to_owned());
            }
        }
        if let Some(t) = s.get("tree").and_then(Value::as_str) {
            trees.insert(t.to_owned());
        }
        if let Some(f) = get(e, "file.name").and_then(Value::as_str) {
            if !f.is_empty() && cmd == "CREATE" {
                files.insert(f.to_owned());
            }
        }
    }
    out.extend(users.into_iter().map(Item::User));
    out.extend(trees.into_iter().map(Item::Tree));
    out.extend(files.into_iter().map(Item::File));
    out
}

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        corpus_pcaps().into_iter().filter(|p| capture_name(p).contains("smb")).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/smb");
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

const DIFFERENCES: &str = "tests/smb-differences.txt";

#[test]
fn smb_matches_tshark() {
    require_shared!();
    if truth(&captures()[0]).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched, mut interim_total) = (0, 0, 0, 0);
    for pcap in captures() {
        let name = capture_name(&pcap);
        let (want, interim) = truth(&pcap).unwrap();
        let ports = format!("wirebeat.protocols.smb.ports=[445,139,{FIXTURE_PORT}]");
        let (out, events) = read(&[&pcap], &[&ports]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        let got = wirebeat_items(&events);
        if want.is_empty() && got.is_empty() {
            continue;
        }
        compared += 1;
        interim_total += interim;
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
        differences.record_lines(&name, &lines, 6);
    }
    eprintln!(
        "{compared} captures: tshark items {total}, found in wirebeat {matched}; \
         {interim_total} interim STATUS_PENDING responses left out"
    );
    assert!(compared >= 10, "only {compared} captures compared");
    differences.check("SMB differs");
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "an SMB capture");
}
