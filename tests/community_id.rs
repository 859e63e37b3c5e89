//! Community ID of wirebeat's flow events against tshark's per-packet values
//! (../shared/community-id/expected/per_packet.tsv) for every capture of the spec's test data.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn flow_community_ids_equal_tshark_per_packet_values() {
    require_shared!();
    let tsv =
        std::fs::read_to_string(shared().join("community-id/expected/per_packet.tsv")).unwrap();
    // Expected IDs per capture (seed 0), from every IP packet.
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        if c.len() > 8 && !c[8].is_empty() {
            want.entry(c[0].to_owned()).or_default().insert(c[8].to_owned());
        }
    }
    assert!(want.len() >= 8, "captures in per_packet.tsv: {}", want.len());
    for (pcap, ids) in &want {
        let path = shared().join("community-id/pcaps").join(pcap);
        let (out, events) = read(&[&path], &[]);
        assert!(out.status.success(), "{pcap}: {}", String::from_utf8_lossy(&out.stderr));
        let got: BTreeSet<String> = events
            .iter()
            .filter_map(|e| get(e, "network.community_id").and_then(|v| v.as_str()))
            .map(str::to_owned)
            .collect();
        assert_eq!(&got, ids, "{pcap}: community IDs of flows vs tshark's per-packet IDs");
    }
}
