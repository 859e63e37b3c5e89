//! ICMP/ICMPv6 against tshark's truth: for every corpus capture with ICMP or ICMPv6 carried by
//! the outermost IP header, each message tshark saw (its type and code) must appear in a
//! wirebeat `network_traffic.icmp` event, as request or response, compared as multisets per
//! capture (a paired echo event covers both messages). wirebeat must not report messages tshark
//! did not see either, except ICMP inside tunnels (the truth counts those packets but records
//! type and code only for the outermost header).
//!
//! Accepted differences are listed per capture, with the reason, in
//! `tests/icmp-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// (ICMP version, type, code); the code is `None` where tshark could not read it.
type Key = (u64, u64, Option<u64>);

const DIFFERENCES: &str = "tests/icmp-differences.txt";

/// Captures whose truth summary counts outermost ICMP (1) or ICMPv6 (58) packets.
fn icmp_captures() -> Vec<String> {
    captures_where(|s| {
        let n = |p: &str| s.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        n("/ip_proto_counts/1") + n("/ip_proto_counts/58") > 0
    })
}

/// The messages tshark saw (outermost ICMP), and per version the number of ICMP packets it saw
/// inside tunnels (Teredo, GRE, ...), whose type and code the truth does not record.
fn truth(capture: &str) -> (BTreeMap<Key, u64>, BTreeMap<u64, u64>) {
    let (mut out, mut tunneled) = (BTreeMap::new(), BTreeMap::new());
    for p in truth_lines(capture) {
        let proto = p.get("ip_proto").and_then(Value::as_u64);
        let inner = p.pointer("/inner/ip_proto").and_then(Value::as_u64);
        let Some(ty) = p.get("icmp_type").and_then(Value::as_u64) else {
            if !matches!(proto, Some(1 | 58)) && matches!(inner, Some(1 | 58)) {
                *tunneled.entry(if inner == Some(58) { 6 } else { 4 }).or_default() += 1;
            }
            continue;
        };
        let version = if proto == Some(58) { 6 } else { 4 };
        let code = p.get("icmp_code").and_then(Value::as_u64);
        *out.entry((version, ty, code)).or_default() += 1;
    }
    (out, tunneled)
}

fn wirebeat(events: &[Value]) -> BTreeMap<Key, u64> {
    let mut out = BTreeMap::new();
    for e in of_dataset(events, "network_traffic.icmp") {
        let icmp = get(e, "icmp").unwrap();
        let nt = get(e, "network_traffic.icmp").unwrap();
        for k in ["version", "request", "response"] {
            assert_eq!(icmp.get(k), nt.get(k), "both forms carry the same {k}: {e}");
        }
        // `icmp.version` is the parser's own finding (it is not told the IP version): a wrong
        // one shows as a missing and an extra message.
        let version = icmp.get("version").and_then(Value::as_u64).unwrap();
        for side in ["request", "response"] {
            if let Some(s) = icmp.get(side) {
                let ty = s.get("type").and_then(Value::as_u64).unwrap();
                let code = s.get("code").and_then(Value::as_u64);
                assert!(s.get("message").and_then(Value::as_str).is_some_and(|m| !m.is_empty()));
                *out.entry((version, ty, code)).or_default() += 1;
            }
        }
    }
    out
}

/// Multiset difference, as readable lines; extra messages of a version are forgiven up to the
/// number of tunneled ICMP packets of that version (the truth has no type/code for them).
fn diff(
    want: &BTreeMap<Key, u64>,
    got: &BTreeMap<Key, u64>,
    tunneled: &BTreeMap<u64, u64>,
) -> Vec<String> {
    let (missing, extras) = multiset_diff(want, got);
    let line =
        |what, (n, k): (u64, Key)| format!("{what} {n}x (v{} type {} code {:?})", k.0, k.1, k.2);
    let mut out: Vec<String> = missing.into_iter().map(|m| line("missing", m)).collect();
    let mut extra: BTreeMap<u64, (u64, Vec<String>)> = BTreeMap::new();
    for (n, k) in extras {
        let e = extra.entry(k.0).or_default();
        e.0 += n;
        e.1.push(line("extra", (n, k)));
    }
    for (version, (n, lines)) in extra {
        if n > tunneled.get(&version).copied().unwrap_or(0) {
            out.extend(lines);
        }
    }
    out
}

#[test]
fn icmp_messages_match_tshark_truth() {
    require_shared!();
    let mut differences = Differences::load(DIFFERENCES);
    let captures = icmp_captures();
    assert!(captures.len() >= 20, "only {} ICMP captures", captures.len());
    let mut compared = 0u64;
    for name in &captures {
        let events = read_capture_ok(name, &[]);
        let (want, tunneled) = truth(name);
        compared += want.values().sum::<u64>();
        let d = diff(&want, &wirebeat(&events), &tunneled);
        differences.record_lines(name, &d, 6);
    }
    eprintln!("{} captures, {compared} ICMP messages compared", captures.len());
    differences.check("ICMP messages differ");
}

/// The differences file names only ICMP captures, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    Differences::load(DIFFERENCES)
        .check_well_formed(&icmp_captures(), "a corpus capture with ICMP");
}

/// Echo pairing, durations and the quoted flow of errors on real captures.
#[test]
fn icmp_event_shape() {
    require_shared!();
    let (_, events) = read(&[&corpus().join("pcaps/cid-icmp.pcap")], &[]);
    let icmp = of_dataset(&events, "network_traffic.icmp");
    assert_eq!(icmp.len(), 3, "duplicate request, request+reply, time exceeded");
    let pair = icmp.iter().find(|e| get(e, "icmp.response").is_some()).unwrap();
    assert_eq!(get(pair, "icmp.request.message").unwrap(), "Echo Request");
    assert_eq!(get(pair, "event.duration").unwrap(), 3_886_000);
    assert_eq!(get(pair, "event.outcome").unwrap(), "success");
    let err = icmp.iter().find(|e| get(e, "icmp.request.type") == Some(&Value::from(11))).unwrap();
    assert_eq!(get(err, "status").unwrap(), "Error");
    assert_eq!(get(err, "network_traffic.icmp.quoted.source.ip").unwrap(), "10.0.0.2");
    assert_eq!(get(err, "network_traffic.icmp.quoted.destination.port").unwrap(), 13000);
    assert_eq!(get(err, "network_traffic.icmp.quoted.transport").unwrap(), "udp");

    // The quoted Community ID is the one of the flow the error is about: tcpdump-afs.pcap has
    // 25 port-unreachable errors about UDP flows of the same capture.
    let (_, events) = read(&[&corpus().join("pcaps/tcpdump-afs.pcap")], &[]);
    let flows: BTreeSet<&str> = events
        .iter()
        .filter(|e| is_dataset(e, "network_traffic.flow"))
        .filter_map(|e| get(e, "network.community_id").and_then(Value::as_str))
        .collect();
    let quoted: Vec<&str> = events
        .iter()
        .filter_map(|e| get(e, "network_traffic.icmp.quoted.community_id").and_then(Value::as_str))
        .collect();
    assert_eq!(quoted.len(), 25);
    assert!(quoted.iter().all(|q| flows.contains(q)), "every error pivots to the flow it quotes");

    let (_, events) = read(&[&corpus().join("pcaps/zeek-communityid-icmp6.pcap")], &[]);
    let paired = events
        .iter()
        .filter(|e| get(e, "icmp.request.type") == Some(&Value::from(128)))
        .filter(|e| get(e, "icmp.response.type") == Some(&Value::from(129)))
        .count();
    assert_eq!(paired, 8);
}
