//! SSH connections against tshark: for every corpus capture whose name says SSH, and every
//! capture in which tshark dissected SSH, tshark runs at test time (`-Y ssh`, fields
//! `tcp.stream`, `ssh.protocol`, `ssh.kex.hassh`, `ssh.kex.hasshserver`) and gives, per TCP
//! connection, the identification strings of both sides and the HASSH and HASSHServer of the
//! first KEXINITs. wirebeat's `network_traffic.ssh` events (one per connection) give the same:
//! `client.banner`, `server.banner`, `hassh`, `hasshServer`. Compared as multisets of
//! connections per capture (retransmitted packets count once). SSH that wirebeat found by its
//! banner on a port other than 22 is decoded by tshark on that port too (`-d tcp.port==P,ssh`):
//! tshark's SSH dissector goes by port only. Known differences are listed
//! per capture, with the reason, in `tests/ssh-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One connection: its banners (sorted: tshark does not say which side sent which without
/// the handshake), HASSH, HASSHServer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Conn {
    banners: Vec<String>,
    hassh: Option<String>,
    hassh_server: Option<String>,
}

/// tshark's connections of a capture; `None` when tshark is not usable.
fn truth(pcap: &Path, ports: &[u64]) -> Option<Vec<Conn>> {
    let mut c = Command::new("tshark");
    c.arg("-n");
    for p in ports {
        c.args(["-d", &format!("tcp.port=={p},ssh")]);
    }
    let out = c
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "ssh", "-T", "fields", "-E", "occurrence=f"])
        .args(["-e", "tcp.stream", "-e", "ssh.protocol", "-e", "ssh.kex.hassh"])
        .args(["-e", "ssh.kex.hasshserver"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(stream) = f.first().and_then(|s| s.parse::<u64>().ok()) else { continue };
        let c = conns.entry(stream).or_insert(Conn {
            banners: Vec::new(),
            hassh: None,
            hassh_server: None,
        });
        let field = |i: usize| f.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
        if let Some(b) = field(1) {
            if !c.banners.iter().any(|x| x == b) {
                c.banners.push(b.to_owned());
            }
        }
        if c.hassh.is_none() {
            c.hassh = field(2).map(str::to_owned);
        }
        if c.hassh_server.is_none() {
            c.hassh_server = field(3).map(str::to_owned);
        }
    }
    Some(
        conns
            .into_values()
            .filter(|c| !c.banners.is_empty() || c.hassh.is_some() || c.hassh_server.is_some())
            .map(|mut c| {
                c.banners.sort();
                c
            })
            .collect(),
    )
}

fn wirebeat_conns(events: &[Value]) -> Vec<Conn> {
    let s = |e: &Value, p: &str| get(e, p).and_then(Value::as_str).map(str::to_owned);
    of_dataset(events, "network_traffic.ssh")
        .into_iter()
        .map(|e| {
            let mut banners: Vec<String> = ["client", "server"]
                .iter()
                .filter_map(|side| s(e, &format!("network_traffic.ssh.{side}.banner")))
                .collect();
            banners.sort();
            banners.dedup();
            Conn {
                banners,
                hassh: s(e, "network_traffic.ssh.hassh"),
                hassh_server: s(e, "network_traffic.ssh.hasshServer"),
            }
        })
        .collect()
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

/// Corpus captures named for SSH or in which tshark dissected SSH, then the fixtures: real
/// sshd logins on port 2222 and the content-probe capture of sshd on 8080.
fn captures() -> Vec<PathBuf> {
    let with_app = captures_with_app("ssh");
    let mut v: Vec<PathBuf> = corpus_pcaps()
        .into_iter()
        .filter(|p| {
            let n = capture_name(p);
            n.contains("ssh") || with_app.contains(&n)
        })
        .collect();
    v.push(fixture("ssh/sshd-logins.pcap"));
    v.push(fixture("probe/ssh-on-8080.pcap"));
    v
}

const DIFFERENCES: &str = "tests/ssh-differences.txt";

#[test]
fn ssh_matches_tshark() {
    require_shared!();
    let caps = captures();
    if caps.is_empty() || truth(&caps[0], &[]).is_none() {
        return skipped("tshark not usable");
    }
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut total, mut matched) = (0, 0, 0);
    for pcap in caps {
        let name = capture_name(&pcap);
        let (out, events) = read(&[&pcap], &[]);
        // SSH that wirebeat found by content on other ports: tshark decodes those ports too.
        let mut ports: Vec<u64> = of_dataset(&events, "network_traffic.ssh")
            .iter()
            .filter_map(|e| get(e, "destination.port").and_then(Value::as_u64))
            .filter(|p| *p != 22)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let want = truth(&pcap, &ports).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        let got = wirebeat_conns(&events);
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
    eprintln!("{compared} captures: tshark SSH connections {total}, matched by wirebeat {matched}");
    assert!(compared >= 12, "only {compared} captures compared");
    differences.check("SSH differs");
}

/// The SSH password guesser: every connection of zeek-ssh-sshguess is a failed login, and the
/// brute-force heuristic's inputs are there.
#[test]
fn sshguess_logins_fail() {
    require_shared!();
    let events = read_capture_ok("zeek-ssh-sshguess.pcap", &[]);
    let ssh = of_dataset(&events, "network_traffic.ssh");
    assert_eq!(ssh.len(), 11);
    for e in ssh {
        assert_eq!(get(e, "event.outcome").and_then(Value::as_str), Some("failure"), "{e}");
        let attempts = get(e, "network_traffic.ssh.auth_attempts").and_then(Value::as_u64);
        assert!(attempts.unwrap_or(0) >= 2, "{e}");
        assert!(get(e, "event.duration").and_then(Value::as_u64).unwrap_or(0) > 0, "{e}");
    }
}

/// The sshd fixture: an accepted key, then one and three refused keys, on port 2222 (found by
/// the banner): the outcomes and attempt counts the size heuristic infers.
#[test]
fn sshd_logins_outcomes() {
    let (out, events) = read(&[&fixture("ssh/sshd-logins.pcap")], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<(String, u64, String)> = of_dataset(&events, "network_traffic.ssh")
        .iter()
        .map(|e| {
            (
                get(e, "event.outcome").and_then(Value::as_str).unwrap_or_default().to_owned(),
                get(e, "network_traffic.ssh.auth_attempts").and_then(Value::as_u64).unwrap_or(0),
                get(e, "network_traffic.ssh.negotiated.kex")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let kex = "sntrup761x25519-sha512".to_owned();
    assert_eq!(
        got,
        [
            ("success".to_owned(), 2, kex.clone()),
            ("failure".to_owned(), 2, kex.clone()),
            ("failure".to_owned(), 4, kex)
        ]
    );
}

/// The differences file names only compared captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    let names: Vec<String> = captures().iter().map(|p| capture_name(p)).collect();
    Differences::load(DIFFERENCES).check_well_formed(&names, "an SSH capture");
}
