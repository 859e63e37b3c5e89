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
use std::collections::BTreeMap;

/// (message type, transaction id); `None` where the message has none (BOOTP, cut datagrams).
type Key = (Option<u64>, Option<u64>);

const DIFFERENCES: &str = "tests/dhcpv4-differences.txt";

fn truth(capture: &str) -> BTreeMap<Key, u64> {
    let mut out = BTreeMap::new();
    for p in truth_lines(capture) {
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
    for e in of_dataset(events, "network_traffic.dhcpv4") {
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
    let (missing, extra) = multiset_diff(want, got);
    let line = |what, (n, k): (u64, Key)| format!("{what} {n}x (type {:?}, xid {:?})", k.0, k.1);
    let missing = missing.into_iter().map(|m| line("missing", m));
    missing.chain(extra.into_iter().map(|x| line("extra", x))).collect()
}

#[test]
fn dhcp_messages_match_tshark_truth() {
    require_shared!();
    let mut differences = Differences::load(DIFFERENCES);
    let captures = captures_with_app("dhcp");
    assert!(captures.len() >= 10, "only {} DHCP captures", captures.len());
    let mut compared = 0u64;
    for name in &captures {
        let events = read_capture_ok(name, &[]);
        let want = truth(name);
        compared += want.values().sum::<u64>();
        let d = diff(&want, &wirebeat(&events));
        differences.record_lines(name, &d, usize::MAX);
    }
    eprintln!("{} captures, {compared} DHCP messages compared", captures.len());
    differences.check("DHCP messages differ");
}

/// The differences file names only DHCP captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    Differences::load(DIFFERENCES)
        .check_well_formed(&captures_with_app("dhcp"), "a corpus capture with DHCP");
}

/// Both field forms are emitted, with Packetbeat's value formats.
#[test]
fn dhcp_event_shape() {
    require_shared!();
    let (_, events) = read(&[&corpus().join("pcaps/zeek-dhcp-dhcp.pcap")], &[]);
    let dhcp = of_dataset(&events, "network_traffic.dhcpv4");
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
