//! Kerberos against tshark, run at test time on every corpus capture with Kerberos (name
//! contains "krb" or "kerberos", or tshark's truth dissects Kerberos in it) and on the committed
//! fixtures (`tests/data/kerberos/*.pcap`): every KDC message tshark dissects on port 88
//! (AS-REQ, AS-REP, TGS-REQ, TGS-REP, KRB-ERROR) must be in wirebeat's
//! `network_traffic.kerberos` events (port 18888 too on the fixture), compared as multisets per capture of (message type,
//! error code, client principal, detail) — the detail of a request is its etype list, of a
//! reply or error the service principal and the ticket's and enc-part's etypes.
//!
//! Known differences are listed per capture, with the reason, in
//! `tests/kerberos-differences.txt`. The list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (msg-type, error-code or -1, client principal, detail).
type Msg = (u64, i64, String, String);

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

/// `list` cut into `n` equal parts (the values of `n` messages of one frame), or `n` times
/// "?" when it cannot be.
fn split(list: &[&str], n: usize, sep: &str) -> Vec<String> {
    if n == 1 {
        return vec![list.join(sep)];
    }
    if list.is_empty() {
        return vec![String::new(); n];
    }
    if !list.len().is_multiple_of(n) {
        return vec!["?".into(); n];
    }
    list.chunks(list.len() / n).map(|c| c.join(sep)).collect()
}

fn truth(path: &Path) -> Vec<Msg> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-d", &format!("udp.port=={FIXTURE_PORT},kerberos")])
        .args(["-d", &format!("tcp.port=={FIXTURE_PORT},kerberos")])
        .args(["-Y", &format!("kerberos.msg_type && (udp.port == 88 || tcp.port == 88 || udp.port == {FIXTURE_PORT} || tcp.port == {FIXTURE_PORT})")])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "aggregator=|"])
        .args(["-e", "kerberos.msg_type", "-e", "kerberos.error_code"])
        .args(["-e", "kerberos.CNameString", "-e", "kerberos.SNameString"])
        .args(["-e", "kerberos.ENCTYPE", "-e", "kerberos.etype"])
        .output()
        .unwrap();
    let mut msgs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<Vec<&str>> =
            line.split('\t').map(|c| c.split('|').filter(|s| !s.is_empty()).collect()).collect();
        let col = |i: usize| cols.get(i).cloned().unwrap_or_default();
        // KDC messages of the frame (AP-REQ 14 inside a TGS-REQ's padata is not one).
        let types: Vec<u64> = col(0)
            .iter()
            .filter_map(|t| t.parse().ok())
            .filter(|t| matches!(t, 10..=13 | 30))
            .collect();
        let n = types.len();
        if n == 0 {
            continue;
        }
        let errors = col(1);
        let cnames = split(&col(2), n, "/");
        let snames = split(&col(3), n, "/");
        let enctypes = split(&col(4), n, "|");
        let etypes = col(5);
        let mut ei = 0;
        for (j, t) in types.iter().enumerate() {
            let error = if *t == 30 {
                let e = errors.get(ei).and_then(|e| e.parse().ok()).unwrap_or(-1);
                ei += 1;
                e
            } else {
                -1
            };
            let detail = match t {
                10 | 12 => enctypes[j].clone(),
                _ if n > 1 => "?".into(),
                30 => snames[j].clone(),
                _ => {
                    let last = |k: usize| etypes.len().checked_sub(k).map_or("", |i| etypes[i]);
                    format!("{} {} {}", snames[j], last(2), last(1))
                }
            };
            msgs.push((*t, error, cnames[j].clone(), detail));
        }
    }
    msgs
}

fn code(t: &str) -> u64 {
    match t {
        "AS-REQ" => 10,
        "AS-REP" => 11,
        "TGS-REQ" => 12,
        "TGS-REP" => 13,
        "KRB-ERROR" => 30,
        _ => 0,
    }
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let ints = |v: &Value, sep: &str| {
        v.as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(sep))
            .unwrap_or_default()
    };
    for e in of_dataset(events, "network_traffic.kerberos") {
        let k = get(e, "network_traffic.kerberos").unwrap();
        if let Some(t) = k["request_type"].as_str() {
            out.push((code(t), -1, s(&k["cname"]), ints(&k["etypes"], "|")));
        }
        if let Some(t) = k["response_type"].as_str() {
            let c = code(t);
            let detail = if c == 30 {
                s(&k["sname"])
            } else {
                format!("{} {} {}", s(&k["sname"]), k["ticket_etype"], k["enc_part_etype"])
            };
            let error = k["error_code"].as_i64().unwrap_or(-1);
            out.push((c, error, s(&k["response_cname"]), detail));
        }
    }
    out
}

const DIFFERENCES: &str = "tests/kerberos-differences.txt";

/// Port of the fixture's KDC (`tests/data/kerberos/make-fixtures`).
const FIXTURE_PORT: u16 = 18888;

/// (name, path) of the corpus Kerberos captures and the fixtures.
fn kerberos_captures() -> Vec<(String, PathBuf)> {
    let mut names: Vec<String> = corpus_pcaps()
        .iter()
        .map(|p| capture_name(p))
        .filter(|n| {
            if n.contains("krb") || n.contains("kerberos") {
                return true;
            }
            let truth = corpus().join("truth").join(format!("{n}.jsonl"));
            std::fs::read_to_string(truth).is_ok_and(|t| t.contains(":kerberos"))
        })
        .collect();
    names.sort();
    let mut v: Vec<(String, PathBuf)> =
        names.into_iter().map(|n| (n.clone(), corpus().join("pcaps").join(n))).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kerberos");
    if let Ok(dir) = std::fs::read_dir(&fixtures) {
        let mut f: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        f.sort();
        v.extend(f.into_iter().map(|p| (format!("fixture:{}", capture_name(&p)), p)));
    }
    v
}

#[test]
fn kerberos_matches_tshark() {
    require_shared!();
    if !tshark_present() {
        skipped("tshark not found");
        return;
    }
    let mut differences = Differences::load(DIFFERENCES);
    let captures = kerberos_captures();
    assert!(captures.len() >= 8, "only {} Kerberos captures", captures.len());
    let (mut total, mut matched) = (0u64, 0u64);
    for (name, path) in &captures {
        let want = multiset(truth(path));
        let ports = format!("wirebeat.protocols.kerberos.ports=[88,{FIXTURE_PORT}]");
        let (out, events) = read(&[path], &["wirebeat.workers=2", &ports]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = multiset_diff(&want, &got);
        let n_want: u64 = want.values().sum();
        total += n_want;
        matched += n_want - missing.iter().map(|(n, _)| n).sum::<u64>();
        let mut lines = Vec::new();
        lines.extend(missing.iter().map(|(n, m)| format!("missing {n}x {m:?}")));
        lines.extend(extra.iter().map(|(n, m)| format!("extra {n}x {m:?}")));
        differences.record_lines(name, &lines, 4);
    }
    eprintln!(
        "{} captures: tshark Kerberos messages {total}, matched by wirebeat {matched}",
        captures.len()
    );
    differences.check("Kerberos differs");
}

#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = kerberos_captures().into_iter().map(|(n, _)| n).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a Kerberos capture or fixture");
}
