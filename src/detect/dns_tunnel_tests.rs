use super::*;
use crate::detect::obs::Auth;
use crate::proto::Outcome;
use std::net::Ipv4Addr;

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn query(client: u8, ts: i64, name: &str, reg: Option<&str>, qtype: &str, rcode: &str) -> TxnObs {
    TxnObs {
        ts_ns: ts,
        start_ns: ts,
        end_ns: Some(ts),
        protocol: "dns",
        src: ip(client),
        dst: ip(53),
        sport: 40000,
        dport: 53,
        outcome: Outcome::Success,
        auth: Auth::None,
        detail: Detail::Dns {
            name: name.into(),
            registered_domain: reg.map(str::to_owned),
            qtype: qtype.into(),
            rcode: rcode.into(),
            answers: 0,
        },
        community_id: None,
    }
}

/// A deterministic pseudo-random label of `n` characters from `alphabet`.
fn label(seed: i64, n: usize, alphabet: &[u8]) -> String {
    let mut x = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
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
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

fn run(d: &mut DnsTunnel, txns: &[TxnObs]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for t in txns {
        d.transaction(t, &mut alerts);
    }
    d.tick(txns.iter().map(|t| t.ts_ns).max().unwrap_or(T0), &mut alerts);
    alerts
}

fn detector() -> DnsTunnel {
    DnsTunnel::new(&Config::default())
}

#[test]
fn random_labels_are_told_from_words() {
    for w in ["googlesyndication", "cloudfront", "bitdefender", "windowsupdate", "pinterest"] {
        assert!(!looks_random(w, 8), "{w}");
    }
    let randoms = (0..100).filter(|i| looks_random(&label(*i, 12, LETTERS), 8)).count();
    assert!(randoms >= 80, "{randoms} of 100 random 12-letter labels look random");
    let hex = (0..100).filter(|i| looks_random(&label(*i, 32, b"0123456789abcdef"), 16)).count();
    assert_eq!(hex, 100);
    assert!(!looks_random("my-load-balancer-1234567890", 16));
}

#[test]
fn distinct_sketch_is_exact_when_small_and_close_when_large() {
    let mut d = Distinct::default();
    for i in 0..50 {
        d.insert(hash64(&format!("n{i}")));
        d.insert(hash64(&format!("n{i}")));
    }
    assert_eq!(d.count(), 50);
    for i in 0..10_000 {
        d.insert(hash64(&format!("m{i}")));
    }
    let c = d.count() as f64;
    assert!((c - 10_050.0).abs() / 10_050.0 < 0.3, "{c}");
    assert!(d.kept.len() <= K);
}

#[test]
fn a_tunnel_of_long_base32_labels_alerts_once() {
    let mut d = detector();
    let txns: Vec<TxnObs> = (0..100)
        .map(|i| {
            let name = format!("{}.{}.t.evil-tunnel.com", label(i, 60, B32), label(i + 7, 30, B32));
            query(5, T0 + i * S / 4, &name, Some("evil-tunnel.com"), "TXT", "NOERROR")
        })
        .collect();
    let alerts = run(&mut d, &txns);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a.rule.id, "wirebeat-dns_tunnel-tunnel");
    assert_eq!(a.source, Some(Endpoint::ip(ip(5))));
    assert_eq!(a.facts["queries"], 100);
    assert_eq!(a.facts["encoded_queries"], 100);
    assert_eq!(a.facts["txt_null_queries"], 100);
    assert_eq!(a.facts["longest_label"], 60);
    assert_eq!(a.facts["unique_subdomains"], 100, "exact below the sketch's size");
    assert!(
        a.message.starts_with("10.0.0.5 sent 100 DNS queries for 100 unique names"),
        "{}",
        a.message
    );
    assert!(a.message.contains("under evil-tunnel.com in 25 s"), "{}", a.message);
    assert!(a.message.ends_with("via 10.0.0.53:53 (DNS tunnelling)"), "{}", a.message);
}

