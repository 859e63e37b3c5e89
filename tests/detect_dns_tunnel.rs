//! `wirebeat.detect.dns_tunnel` end to end: captures from the traffic generator — a DNS tunnel
//! with long base32 labels and TXT queries, an iodine-like tunnel of hex labels and NULL
//! queries, DGA lookups (random .com names answered NXDOMAIN) — and benign DNS: a resolver
//! serving many clients, a CDN-heavy browsing client, reverse lookups, DNSBL and antivirus
//! lookups of a mail server, mDNS.

mod common;
use common::traffic::*;
use serde_json::Value;
use std::net::IpAddr;
use std::path::Path;

fn dns_alerts(pcap: &Path) -> Vec<Value> {
    let (out, events) = common::read(&[pcap], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    common::of_dataset(&events, "wirebeat.alert")
        .into_iter()
        .filter(|a| a["event"]["action"] == "dns_tunnel")
        .cloned()
        .collect()
}

/// A deterministic pseudo-random string of `n` characters from `alphabet`.
fn random(seed: u64, n: usize, alphabet: &[u8]) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

const B32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
const HEX: &[u8] = b"0123456789abcdef";
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// One query and its answer, `rtt` apart.
fn lookup(
    g: &mut Gen,
    client: IpAddr,
    sport: u16,
    resolver: IpAddr,
    name: &str,
    qtype: u16,
    rcode: u8,
) {
    let id = sport.wrapping_mul(31);
    let q = dns_query(id, name, qtype);
    g.udp(client, sport, resolver, 53, &q);
    g.advance(2 * MS);
    g.udp(resolver, 53, client, sport, &dns_response(&q, rcode, Some(b"ack")));
}

fn assert_c2(a: &Value, technique: &str, sub: &str) {
    assert_eq!(a["event"]["kind"], "alert");
    assert_eq!(a["threat"]["tactic"]["id"], serde_json::json!(["TA0011"]));
    assert_eq!(a["threat"]["technique"]["id"], serde_json::json!([technique]));
    assert_eq!(a["threat"]["technique"]["subtechnique"]["id"], serde_json::json!([sub]));
}

#[test]
fn tunnel_of_long_base32_labels_and_txt_queries() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("tunnel.pcap");
    let (client, resolver) = (ip("10.0.0.5"), ip("10.0.0.53"));
    let mut g = Gen::new(1_700_000_000);
    // dnscat2-like: 120 TXT queries in 30 s, each 63+40 base32 characters of data.
    for i in 0..120u64 {
        let name = format!(
            "{}.{}.{i}.c2.exfil-example.com",
            random(i, 63, B32),
            random(i + 1000, 40, B32)
        );
        lookup(&mut g, client, 30000 + i as u16, resolver, &name, 16, 0);
        g.advance(250 * MS);
    }
    g.write(&pcap);
    let a = dns_alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    let a = &a[0];
    assert_eq!(a["rule"]["id"], "wirebeat-dns_tunnel-tunnel");
    assert_c2(a, "T1071", "T1071.004");
    assert_eq!(a["source"]["ip"], "10.0.0.5");
    assert_eq!(a["destination"]["ip"], "10.0.0.53");
    assert_eq!(a["destination"]["port"], 53);
    assert_eq!(a["dns"]["question"]["registered_domain"], "exfil-example.com");
    let f = &a["wirebeat"]["alert"]["facts"];
    assert_eq!(f["queries"], 120);
    assert_eq!(f["unique_subdomains"], 120);
    assert_eq!(f["encoded_queries"], 120);
    assert_eq!(f["txt_null_queries"], 120);
    assert_eq!(f["longest_label"], 63);
    assert_eq!(
        a["message"],
        "10.0.0.5 sent 120 DNS queries for 120 unique names under exfil-example.com in 30 s \
         (120 with long or random-looking labels, longest label 63 characters; 120 TXT/NULL) \
         via 10.0.0.53:53 (DNS tunnelling)"
    );
}

#[test]
fn iodine_like_tunnel_of_hex_labels_and_null_queries() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("iodine.pcap");
    let (client, resolver) = (ip("2001:db8::5"), ip("2001:db8::53"));
    let mut g = Gen::new(1_700_000_000);
    for i in 0..60u64 {
        let name = format!("{}.t.tun-example.net", random(i, 32, HEX));
        lookup(&mut g, client, 31000 + i as u16, resolver, &name, 10, 0);
        g.advance(500 * MS);
    }
    g.write(&pcap);
    let a = dns_alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["rule"]["id"], "wirebeat-dns_tunnel-tunnel");
    assert_eq!(a[0]["source"]["ip"], "2001:db8::5");
    let f = &a[0]["wirebeat"]["alert"]["facts"];
    assert_eq!(f["unique_subdomains"], 60);
    assert_eq!(f["encoded_queries"], 60);
    assert_eq!(f["txt_null_queries"], 60);
}

