//! RDP connection negotiation against tshark: for every corpus capture named for RDP, tshark
//! runs at test time (`-Y cotp.type == 0x0e || cotp.type == 0x0d`, fields) and gives each X.224
//! Connection Request (the `mstshash` cookie, the requestedProtocols of `RDP_NEG_REQ`) and
//! Connection Confirm (selectedProtocol of `RDP_NEG_RSP`, or the failureCode of
//! `RDP_NEG_FAILURE`). wirebeat's `network_traffic.rdp` events give the same from
//! `network_traffic.rdp.cookie`, `requested_protocols_flags`, `selected_protocol_flags` and
//! `failure_code`. Compared as multisets per capture; known differences with the reason in
//! `tests/rdp-differences.txt` (the list may only shrink).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    /// Cookie (mstshash value) and requestedProtocols.
    Request(Option<String>, Option<u32>),
    /// selectedProtocol and failureCode.
    Confirm(Option<u32>, Option<u32>),
}

fn hex_u32(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    u32::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

/// tshark's negotiation messages of a capture; `None` when tshark is not usable.
fn truth(pcap: &Path) -> Option<Vec<Msg>> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", "cotp.type == 0x0e || cotp.type == 0x0d", "-T", "fields"])
        .args(["-e", "cotp.type", "-e", "rdp.rt_cookie", "-e", "rdp.negReq.requestedProtocols"])
        .args(["-e", "rdp.negReq.selectedProtocol", "-e", "rdp.negFailure.failureCode"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut msgs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let at = |i: usize| f.get(i).copied().unwrap_or_default();
        match at(0) {
            "0x0e" => {
                let cookie = at(1).strip_prefix("Cookie: mstshash=").map(str::to_owned);
                msgs.push(Msg::Request(cookie, hex_u32(at(2))));
            }
            "0x0d" => msgs.push(Msg::Confirm(hex_u32(at(3)), hex_u32(at(4)))),
            _ => {}
        }
    }
    Some(msgs)
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let num = |r: &Value, k: &str| r.get(k).and_then(Value::as_u64).map(|v| v as u32);
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.rdp") {
        let r = get(e, "network_traffic.rdp").unwrap();
        if get(e, "source.bytes").and_then(Value::as_u64).unwrap_or(0) > 0
            || r.get("cookie").is_some()
            || r.get("requested_protocols_flags").is_some()
        {
            let cookie = r.get("cookie").and_then(Value::as_str).map(str::to_owned);
            out.push(Msg::Request(cookie, num(r, "requested_protocols_flags")));
        }
        if get(e, "event.end").is_some() {
            out.push(Msg::Confirm(num(r, "selected_protocol_flags"), num(r, "failure_code")));
        }
    }
    out
}

/// Corpus captures named for RDP over TCP (the RDPEUDP captures are UDP).
fn captures() -> Vec<PathBuf> {
    corpus_pcaps()
        .into_iter()
        .filter(|p| {
            let n = capture_name(p);
            n.contains("rdp") && !n.contains("rdpeudp")
        })
        .collect()
}

const DIFFERENCES: &str = "tests/rdp-differences.txt";

#[test]
fn rdp_matches_tshark() {
    require_shared!();
    let caps = captures();
    if caps.is_empty() || truth(&caps[0]).is_none() {
        return skipped("tshark not usable or no RDP capture");
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
    eprintln!("{compared} captures: tshark messages {total}, found in wirebeat {matched}");
    assert!(compared >= 5, "only {compared} captures compared");
    differences.check("RDP differs");
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "an RDP capture");
}
