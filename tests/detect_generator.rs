//! The traffic generator of the detection tests (tests/common/traffic.rs) writes captures that
//! wirebeat decodes as intended: a TCP session, a UDP DNS exchange, ICMP echo and an ICMP port
//! unreachable, over IPv4 and IPv6.

mod common;
use common::traffic::*;

#[test]
fn generated_traffic_decodes_into_the_flows_and_transactions_it_describes() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("gen.pcap");
    let mut g = Gen::new(1_700_000_000);
    let (c, s) = (ip("10.1.0.5"), ip("10.1.0.9"));
    g.session(
        c,
        40000,
        s,
        80,
        &[
            (true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            (false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ],
        MS,
    );
    g.advance(S);
    let q = dns_query(7, "www.example.com", 1);
    g.udp(c, 5353, s, 53, &q);
    g.advance(MS);
    g.udp(s, 53, c, 5353, &dns_response(&q, 0, None));
    let (c6, s6) = (ip("2001:db8::5"), ip("2001:db8::9"));
    g.icmp_echo(c6, s6, false, 1, 1).advance(MS).icmp_echo(s6, c6, true, 1, 1);
    g.icmp_port_unreachable(s, c, 33000, s, 161);
    g.write(&pcap);
    let (out, events) = common::read(&[&pcap], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let http = common::of_dataset(&events, "network_traffic.http");
    assert_eq!(http.len(), 1, "{events:#?}");
    assert_eq!(http[0]["http"]["response"]["status_code"], 200);
    let dns = common::of_dataset(&events, "network_traffic.dns");
    assert_eq!(dns.len(), 1);
    assert_eq!(dns[0]["dns"]["question"]["name"], "www.example.com");
    let flows = common::of_dataset(&events, "network_traffic.flow");
    assert!(flows.iter().any(|f| f["network"]["transport"] == "ipv6-icmp"), "{flows:#?}");
}