#[test]
fn dga_lookups_answered_nxdomain() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("dga.pcap");
    let (client, resolver) = (ip("10.0.0.7"), ip("10.0.0.53"));
    let mut g = Gen::new(1_700_000_000);
    for i in 0..50u64 {
        let name = format!("{}.com", random(i, 12 + (i % 6) as usize, LETTERS));
        lookup(&mut g, client, 32000 + i as u16, resolver, &name, 1, 3);
        g.advance(200 * MS);
    }
    // ... until one resolves.
    lookup(&mut g, client, 33000, resolver, "qxvbnmtrewpl.com", 1, 0);
    g.write(&pcap);
    let a = dns_alerts(&pcap);
    assert_eq!(a.len(), 1, "{a:#?}");
    let a = &a[0];
    assert_eq!(a["rule"]["id"], "wirebeat-dns_tunnel-dga");
    assert_c2(a, "T1568", "T1568.002");
    assert_eq!(a["source"]["ip"], "10.0.0.7");
    assert_eq!(a["destination"]["ip"], "10.0.0.53");
    let f = &a["wirebeat"]["alert"]["facts"];
    assert_eq!(f["nxdomain_answers"], 50);
    assert_eq!(f["nxdomain_domains"], 50);
    let random_domains = f["random_domains"].as_u64().unwrap();
    // The randomness test is a heuristic: about three in four random 12-17 letter names are
    // judged random-looking (some random strings read like words); 20 are needed.
    assert!((30..=50).contains(&random_domains), "{f}");
    let m = a["message"].as_str().unwrap();
    assert!(
        m.starts_with(&format!(
            "10.0.0.7 got NXDOMAIN for {random_domains} random-looking domains in "
        )),
        "{m}"
    );
    assert!(m.contains("(of 50 domains answered NXDOMAIN; e.g. "), "{m}");
}

#[test]
fn resolver_with_many_clients_cdns_and_known_lookups_raise_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("benign.pcap");
    let resolver = ip("10.0.0.53");
    let mut g = Gen::new(1_700_000_000);
    let popular = [
        "www.google.com",
        "fonts.gstatic.com",
        "www.wikipedia.org",
        "outlook.office365.com",
        "api.github.com",
        "www.bbc.co.uk",
        "login.microsoftonline.com",
        "s3.eu-west-1.amazonaws.com",
        "typo-nonexistent-host.example.com",
    ];
    // 150 clients, each a handful of ordinary lookups (some NXDOMAIN typos).
    for c in 0..150u16 {
        let client: IpAddr = format!("10.1.{}.{}", c / 200, c % 200 + 1).parse().unwrap();
        for (k, name) in popular.iter().enumerate() {
            let rcode = if name.starts_with("typo") { 3 } else { 0 };
            lookup(&mut g, client, 40000 + k as u16, resolver, name, 1, rcode);
            g.advance(3 * MS);
        }
    }
    // A CDN-heavy browsing client: 120 distinct CDN and cloud names in a minute.
    let browser = ip("10.2.0.1");
    for i in 0..120u64 {
        let name = match i % 4 {
            0 => format!(
                "d{}.cloudfront.net",
                random(i, 13, b"abcdefghijklmnopqrstuvwxyz0123456789")
            ),
            1 => format!("e{}.dscb.akamaiedge.net", 1000 + i),
            2 => format!("my-app-{}-{}.eu-west-1.elb.amazonaws.com", i, 1_000_000_000 + i * 7919),
            _ => format!(
                "r{}---sn-{}.googlevideo.com",
                i % 9,
                random(i, 8, b"abcdefghijklmnopqrstuvwxyz0123456789")
            ),
        };
        lookup(&mut g, browser, 41000 + i as u16, resolver, &name, 1, 0);
        g.advance(500 * MS);
    }
    // A mail server: DNSBL lookups of 200 connecting addresses (most not listed: NXDOMAIN),
    // antivirus hash lookups, reverse lookups; and mDNS service discovery.
    let mail = ip("10.3.0.25");
    for i in 0..200u64 {
        let bl = format!("{}.{}.113.203.zen.spamhaus.org", i % 250, i / 250 + 1);
        lookup(&mut g, mail, 42000 + i as u16, resolver, &bl, 1, 3);
        let av = format!("{}.{}.e5.sk", random(i, 40, HEX), random(i + 9, 24, HEX));
        lookup(&mut g, mail, 43000 + i as u16, resolver, &av, 16, 0);
        let rev = format!("{}.113.0.203.in-addr.arpa", i % 250);
        lookup(&mut g, mail, 44000 + i as u16, resolver, &rev, 12, 3);
        g.advance(200 * MS);
    }
    let (mdns_host, mdns_group) = (ip("10.4.0.9"), ip("224.0.0.251"));
    for i in 0..60u64 {
        let q = dns_query(0, &format!("{}._airplay._tcp.local", random(i, 12, LETTERS)), 12);
        g.udp(mdns_host, 5353, mdns_group, 5353, &q);
        let q = dns_query(0, "_services._dns-sd._udp.local", 12);
        g.udp(mdns_host, 5353, mdns_group, 5353, &q);
        g.advance(100 * MS);
    }
    g.write(&pcap);
    let a = dns_alerts(&pcap);
    assert!(a.is_empty(), "{a:#?}");
}

#[test]
fn allow_domains_silence_a_known_service() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("allowed.pcap");
    let (client, resolver) = (ip("10.0.0.5"), ip("10.0.0.53"));
    let mut g = Gen::new(1_700_000_000);
    for i in 0..60u64 {
        let name = format!("{}.scan.av-vendor-example.com", random(i, 48, HEX));
        lookup(&mut g, client, 30000 + i as u16, resolver, &name, 16, 0);
        g.advance(100 * MS);
    }
    g.write(&pcap);
    assert_eq!(dns_alerts(&pcap).len(), 1);
    let (out, events) = common::read(
        &[&pcap],
        &["wirebeat.detect.dns_tunnel.thresholds.allow_domains=[av-vendor-example.com]"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let allowed: Vec<_> = common::of_dataset(&events, "wirebeat.alert")
        .into_iter()
        .filter(|a| a["event"]["action"] == "dns_tunnel")
        .collect();
    assert!(allowed.is_empty(), "{allowed:#?}");
}
