//! Reading several captures: files go through the pipeline in packet-time order (by their
//! first packet), whatever their names, so one file's clock cannot time out another file's
//! transactions or flows.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::traffic::*;
use common::*;

/// A DNS query at `t0` answered 3 s later (within the 10 s transaction timeout), with other
/// traffic every 100 ms in between so that the packet clock ticks while it waits.
fn dns_exchange(t0: i64, id: u16) -> Gen {
    let (client, server) = (ip("10.0.0.1"), ip("10.0.0.53"));
    let mut g = Gen::new(t0);
    let q = dns_query(id, "example.org", 1);
    g.udp(client, 40000 + id, server, 53, &q);
    for i in 0..30u16 {
        g.advance(100 * MS).udp(ip("10.0.0.7"), 5000 + i, ip("10.0.0.8"), 9, b"x");
    }
    g.udp(server, 53, client, 40000 + id, &dns_response(&q, 0, None));
    g
}

#[test]
fn a_directory_is_read_in_packet_time_order() {
    let dir = tempfile::tempdir().unwrap();
    // Named so that the newer capture sorts first.
    dns_exchange(1_700_000_000, 1).write(&dir.path().join("a-newer.pcap"));
    dns_exchange(1_500_000_000, 2).write(&dir.path().join("b-older.pcap"));
    let (out, events) = read(&[dir.path()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dns = of_dataset(&events, "network_traffic.dns");
    assert_eq!(dns.len(), 2, "{dns:?}");
    for e in &dns {
        assert_eq!(e["event"]["outcome"], "success", "answered, not timed out: {e}");
        assert!(e["dns"]["answers_count"].is_number(), "{e}");
    }
    // The older file's transaction comes first.
    assert_eq!(dns[0]["dns"]["id"], "2");
}
