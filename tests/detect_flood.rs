//! `wirebeat.detect.flood` end to end: generated SYN, UDP, ICMP/ICMPv6 (unicast and multicast),
//! fragment, IPv6 extension-header and DHCP floods, most from spoofed sources, raise the right
//! alert with the right target, counts and MITRE technique; busy servers and ordinary
//! fragmented or DHCP traffic raise none; the corpus floods fire.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;
use common::traffic::*;
use serde_json::Value;
use std::net::IpAddr;

fn alerts_of(g: &Gen) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("flood.pcap");
    g.write(&pcap);
    // One worker: the observations reach the detectors in capture order, so the counts at
    // the moment a threshold is crossed are the scenario's own (with more workers they come
    // worker by worker within an epoch; the same alerts fire, at other counts).
    let (out, events) = common::read(&[&pcap], &["wirebeat.workers=1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    common::of_dataset(&events, "wirebeat.alert").into_iter().cloned().collect()
}

fn corpus_alerts(name: &str) -> Vec<Value> {
    let events = common::read_capture_ok(name, &[]);
    common::of_dataset(&events, "wirebeat.alert").into_iter().cloned().collect()
}

fn flood_alerts(alerts: &[Value]) -> Vec<&Value> {
    common::alerts_with_prefix(alerts, "wirebeat-flood-")
}

fn technique(a: &Value) -> (&str, &str) {
    let t = &a["threat"]["technique"];
    (t["id"][0].as_str().unwrap(), t["subtechnique"]["id"][0].as_str().unwrap())
}

fn msg(a: &Value) -> &str {
    a["message"].as_str().unwrap()
}

/// A spoofed source address, different for each `i` (198.18.0.0/15, the benchmarking range).
fn spoofed(i: u32) -> IpAddr {
    ip(&format!("198.{}.{}.{}", 18 + (i >> 16) % 2, (i >> 8) & 0xff, i & 0xff))
}

#[test]
fn a_syn_flood_from_spoofed_sources_is_half_open() {
    let mut g = Gen::new(1_700_000_000);
    let server = ip("10.0.0.80");
    // 1000 SYNs/s for two seconds from 2000 spoofed sources; the server does not answer.
    for i in 0..2000u32 {
        g.tcp(spoofed(i), 1024 + (i % 60000) as u16, server, 80, SYN, i, 0, &[]);
        g.advance(MS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-syn");
    assert_eq!(a["destination"]["ip"], "10.0.0.80");
    assert_eq!(a["destination"]["port"], 80);
    assert!(a.get("source").is_none(), "many sources, none named: {a:#?}");
    assert_eq!(technique(a), ("T1499", "T1499.001"));
    assert_eq!(a["threat"]["tactic"]["id"][0], "TA0040");
    assert_eq!(a["event"]["severity"], 73);
    // Raised at the 200th SYN (200 half-open of 200, 200/s over the first second).
    assert_eq!(common::alert_fact(a, "packets"), 200);
    assert_eq!(common::alert_fact(a, "half_open"), 200);
    let sources = common::alert_fact(a, "sources");
    assert!((190..=210).contains(&sources), "estimated {sources} of 200 sources");
    assert_eq!(a["wirebeat"]["alert"]["facts"]["sources_estimated"], true);
    assert_eq!(a["related"]["ip"].as_array().unwrap().len(), 11, "target and ten sources");
    assert!(
        msg(a).starts_with("10.0.0.80:80 received 200 TCP SYNs in 199 ms from about"),
        "{}",
        msg(a)
    );
    assert!(msg(a).contains("200 of 200 handshakes half-open: 200 unanswered"), "{}", msg(a));
}

#[test]
fn a_syn_flood_the_server_answers_is_judged_by_its_syn_ack_retransmissions() {
    let mut g = Gen::new(1_700_000_000);
    let server = ip("10.0.0.81");
    // 400 spoofed SYNs over two seconds, each answered by a SYN-ACK that, never acknowledged,
    // is sent again a second later.
    for i in 0..400u32 {
        let (src, sport) = (spoofed(i), 2000 + i as u16);
        let at = g.now_ns;
        g.tcp(src, sport, server, 443, SYN, i, 0, &[]);
        g.advance(MS);
        g.tcp(server, 443, src, sport, SYN | ACK, 9, i + 1, &[]);
        g.at(at + S + MS);
        g.tcp(server, 443, src, sport, SYN | ACK, 9, i + 1, &[]);
        g.at(at + 5 * MS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-syn");
    assert_eq!(a["destination"]["port"], 443);
    let half = common::alert_fact(a, "half_open");
    assert!(half >= 160 && common::alert_fact(a, "answered_half_open") >= 160, "{}", msg(a));
    assert!(msg(a).contains("answered but never completed"), "{}", msg(a));
    // A busy server completing every handshake (client FIN) at the same rate: no flood.
    let mut busy = Gen::new(1_700_000_000);
    for i in 0..400u32 {
        let c = ip(&format!("10.2.{}.{}", i / 250, i % 250 + 1));
        busy.session(c, 3000 + i as u16, server, 443, &[(true, b"hi")], MS / 2);
        busy.advance(3 * MS);
    }
    assert!(flood_alerts(&alerts_of(&busy)).is_empty());
}

#[test]
fn a_udp_flood_the_target_does_not_answer() {
    let mut g = Gen::new(1_700_000_000);
    let t = ip("10.0.0.53");
    // 24,000 datagrams in two seconds (12,000/s) from 1000 spoofed sources, random ports.
    for i in 0..24_000u32 {
        g.udp(spoofed(i % 1000), 1024 + (i % 5000) as u16, t, (i * 7 % 60000) as u16 + 1, &[0; 16]);
        g.advance(83 * 1000 * NS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-udp");
    assert_eq!(a["destination"]["ip"], "10.0.0.53");
    assert_eq!(a["network"]["transport"], "udp");
    assert_eq!(technique(a), ("T1498", "T1498.001"));
    assert_eq!(common::alert_fact(a, "replies"), 0);
    assert!(
        common::alert_fact(a, "packets") >= 10_000 && common::alert_fact(a, "rate") >= 10_000,
        "{}",
        msg(a)
    );
    assert!(msg(a).contains("UDP datagrams in"), "{}", msg(a));
    // The same rate of DNS queries, answered, is a busy resolver.
    let mut busy = Gen::new(1_700_000_000);
    for i in 0..12_000u32 {
        let c = ip(&format!("10.3.{}.{}", i % 40, i % 200 + 1));
        busy.udp(c, 1024 + (i % 5000) as u16, t, 53, &[1; 30]);
        busy.udp(t, 53, c, 1024 + (i % 5000) as u16, &[2; 60]);
        busy.advance(83 * 1000 * NS);
    }
    assert!(flood_alerts(&alerts_of(&busy)).is_empty());
}

#[test]
fn icmp_echo_floods_to_a_host_and_to_a_multicast_group() {
    // IPv4: 3000 echo requests in 1.5 s from 300 spoofed sources, answered (ping -f style).
    let mut g = Gen::new(1_700_000_000);
    let t = ip("10.0.0.7");
    for i in 0..3000u32 {
        let s = spoofed(i % 300);
        g.icmp_echo(s, t, false, 1, i as u16).icmp_echo(t, s, true, 1, i as u16);
        g.advance(500 * 1000 * NS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-icmp");
    assert_eq!(a["destination"]["ip"], "10.0.0.7");
    assert_eq!(a["network"]["transport"], "icmp");
    assert_eq!(technique(a), ("T1498", "T1498.001"));
    assert_eq!(common::alert_fact(a, "packets"), 1000);
    assert!(msg(a).contains("1000 ICMP echo requests"), "{}", msg(a));
    // IPv6: one host flooding all-nodes ff02::1 with 2000 echo requests in a second.
    let mut g = Gen::new(1_700_000_000);
    let s = ip("fe80::bad");
    for i in 0..2000u16 {
        g.icmp_echo(s, ip("ff02::1"), false, 2, i);
        g.advance(500 * 1000 * NS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-icmp");
    assert_eq!(a["destination"]["ip"], "ff02::1");
    assert_eq!(a["source"]["ip"], "fe80::bad");
    assert_eq!(a["network"]["transport"], "ipv6-icmp");
    assert_eq!(common::alert_fact(a, "sources"), 1);
    assert!(
        msg(a).contains("ff02::1 (multicast) received 1000 ICMPv6 echo requests"),
        "{}",
        msg(a)
    );
    // And no host sweep: multicast is not a host.
    assert!(alerts.iter().all(|a| a["rule"]["id"] != "wirebeat-scan-icmp-sweep"));
}

#[test]
fn fragment_floods_from_spoofed_trains_and_ipv6_extension_headers() {
    // IPv4: 1500 two-piece datagrams in 3 s, each from its own spoofed source (completed).
    let mut g = Gen::new(1_700_000_000);
    let t = ip("10.0.0.9");
    for i in 0..1500u32 {
        let s = spoofed(i);
        g.ip_fragment(s, t, 17, i, 0, true, false, &[0; 16]);
        g.ip_fragment(s, t, 17, i, 16, false, false, &[0; 8]);
        g.advance(2 * MS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-fragment");
    assert_eq!(a["destination"]["ip"], "10.0.0.9");
    assert_eq!(technique(a), ("T1499", "T1499.001"));
    assert_eq!(common::alert_fact(a, "packets"), 1000);
    assert_eq!(common::alert_fact(a, "incomplete"), 0);
    assert!(common::alert_fact(a, "sources") >= 950, "{}", msg(a));
    // IPv6: 2000 first fragments (never completed) behind a hop-by-hop header from one host.
    let mut g = Gen::new(1_700_000_000);
    let (s, t) = (ip("2001:db8:1::2"), ip("2001:db8:1::1"));
    for i in 0..2000u32 {
        g.ip_fragment(s, t, 58, 0xface_0000 + i, 0, true, true, &[128, 0, 0, 0, 0, 1, 0, 1]);
        g.advance(MS / 2);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-fragment");
    assert_eq!(a["destination"]["ip"], "2001:db8:1::1");
    assert_eq!(a["source"]["ip"], "2001:db8:1::2");
    assert_eq!(common::alert_fact(a, "incomplete"), 1000);
    let e = common::one_alert(&alerts, "wirebeat-flood-ipv6-ext-headers");
    assert_eq!(e["destination"]["ip"], "2001:db8:1::1");
    assert_eq!(technique(e), ("T1499", "T1499.001"));
    assert_eq!(common::alert_fact(e, "packets"), 1000);
    // Ordinary fragmented traffic: a server's 1200 large answers to one client in four
    // seconds, completed: as many and as fast as a flood, but from one host and whole.
    let mut g = Gen::new(1_700_000_000);
    for i in 0..1200u32 {
        g.ip_fragment(ip("10.0.0.53"), ip("10.0.0.20"), 17, i, 0, true, false, &[0; 1480]);
        g.ip_fragment(ip("10.0.0.53"), ip("10.0.0.20"), 17, i, 1480, false, false, &[0; 100]);
        g.advance(3 * MS);
    }
    assert!(flood_alerts(&alerts_of(&g)).is_empty());
}

#[test]
fn dhcp_starvation_from_many_client_macs() {
    let mut g = Gen::new(1_700_000_000);
    // 300 DISCOVERs in three seconds, each from its own (random-looking) MAC.
    for i in 0..300u32 {
        let b = i.to_be_bytes();
        let mac = [0x02, 0x5e, b[1] ^ 0x3c, b[2], b[3], (i * 37) as u8];
        g.udp(ip("0.0.0.0"), 68, ip("255.255.255.255"), 67, &dhcp_client_message(mac, i, 1));
        g.advance(10 * MS);
    }
    let alerts = alerts_of(&g);
    let a = common::one_alert(&alerts, "wirebeat-flood-dhcp");
    assert_eq!(technique(a), ("T1499", "T1499.002"));
    assert_eq!(a["wirebeat"]["alert"]["facts"]["kind"], "starvation");
    assert_eq!(common::alert_fact(a, "client_macs"), 200);
    assert_eq!(common::alert_fact(a, "messages"), 200);
    assert_eq!(a["destination"]["ip"], "255.255.255.255");
    assert!(msg(a).contains("from 200 client MACs (DHCP starvation"), "{}", msg(a));
    // An office of 60 clients getting a lease (DISCOVER, REQUEST) over ten seconds: quiet.
    let mut g = Gen::new(1_700_000_000);
    for i in 0..60u32 {
        let mac = [0x3c, 0x22, 0xfb, 0, 1, i as u8];
        for t in [1u8, 3] {
            g.udp(ip("0.0.0.0"), 68, ip("255.255.255.255"), 67, &dhcp_client_message(mac, i, t));
            g.advance(80 * MS);
        }
    }
    assert!(flood_alerts(&alerts_of(&g)).is_empty());
}

#[test]
fn corpus_floods_fire() {
    require_shared!();
    // 200 SYNs in 0.2 s from one source to 198.51.100.5:443, none answered.
    let alerts = corpus_alerts("sv-firewall-tcp-session-syn-flood-drop-precedence.pcap");
    let a = common::one_alert(&alerts, "wirebeat-flood-syn");
    assert_eq!(a["source"]["ip"], "192.0.2.10");
    assert_eq!(a["destination"]["ip"], "198.51.100.5");
    assert_eq!(a["destination"]["port"], 443);
    assert_eq!(common::alert_fact(a, "packets"), 200);
    assert_eq!(common::alert_fact(a, "half_open"), 200);
    assert_eq!(technique(a), ("T1499", "T1499.001"));
    assert_eq!(flood_alerts(&alerts).len(), 1);

    // 250 DHCPINFORMs in five seconds from one client MAC (to 250 server addresses).
    let alerts = corpus_alerts("zeek-dhcp-dhcp_flood.pcap");
    let a = common::one_alert(&alerts, "wirebeat-flood-dhcp");
    assert_eq!(a["source"]["mac"], "90-B1-1C-99-49-29");
    assert_eq!(a["wirebeat"]["alert"]["facts"]["kind"], "request flood");
    assert_eq!(common::alert_fact(a, "messages"), 100);
    assert_eq!(common::alert_fact(a, "top_client_messages"), 100);
    assert_eq!(technique(a), ("T1499", "T1499.002"));

    // THC denial6: ~39,800 first fragments behind a hop-by-hop header in six seconds from
    // 2001:db8:1::2 to 2001:db8:1::1, none completed: a fragment and an extension-header
    // flood.
    let alerts = corpus_alerts("sv-ipv6-evasion-ipv6-dos-with-ext-headers-6-denial6-6.pcap");
    for rule in ["wirebeat-flood-fragment", "wirebeat-flood-ipv6-ext-headers"] {
        let a = common::one_alert(&alerts, rule);
        assert_eq!(a["source"]["ip"], "2001:db8:1::2");
        assert_eq!(a["destination"]["ip"], "2001:db8:1::1");
        assert_eq!(common::alert_fact(a, "packets"), 1000);
        assert_eq!(technique(a), ("T1499", "T1499.001"));
    }
    assert_eq!(
        common::alert_fact(common::one_alert(&alerts, "wirebeat-flood-fragment"), "incomplete"),
        1000
    );

    // A fragment spray: 4096 datagrams each to 198.18.0.2 and c612:2:: over 16 s, every one
    // from its own spoofed source.
    let alerts = corpus_alerts("sv-security-8510-defrag-af-confusion-spray-h8.pcap");
    let f: Vec<&Value> = flood_alerts(&alerts);
    assert_eq!(f.len(), 2, "{f:#?}");
    for (a, target) in f.iter().zip(["198.18.0.2", "c612:2::"]) {
        assert_eq!(a["rule"]["id"], "wirebeat-flood-fragment");
        assert_eq!(a["destination"]["ip"], target);
        assert!(a.get("source").is_none());
        let sources = common::alert_fact(a, "sources");
        assert!((950..=1050).contains(&sources), "about 1000 sources: {}", msg(a));
    }
}
