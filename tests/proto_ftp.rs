//! FTP control connections against tshark: for every corpus capture whose name says FTP (not
//! TFTP), tshark runs at test time (`-Y ftp -T fields`) and gives each client command
//! (`ftp.request.command`), each server reply code (`ftp.response.code`) and each data
//! endpoint (`ftp.active.*` from PORT, `ftp.eprt.*` from EPRT, `ftp.passive.*` from a 227
//! reply, `ftp.epsv.port` from a 229 reply). wirebeat's `network_traffic.ftp` events give the
//! same: `command`, `reply_code` plus `preliminary_codes`, and `data`. Compared as multisets
//! per capture.
//!
//! tshark decodes per packet and puts `ftp.response.code` on every packet that starts with a
//! code, also on the last line `ddd End` of a multi-line reply sent in its own packet; such a
//! closing packet (the same code while a `ddd-` reply is open on that stream) is not a new
//! reply and is left out of tshark's side. Known differences are listed per capture, with the
//! reason, in `tests/ftp-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Command(String),
    Reply(u16),
    /// (ip, port, passive)
    Data(Option<String>, u16, bool),
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// tshark's messages of a capture; `None` when tshark is not usable.
fn truth(pcap: &Path) -> Option<Vec<Msg>> {
    let fields = [
        "tcp.stream",
        "ftp.request.command",
        "ftp.response.code",
        "tcp.payload",
        "ftp.active.cip",
        "ftp.active.port",
        "ftp.eprt.ip",
        "ftp.eprt.ipv6",
        "ftp.eprt.port",
        "ftp.passive.ip",
        "ftp.passive.port",
        "ftp.epsv.port",
    ];
    let mut c = Command::new("tshark");
    c.args(["-n", "-r"]).arg(pcap).args(["-Y", "ftp", "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut msgs = Vec::new();
    // Per stream: the code of an open multi-line reply.
    let mut open: HashMap<String, u16> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let col: Vec<&str> = line.split('\t').collect();
        let f = |i: usize| col.get(i).copied().filter(|s| !s.is_empty());
        let stream = f(0).unwrap_or_default().to_owned();
        if let Some(cmd) = f(1) {
            msgs.push(Msg::Command(cmd.to_uppercase()));
        }
        if let Some(code) = f(2).and_then(|c| c.parse::<u16>().ok()) {
            let payload = unhex(f(3).unwrap_or_default());
            let ends = |p: &[u8]| {
                let t = format!("\n{code} ");
                let t2 = format!("\n{code}\r");
                p.windows(t.len()).any(|w| w == t.as_bytes())
                    || p.windows(t2.len()).any(|w| w == t2.as_bytes())
            };
            if open.get(&stream) == Some(&code) {
                // The closing line(s) of an open multi-line reply.
                if payload.starts_with(format!("{code} ").as_bytes()) || ends(&payload) {
                    open.remove(&stream);
                }
            } else {
                msgs.push(Msg::Reply(code));
                if payload.get(3) == Some(&b'-') && !ends(&payload) {
                    open.insert(stream.clone(), code);
                }
            }
        }
        let port = |i: usize| f(i).and_then(|p| p.parse::<u16>().ok());
        if let (Some(ip), Some(p)) = (f(4), port(5)) {
            msgs.push(Msg::Data(Some(ip.to_owned()), p, false));
        }
        if let (Some(ip), Some(p)) = (f(6).or(f(7)), port(8)) {
            msgs.push(Msg::Data(Some(ip.to_owned()), p, false));
        }
        if let (Some(ip), Some(p)) = (f(9), port(10)) {
            msgs.push(Msg::Data(Some(ip.to_owned()), p, true));
        }
        if let Some(p) = port(11) {
            msgs.push(Msg::Data(None, p, true));
        }
    }
    Some(msgs)
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.ftp") {
        let r = get(e, "network_traffic.ftp").unwrap();
        if let Some(c) = r.get("command").and_then(Value::as_str) {
            out.push(Msg::Command(c.to_owned()));
        }
        for c in r.get("preliminary_codes").and_then(Value::as_array).into_iter().flatten() {
            out.push(Msg::Reply(c.as_u64().unwrap() as u16));
        }
        if let Some(c) = r.get("reply_code").and_then(Value::as_u64) {
            out.push(Msg::Reply(c as u16));
        }
        if let Some(d) = r.get("data") {
            out.push(Msg::Data(
                d.get("ip").and_then(Value::as_str).map(str::to_owned),
                d["port"].as_u64().unwrap() as u16,
                d["passive"].as_bool().unwrap(),
            ));
        }
    }
    out
}

/// Corpus captures named for FTP (not TFTP).
fn captures() -> Vec<PathBuf> {
    corpus_pcaps()
        .into_iter()
        .filter(|p| {
            let n = capture_name(p);
            n.contains("ftp") && !n.contains("tftp")
        })
        .collect()
}

const DIFFERENCES: &str = "tests/ftp-differences.txt";

#[test]
fn ftp_matches_tshark() {
    require_shared!();
    if truth(&captures()[0]).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched) = (0, 0, 0);
    for pcap in captures() {
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
        differences.record_lines(&name, &lines, 6);
    }
    eprintln!("{compared} captures: tshark messages {total}, found in wirebeat {matched}");
    assert!(compared >= 15, "only {compared} captures compared");
    differences.check("FTP differs");
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "an FTP capture");
}
