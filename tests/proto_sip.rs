//! SIP against tshark, run at test time on every corpus capture with SIP (name contains "sip"
//! or tshark's summary counts SIP) and on the committed fixtures (`tests/data/sip/*.pcap`):
//! every request tshark dissects (method, Call-ID, CSeq) and every response (status code,
//! Call-ID, CSeq) must be in wirebeat's `network_traffic.sip` events — a request counts once
//! plus its `retransmissions`, a response through `code` and `provisional_codes` — compared as
//! multisets per capture; messages tshark did not report are differences too.
//!
//! Known differences are listed per capture, with the reason, in `tests/sip-differences.txt`.
//! The list may only shrink: a listed capture that now agrees fails the test.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Request { method: String, call_id: String, cseq: String },
    Response { code: u64, call_id: String, cseq: String },
}

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

fn truth(path: &Path) -> Vec<Msg> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", "sip", "-T", "fields", "-E", "separator=/t", "-E", "aggregator=|"])
        .args(["-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID"])
        .args(["-e", "sip.CSeq.seq", "-e", "sip.CSeq.method"])
        .output()
        .unwrap();
    let mut msgs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<Vec<&str>> = line.split('\t').map(|c| c.split('|').collect()).collect();
        let col = |i: usize, j: usize| {
            cols.get(i).and_then(|c| c.get(j)).copied().unwrap_or_default().to_owned()
        };
        // One entry per SIP message of the frame (several on TCP).
        let n = cols.get(2).map_or(0, Vec::len);
        let (mut im, mut ic) = (0, 0);
        for j in 0..n {
            let cseq = format!("{} {}", col(3, j), col(4, j));
            let call_id = col(2, j);
            let method = col(0, im);
            let code = col(1, ic);
            // A request's method and a response's code are listed in message order.
            if !code.is_empty() && (method.is_empty() || col(4, j) != method) {
                msgs.push(Msg::Response { code: code.parse().unwrap(), call_id, cseq });
                ic += 1;
            } else {
                msgs.push(Msg::Request { method, call_id, cseq });
                im += 1;
            }
        }
    }
    msgs
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.sip") {
        let s = get(e, "network_traffic.sip").unwrap();
        let call_id = s["call_id"].as_str().unwrap_or_default().to_owned();
        let cseq = format!(
            "{} {}",
            s["cseq"]["code"].as_u64().map(|c| c.to_string()).unwrap_or_default(),
            s["cseq"]["method"].as_str().unwrap_or_default()
        );
        if let Some(m) = s["method"].as_str() {
            for _ in 0..=s["retransmissions"].as_u64().unwrap_or(0) {
                let r = Msg::Request {
                    method: m.to_owned(),
                    call_id: call_id.clone(),
                    cseq: cseq.clone(),
                };
                out.push(r);
            }
        }
        let codes = s["provisional_codes"].as_array().cloned().unwrap_or_default();
        for c in codes.iter().chain(s.get("code")) {
            let r = Msg::Response {
                code: c.as_u64().unwrap(),
                call_id: call_id.clone(),
                cseq: cseq.clone(),
            };
            out.push(r);
        }
    }
    out
}

const DIFFERENCES: &str = "tests/sip-differences.txt";

/// (name, path) of the corpus SIP captures and the fixtures.
fn sip_captures() -> Vec<(String, PathBuf)> {
    let mut names: Vec<String> =
        corpus_pcaps().iter().map(|p| capture_name(p)).filter(|n| n.contains("sip")).collect();
    for n in captures_with_app("sip") {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.sort();
    let mut v: Vec<(String, PathBuf)> =
        names.into_iter().map(|n| (n.clone(), corpus().join("pcaps").join(n))).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sip");
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
fn sip_matches_tshark() {
    require_shared!();
    if !tshark_present() {
        skipped("tshark not found");
        return;
    }
    let mut differences = Differences::load(DIFFERENCES);
    let captures = sip_captures();
    assert!(captures.len() >= 8, "only {} SIP captures", captures.len());
    let (mut total, mut matched) = (0u64, 0u64);
    for (name, path) in &captures {
        let want = multiset(truth(path));
        let (out, events) = read(&[path], &["wirebeat.workers=2"]);
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
        "{} captures: tshark SIP messages {total}, matched by wirebeat {matched}",
        captures.len()
    );
    differences.check("SIP differs");
}

#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = sip_captures().into_iter().map(|(n, _)| n).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "a SIP capture or fixture");
}
