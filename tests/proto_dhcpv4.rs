//! DHCPv4 against tshark's truth: for every corpus capture where tshark saw DHCP, each DHCP
//! message tshark dissected must appear as a wirebeat `network_traffic.dhcpv4` event with the
//! same message type (option 53) and transaction id, compared as multisets per capture (and
//! wirebeat must not report messages tshark did not see).
//!
//! Accepted differences are listed per capture, with the reason, in
//! `tests/dhcpv4-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (message type, transaction id); `None` where the message has none (BOOTP, cut datagrams).
type Key = (Option<u64>, Option<u64>);

fn known_differences() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dhcpv4-differences.txt"),
    )
    .expect("tests/dhcpv4-differences.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (f, why) = l.split_once('\t').unwrap_or((l, ""));
            (f.trim().to_owned(), why.trim().to_owned())
        })
        .collect()
}

/// Captures whose truth summary counts DHCP packets.
fn dhcp_captures() -> Vec<String> {
    let mut out = Vec::new();
    for pcap in corpus_pcaps() {
        let name = pcap.file_name().unwrap().to_str().unwrap().to_owned();
        let path = shared().join("corpus/truth").join(format!("{name}.summary.json"));
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let s: Value = serde_json::from_str(&text).unwrap();
        if s.pointer("/app_counts/dhcp").and_then(Value::as_u64).unwrap_or(0) > 0 {
            out.push(name);
        }
    }
    out
}

fn truth(capture: &str) -> BTreeMap<Key, u64> {
    let path = shared().join("corpus/truth").join(format!("{capture}.jsonl"));
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let p: Value = serde_json::from_str(line).unwrap();
        let Some(d) = p.get("dhcp") else { continue };
        let list = |k: &str| -> Vec<u64> {
            d.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        };
        let (types, xids) = (list("message_type"), list("xid"));
        for i in 0..types.len().max(xids.len()).max(1) {
            *out.entry((types.get(i).copied(), xids.get(i).copied())).or_default() += 1;
        }
    }
    out
}

fn message_type_code(name: &str) -> Option<u64> {
    let names = [
        "discover",
        "offer",
        "request",
        "decline",
        "ack",
        "nak",
        "release",
        "inform",
        "forcerenew",
        "leasequery",
        "leaseunassigned",
        "leaseunknown",
        "leaseactive",
        "bulkleasequery",
        "leasequerydone",
        "activeleasequery",
        "leasequerystatus",
        "tls",
    ];
    if let Some(i) = names.iter().position(|n| *n == name) {
        return Some(i as u64 + 1);
    }
    name.strip_prefix("unknown (")?.strip_suffix(')')?.parse().ok()
}

fn wirebeat(events: &[Value]) -> BTreeMap<Key, u64> {
    let mut out = BTreeMap::new();
    for e in events {
        if get(e, "event.dataset").and_then(Value::as_str) != Some("network_traffic.dhcpv4") {
            continue;
        }
        let d = get(e, "dhcpv4").unwrap();
        assert_eq!(Some(d), get(e, "network_traffic.dhcpv4"), "both forms carry the same values");
        let ty = get(d, "option.message_type").and_then(Value::as_str).map(|n| {
            message_type_code(n).unwrap_or_else(|| panic!("unknown message type name {n}"))
        });
        let xid = get(d, "transaction_id")
            .and_then(Value::as_str)
            .and_then(|x| u64::from_str_radix(x.strip_prefix("0x")?, 16).ok());
        assert!(xid.is_some(), "every event has a transaction id: {e}");
        *out.entry((ty, xid)).or_default() += 1;
    }
    out
}

/// Multiset difference, as readable lines.
fn diff(want: &BTreeMap<Key, u64>, got: &BTreeMap<Key, u64>) -> Vec<String> {
    let keys: BTreeSet<&Key> = want.keys().chain(got.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (w, g) = (want.get(k).copied().unwrap_or(0), got.get(k).copied().unwrap_or(0));
        if w > g {
            out.push(format!("missing {}x (type {:?}, xid {:?})", w - g, k.0, k.1));
        } else if g > w {
            out.push(format!("extra {}x (type {:?}, xid {:?})", g - w, k.0, k.1));
        }
    }
    out
}

#[test]
fn dhcp_messages_match_tshark_truth() {
    let known = known_differences();
    let captures = dhcp_captures();
    assert!(captures.len() >= 10, "only {} DHCP captures", captures.len());
    let (mut unexpected, mut fixed) = (Vec::new(), Vec::new());
    let mut compared = 0u64;
    for name in &captures {
        let (out, events) = read(&[&shared().join("corpus/pcaps").join(name)], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
        assert_eq!(out.status.code(), Some(0), "{name}: exit code\n{stderr}");
        let want = truth(name);
        compared += want.values().sum::<u64>();
        let d = diff(&want, &wirebeat(&events));
        match (d.is_empty(), known.contains_key(name)) {
            (false, false) => unexpected.push(format!("{name}: {}", d.join("; "))),
            (true, true) => fixed.push(name.clone()),
            (false, true) => eprintln!("{name} (listed): {}", d.join("; ")),
            (true, false) => {}
        }
    }
    eprintln!("{} captures, {compared} DHCP messages compared", captures.len());
    assert!(
        unexpected.is_empty(),
        "DHCP messages differ from tshark (fix, or list in tests/dhcpv4-differences.txt):\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these captures now agree: remove them from tests/dhcpv4-differences.txt:\n{}",
        fixed.join("\n")
    );
}

/// The differences file names only DHCP captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    let captures: BTreeSet<String> = dhcp_captures().into_iter().collect();
    for (f, why) in known_differences() {
        assert!(captures.contains(&f), "{f} is not a corpus capture with DHCP");
        assert!(why.len() > 10, "{f}: give a reason");
    }
}

/// Both field forms are emitted, with Packetbeat's value formats.
#[test]
fn dhcp_event_shape() {
    let (_, events) = read(&[&shared().join("corpus/pcaps/zeek-dhcp-dhcp.pcap")], &[]);
    let dhcp: Vec<&Value> = events
        .iter()
        .filter(|e| {
            get(e, "event.dataset").and_then(Value::as_str) == Some("network_traffic.dhcpv4")
        })
        .collect();
    assert_eq!(dhcp.len(), 9);
    let offer = dhcp
        .iter()
        .find(|e| get(e, "dhcpv4.option.message_type").and_then(Value::as_str) == Some("offer"))
        .unwrap();
    assert_eq!(get(offer, "dhcpv4.transaction_id").unwrap(), "0x000007c0");
    assert_eq!(get(offer, "network_traffic.dhcpv4.assigned_ip").unwrap(), "128.2.6.97");
    assert_eq!(get(offer, "network.protocol").unwrap(), "dhcpv4");
    assert_eq!(get(offer, "type").unwrap(), "dhcpv4");
    let discover = dhcp
        .iter()
        .find(|e| get(e, "dhcpv4.option.message_type").and_then(Value::as_str) == Some("discover"))
        .unwrap();
    assert_eq!(get(discover, "related.hosts").unwrap(), &serde_json::json!(["btest.is.cool"]));
}