#[test]
fn cdn_dnsbl_reverse_and_mdns_names_stay_quiet() {
    let mut d = detector();
    let mut txns = Vec::new();
    for i in 0..200 {
        let ts = T0 + i * S / 10;
        let cf =
            format!("d{}.cloudfront.net", label(i, 13, b"abcdefghijklmnopqrstuvwxyz0123456789"));
        txns.push(query(5, ts, &cf, Some("cloudfront.net"), "A", "NOERROR"));
        let bl = format!("{}.{}.{}.{}.zen.spamhaus.org", i % 250, i % 7, 3, 10);
        txns.push(query(6, ts, &bl, Some("spamhaus.org"), "A", "NXDOMAIN"));
        let rev = format!("{}.{}.168.192.in-addr.arpa", i % 250, i / 250);
        txns.push(query(7, ts, &rev, Some("168.192.in-addr.arpa"), "PTR", "NXDOMAIN"));
        let ip6 = format!(
            "{}.ip6.arpa",
            label(i, 63, b"0123456789abcdef")
                .chars()
                .flat_map(|c| [c, '.'])
                .collect::<String>()
                .trim_end_matches('.')
        );
        txns.push(query(7, ts, &ip6, Some("x.ip6.arpa"), "PTR", "NXDOMAIN"));
        let av = format!("{}.e5.sk", label(i, 40, b"0123456789abcdef"));
        txns.push(query(8, ts, &av, Some("e5.sk"), "A", "NOERROR"));
        let mdns = format!("{}._airplay._tcp.local", label(i, 10, LETTERS));
        txns.push(query(9, ts, &mdns, Some("_tcp.local"), "PTR", "NOERROR"));
    }
    let alerts = run(&mut d, &txns);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn nxdomain_for_many_random_domains_is_dga_but_blocked_ad_domains_are_not() {
    let mut d = detector();
    let mut txns: Vec<TxnObs> = (0..40)
        .map(|i| {
            let dom = format!("{}.com", label(i, 14, LETTERS));
            query(5, T0 + i * S / 2, &dom, Some(&dom), "A", "NXDOMAIN")
        })
        .collect();
    // A DNS sinkhole answering NXDOMAIN for ad and tracker domains: words, not random.
    for (i, dom) in [
        "doubleclick.net",
        "googlesyndication.com",
        "adnxs.com",
        "scorecardresearch.com",
        "facebook.net",
        "outbrain.com",
        "taboola.com",
        "criteo.com",
        "pubmatic.com",
        "rubiconproject.com",
        "openx.net",
        "casalemedia.com",
        "advertising.com",
        "quantserve.com",
        "chartbeat.net",
        "hotjar.com",
        "moatads.com",
        "amazon-adsystem.com",
        "yieldmo.com",
        "bidswitch.net",
        "smartadserver.com",
        "adsrvr.org",
        "demdex.net",
        "krxd.net",
    ]
    .iter()
    .enumerate()
    {
        txns.push(query(6, T0 + i as i64 * S, &format!("ads.{dom}"), Some(dom), "A", "NXDOMAIN"));
    }
    let alerts = run(&mut d, &txns);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a.rule.id, "wirebeat-dns_tunnel-dga");
    assert_eq!(a.source, Some(Endpoint::ip(ip(5))));
    assert_eq!(a.facts["nxdomain_domains"], 40);
    assert!(a.facts["random_domains"].as_u64().unwrap() >= 30, "{:?}", a.facts);
}

#[test]
fn state_is_bounded() {
    let cfg = Config { max_tracked: 3, ..Config::default() };
    let mut d = DnsTunnel::new(&cfg);
    let txns: Vec<TxnObs> = (0..10)
        .map(|i| {
            let dom = format!("{}.com", label(i, 12, LETTERS));
            query(5, T0, &format!("{}.{dom}", label(i, 50, B32)), Some(&dom), "A", "NOERROR")
        })
        .collect();
    run(&mut d, &txns);
    let (held, refused) = d.state();
    assert_eq!(held, 3);
    assert_eq!(refused, 17);
    let mut alerts = Vec::new();
    d.tick(T0 + 600 * S, &mut alerts);
    assert_eq!(d.state().0, 0);
}

#[test]
fn thresholds_are_validated() {
    let mut c = Config::default();
    assert!(c.validate().is_ok());
    c.thresholds.long_label = 100;
    assert_eq!(c.validate().unwrap_err().key, "thresholds.long_label");
    c.thresholds.long_label = 40;
    c.thresholds.allow_domains.push("not a domain".into());
    assert!(c.validate().unwrap_err().key.starts_with("thresholds.allow_domains["));
}
