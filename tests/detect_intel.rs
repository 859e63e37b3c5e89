//! Threat intelligence (`wirebeat.detect.intel`): every list format read from the synthetic
//! files in `tests/data/intel/` against generated traffic (and one corpus TLS capture for JA3,
//! JA4 and certificate hashes), checking the alert and the `threat.enrichments` of the matched
//! events; and, live, a list changed while `wirebeat run` captures on a veth pair in a private
//! network namespace takes effect without a restart, with the alert latency measured.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::traffic::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn data(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/intel").join(name);
    assert!(p.exists(), "{}", p.display());
    p.to_str().unwrap().to_owned()
}

/// A config file with these `wirebeat.detect.intel.lists` entries (YAML flow mappings).
fn config(dir: &Path, lists: &[String], extra: &str) -> PathBuf {
    let mut y = String::from("wirebeat:\n  detect:\n    intel:\n");
    y.push_str(extra);
    y.push_str("      lists:\n");
    for l in lists {
        y.push_str(&format!("        - {l}\n"));
    }
    let p = dir.join("wirebeat.yml");
    std::fs::write(&p, y).unwrap();
    p
}

fn list(path: &str, rest: &str) -> String {
    if rest.is_empty() {
        format!("{{path: \"{path}\"}}")
    } else {
        format!("{{path: \"{path}\", {rest}}}")
    }
}

/// `wirebeat read -c cfg` of `pcaps`: (stderr, events).
fn read_with(cfg: &Path, pcaps: &[&Path]) -> (String, Vec<Value>) {
    let mut c = wirebeat();
    c.arg("read").arg("--no-progress").arg("-c").arg(cfg).args(pcaps);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "wirebeat read failed:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (stderr, events)
}

fn alerts(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| is_dataset(e, "wirebeat.alert")).collect()
}

/// A field by dotted path; a numeric part indexes an array (`threat.enrichments.0.matched`).
fn at<'a>(e: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(e, |v, k| match (v, k.parse::<usize>()) {
        (Value::Array(a), Ok(i)) => a.get(i),
        _ => v.get(k),
    })
}

fn s<'a>(e: &'a Value, path: &str) -> &'a str {
    at(e, path).and_then(Value::as_str).unwrap_or_else(|| panic!("no {path} in {e}"))
}

/// The `threat.enrichments` of an event: (matched.field, matched.atomic, indicator.provider).
fn enrichments(e: &Value) -> Vec<(String, String, String)> {
    let Some(list) = get(e, "threat.enrichments").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|x| {
            (
                s(x, "matched.field").to_owned(),
                s(x, "matched.atomic").to_owned(),
                s(x, "indicator.provider").to_owned(),
            )
        })
        .collect()
}

fn assert_alert_shape(a: &Value, technique: &str, sub: Option<&str>) {
    assert_eq!(s(a, "rule.id"), "wirebeat-intel-match");
    assert_eq!(s(a, "event.kind"), "alert");
    assert_eq!(s(a, "event.action"), "intel");
    assert_eq!(get(a, "threat.technique.id").unwrap(), &serde_json::json!([technique]));
    match sub {
        Some(id) => {
            assert_eq!(
                get(a, "threat.technique.subtechnique.id").unwrap(),
                &serde_json::json!([id])
            )
        }
        None => assert!(get(a, "threat.technique.subtechnique").is_none(), "{a}"),
    }
    assert_eq!(s(a, "threat.enrichments.0.matched.type"), "indicator_match_rule");
}

/// DNS from 10.1.0.5: `name` asked of `resolver`, answered.
fn dns(g: &mut Gen, sport: u16, resolver: &str, name: &str) {
    let q = dns_query(sport, name, 1);
    g.udp(ip("10.1.0.5"), sport, ip(resolver), 53, &q);
    g.advance(MS);
    g.udp(ip(resolver), 53, ip("10.1.0.5"), sport, &dns_response(&q, 0, None));
    g.advance(100 * MS);
}

/// An HTTP GET of `path` from 10.1.0.5 to `server` with `Host: host`.
fn http_get(g: &mut Gen, cport: u16, server: &str, host: &str, path: &str) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n");
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    g.session(ip("10.1.0.5"), cport, ip(server), 80, &[(true, req.as_bytes()), (false, resp)], MS);
    g.advance(100 * MS);
}

#[test]
fn plain_list_ip_cidr_and_domain_matches_alert_and_enrich() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    dns(&mut g, 40001, "198.51.100.53", "www.benign.test"); // listed resolver
    dns(&mut g, 40002, "10.1.0.1", "beacon.c2.example"); // listed parent domain
    dns(&mut g, 40003, "10.1.0.1", "www.benign.test"); // nothing listed
    g.session(ip("10.1.0.5"), 40004, ip("203.0.113.200"), 443, &[(true, b"hello")], MS); // CIDR
    g.write(&pcap);
    let cfg = config(dir.path(), &[list(&data("plain.txt"), "name: plain-test")], "");
    let (stderr, events) = read_with(&cfg, &[&pcap]);
    // The bad line is reported once, with the count and the first example.
    let bad: Vec<&str> = stderr.lines().filter(|l| l.contains("bad lines skipped")).collect();
    assert_eq!(bad.len(), 1, "{stderr}");
    assert!(bad[0].contains("1 bad lines") && bad[0].contains("line 7"), "{}", bad[0]);

    let a = alerts(&events);
    assert_eq!(a.len(), 3, "{a:#?}");
    // The listed resolver: one alert for its conversation (query and answer), from the packet.
    let resolver = a.iter().find(|a| s(a, "destination.ip") == "198.51.100.53").unwrap();
    assert_alert_shape(resolver, "T1071", None);
    assert_eq!(s(resolver, "source.ip"), "10.1.0.5");
    assert_eq!(get(resolver, "destination.port").unwrap(), 53);
    let msg = s(resolver, "message");
    assert!(
        msg.starts_with(
            "destination.ip 198.51.100.53 of a udp packet 10.1.0.5:40001 → 198.51.100.53:53"
        ) && msg.contains("indicator 198.51.100.53 (ip) of threat intel list \"plain-test\""),
        "{msg}"
    );
    assert_eq!(get(resolver, "event.severity").unwrap(), 73);
    assert_eq!(s(resolver, "wirebeat.alert.facts.list"), "plain-test");
    assert_eq!(s(resolver, "wirebeat.alert.facts.field"), "destination.ip");
    // The DNS question under a listed domain: T1071.004, from the transaction.
    let domain =
        a.iter().find(|a| s(a, "wirebeat.alert.facts.field") == "dns.question.name").unwrap();
    assert_alert_shape(domain, "T1071", Some("T1071.004"));
    assert_eq!(s(domain, "wirebeat.alert.facts.indicator"), "c2.example");
    assert!(
        s(domain, "message").contains("dns.question.name beacon.c2.example of a dns transaction")
    );
    // The CIDR.
    let net = a.iter().find(|a| s(a, "destination.ip") == "203.0.113.200").unwrap();
    assert_eq!(s(net, "wirebeat.alert.facts.indicator"), "203.0.113.128/25");
    assert_eq!(s(net, "threat.enrichments.0.indicator.ip"), "203.0.113.200");
    assert_eq!(s(net, "threat.enrichments.0.indicator.name"), "203.0.113.128/25");

    // Enrichments on the matched flow and transaction events, none on the others.
    let dns_txns: Vec<&Value> = of_dataset(&events, "network_traffic.dns");
    assert_eq!(dns_txns.len(), 3);
    for t in &dns_txns {
        let e = enrichments(t);
        match s(t, "dns.question.name") {
            "beacon.c2.example" => assert_eq!(
                e,
                vec![("dns.question.name".into(), "beacon.c2.example".into(), "plain-test".into())]
            ),
            _ if s(t, "destination.ip") == "198.51.100.53" => assert_eq!(
                e,
                vec![("destination.ip".into(), "198.51.100.53".into(), "plain-test".into())]
            ),
            _ => assert!(e.is_empty(), "{t}"),
        }
    }
    for f in of_dataset(&events, "network_traffic.flow") {
        let listed = ["198.51.100.53", "203.0.113.200"].contains(&s(f, "destination.ip"));
        assert_eq!(!enrichments(f).is_empty(), listed, "{f}");
    }
}

#[test]
fn csv_list_by_header_matches_dns_names() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    dns(&mut g, 40010, "10.1.0.1", "x7f3k.dga-c2.example");
    dns(&mut g, 40011, "10.1.0.1", "dga-c2.example.other.test"); // not under the domain
    g.write(&pcap);
    let cfg =
        config(dir.path(), &[list(&data("indicators.csv"), "format: csv, severity: critical")], "");
    let (stderr, events) = read_with(&cfg, &[&pcap]);
    assert!(stderr.contains("1 bad lines skipped") && stderr.contains("line 4"), "{stderr}");
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_alert_shape(a[0], "T1071", Some("T1071.004"));
    assert_eq!(get(a[0], "event.severity").unwrap(), 99);
    assert_eq!(s(a[0], "threat.enrichments.0.indicator.url.domain"), "dga-c2.example");
    assert_eq!(
        s(a[0], "threat.enrichments.0.indicator.first_seen"),
        "2024-03-01T12:00:00.000000000Z"
    );
    assert_eq!(s(a[0], "threat.enrichments.0.indicator.description"), "DGA family X, seed 7");
    assert_eq!(s(a[0], "threat.enrichments.0.indicator.type"), "domain-name");
    assert_eq!(s(a[0], "threat.enrichments.0.indicator.provider"), "indicators");
}

#[test]
fn abusech_feodo_ip_blocklist_matches_a_tcp_session() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    g.session(ip("10.1.0.7"), 50000, ip("203.0.113.66"), 443, &[(true, b"x"), (false, b"y")], MS);
    g.advance(S);
    g.session(ip("10.1.0.7"), 50001, ip("203.0.113.68"), 443, &[(true, b"x")], MS);
    g.write(&pcap);
    let cfg = config(
        dir.path(),
        &[list(&data("feodo_ipblocklist.csv"), "format: abusech, name: feodo")],
        "",
    );
    let (stderr, events) = read_with(&cfg, &[&pcap]);
    assert!(
        stderr.contains("feodo: 1 bad lines skipped") && stderr.contains("203.0.113.999"),
        "{stderr}"
    );
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "one alert per conversation: {a:#?}");
    assert_alert_shape(a[0], "T1071", None);
    assert_eq!((s(a[0], "source.ip"), s(a[0], "destination.ip")), ("10.1.0.7", "203.0.113.66"));
    assert_eq!(get(a[0], "destination.port").unwrap(), 443);
    assert_eq!(s(a[0], "network.transport"), "tcp");
    assert!(
        s(a[0], "message").contains("(Dridex; first seen 2024-01-17)"),
        "{}",
        s(a[0], "message")
    );
    let flow = of_dataset(&events, "network_traffic.flow")
        .into_iter()
        .find(|f| s(f, "destination.ip") == "203.0.113.66")
        .unwrap();
    assert_eq!(
        s(flow, "threat.enrichments.0.indicator.last_seen"),
        "2024-02-01T00:00:00.000000000Z"
    );
    assert_eq!(s(flow, "network.community_id"), s(a[0], "network.community_id"));
}

#[test]
fn abusech_sslbl_ja3_and_certificates_csv_match_tls() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &[
            list(
                &data("sslbl_ja3_fingerprints.csv"),
                "format: abusech, name: sslbl-ja3, severity: medium",
            ),
            list(&data("sslbl_certificates.csv"), "format: abusech, name: sslbl-certs"),
            list(&data("indicators.csv"), "format: csv, type: ja4, name: ja4s"),
        ],
        "",
    );
    let pcap = corpus().join("pcaps/zeek-tls-chrome-34-google.pcap");
    let (_, events) = read_with(&cfg, &[&pcap]);
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "one TLS transaction, one alert: {a:#?}");
    assert_alert_shape(a[0], "T1071", None);
    assert_eq!(get(a[0], "event.severity").unwrap(), 73, "the most severe list wins");
    assert_eq!(get(a[0], "wirebeat.alert.facts.matches").unwrap(), 3);
    let tls = of_dataset(&events, "network_traffic.tls")[0];
    let mut e = enrichments(tls);
    e.sort();
    assert_eq!(
        e,
        vec![
            (
                "tls.client.ja3".into(),
                "a607f3a5c94c2ee592af1456f36c8367".into(),
                "sslbl-ja3".into()
            ),
            ("tls.client.ja4".into(), "t12d2011s3_8dd61975155f_06a4338d0495".into(), "ja4s".into()),
            (
                "tls.server.hash.sha1".into(),
                "CB69D04EC2EE0638E93C6ECC56B7DCC1F843C247".into(),
                "sslbl-certs".into()
            ),
        ]
    );
    assert_eq!(s(tls, "tls.client.ja3"), "a607f3a5c94c2ee592af1456f36c8367");
    let cert = get(tls, "threat.enrichments")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|x| s(x, "indicator.type") == "x509-certificate")
        .unwrap();
    assert_eq!(s(cert, "indicator.file.hash.sha1"), "CB69D04EC2EE0638E93C6ECC56B7DCC1F843C247");
}

#[test]
fn abusech_urlhaus_matches_an_http_url() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    http_get(&mut g, 41000, "198.51.100.80", "198.51.100.80", "/bins/mozi.m");
    http_get(&mut g, 41001, "198.51.100.80", "198.51.100.80", "/index.html");
    g.write(&pcap);
    let cfg =
        config(dir.path(), &[list(&data("urlhaus.csv"), "format: abusech, name: urlhaus")], "");
    let (stderr, events) = read_with(&cfg, &[&pcap]);
    assert!(stderr.contains("urlhaus: 1 bad lines skipped"), "{stderr}");
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_alert_shape(a[0], "T1071", Some("T1071.001"));
    assert_eq!(s(a[0], "wirebeat.alert.facts.field"), "url.full");
    assert_eq!(
        s(a[0], "threat.enrichments.0.indicator.url.full"),
        "http://198.51.100.80/bins/mozi.m"
    );
    assert_eq!(
        s(a[0], "threat.enrichments.0.indicator.reference"),
        "https://urlhaus.abuse.ch/url/1000001/"
    );
    let hits: Vec<String> = of_dataset(&events, "network_traffic.http")
        .into_iter()
        .filter(|h| !enrichments(h).is_empty())
        .map(|h| s(h, "url.path").to_owned())
        .collect();
    assert_eq!(hits, vec!["/bins/mozi.m"]);
}

#[test]
fn misp_csv_and_json_exports_match() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    g.udp(ip("10.1.0.5"), 42000, ip("192.0.2.200"), 4444, b"shell");
    g.advance(S);
    dns(&mut g, 42001, "10.1.0.1", "misp-c2.example");
    dns(&mut g, 42002, "10.1.0.1", "not-for-ids.example");
    http_get(&mut g, 42003, "192.0.2.80", "192.0.2.80", "/gate.php?id=17");
    g.write(&pcap);
    let cfg = config(
        dir.path(),
        &[
            list(&data("misp_attributes.csv"), "format: misp_csv, name: misp-csv"),
            list(&data("misp_event.json"), "format: misp_json, name: misp-json, severity: low"),
        ],
        "",
    );
    let (stderr, events) = read_with(&cfg, &[&pcap]);
    assert!(
        stderr.contains("misp-csv") && stderr.contains("2 records of other types skipped"),
        "{stderr}"
    );
    let mut a = alerts(&events);
    a.sort_by_key(|a| s(a, "wirebeat.alert.facts.field"));
    let fields: Vec<(&str, &str)> = a
        .iter()
        .map(|a| (s(a, "wirebeat.alert.facts.list"), s(a, "wirebeat.alert.facts.field")))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("misp-csv", "destination.ip"),
            ("misp-json", "dns.question.name"),
            ("misp-json", "url.full")
        ]
    );
    assert_eq!(get(a[0], "destination.port").unwrap(), 4444);
    assert_eq!(get(a[1], "event.severity").unwrap(), 21);
    assert_eq!(s(a[1], "threat.enrichments.0.indicator.description"), "C2 host");
    assert_eq!(
        s(a[2], "threat.enrichments.0.indicator.first_seen"),
        "2024-01-10T08:00:00.000000000Z"
    );
}

#[test]
fn benign_traffic_with_every_list_raises_nothing() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    for i in 0..20u16 {
        dns(&mut g, 43000 + i, "10.1.0.1", &format!("host{i}.benign.test"));
        http_get(&mut g, 44000 + i, "10.1.0.9", "cdn.benign.test", &format!("/asset/{i}.js"));
    }
    g.write(&pcap);
    let all = [
        list(&data("plain.txt"), ""),
        list(&data("indicators.csv"), "format: csv"),
        list(&data("feodo_ipblocklist.csv"), "format: abusech"),
        list(&data("sslbl_ja3_fingerprints.csv"), "format: abusech"),
        list(&data("sslbl_certificates.csv"), "format: abusech"),
        list(&data("urlhaus.csv"), "format: abusech"),
        list(&data("misp_attributes.csv"), "format: misp_csv"),
        list(&data("misp_event.json"), "format: misp_json"),
    ];
    let cfg = config(dir.path(), &all, "");
    let other = corpus().join("pcaps/zeek-wikipedia.pcap");
    let (_, events) = read_with(&cfg, &[&pcap, &other]);
    assert!(events.len() > 60, "the traffic was read");
    assert!(alerts(&events).is_empty(), "{:#?}", alerts(&events));
    assert!(events.iter().all(|e| get(e, "threat").is_none()));
}

/// Every leaf under `threat.enrichments` (array elements flattened by key).
fn threat_leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                threat_leaves(&p, c, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| threat_leaves(prefix, c, out)),
        _ => out.push((prefix.to_owned(), v.clone())),
    }
}

#[test]
fn every_enrichment_field_is_mapped_with_its_type() {
    require_shared!();
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    dns(&mut g, 40001, "198.51.100.53", "beacon.c2.example");
    dns(&mut g, 40002, "10.1.0.1", "misp-c2.example");
    g.session(ip("10.1.0.7"), 50000, ip("203.0.113.66"), 443, &[(true, b"x")], MS);
    http_get(&mut g, 41000, "198.51.100.80", "198.51.100.80", "/bins/mozi.m");
    g.write(&pcap);
    let cfg = config(
        dir.path(),
        &[
            list(&data("plain.txt"), ""),
            list(&data("feodo_ipblocklist.csv"), "format: abusech"),
            list(&data("urlhaus.csv"), "format: abusech"),
            list(&data("sslbl_certificates.csv"), "format: abusech"),
            list(&data("misp_attributes.csv"), "format: misp_csv"),
            list(&data("misp_event.json"), "format: misp_json"),
        ],
        "",
    );
    let tls = corpus().join("pcaps/zeek-tls-chrome-34-google.pcap");
    let (_, events) = read_with(&cfg, &[&pcap, &tls]);
    let mapped: std::collections::BTreeMap<String, String> =
        wirebeat::content::fields::all().into_iter().map(|f| (f.name, f.es_type)).collect();
    let mut seen = std::collections::BTreeSet::new();
    for e in &events {
        let mut l = Vec::new();
        if let Some(t) = get(e, "threat.enrichments") {
            threat_leaves("threat.enrichments", t, &mut l);
        }
        for (path, v) in l {
            let ty = mapped.get(&path).unwrap_or_else(|| panic!("{path} is not mapped"));
            let text = v.as_str().unwrap_or_else(|| panic!("{path}: {v}"));
            match ty.as_str() {
                "ip" => assert!(text.parse::<std::net::IpAddr>().is_ok(), "{path}: {text}"),
                "date" => assert!(
                    text.len() == 30 && text.ends_with('Z') && text.as_bytes()[10] == b'T',
                    "{path}: {text}"
                ),
                "keyword" | "wildcard" => {}
                other => panic!("{path}: unexpected type {other}"),
            }
            seen.insert(path);
        }
    }
    for want in [
        "threat.enrichments.indicator.ip",
        "threat.enrichments.indicator.url.domain",
        "threat.enrichments.indicator.url.full",
        "threat.enrichments.indicator.file.hash.sha1",
        "threat.enrichments.indicator.first_seen",
        "threat.enrichments.indicator.last_seen",
        "threat.enrichments.indicator.reference",
        "threat.enrichments.matched.occurred",
    ] {
        assert!(seen.contains(want), "{want} not seen in {seen:?}");
    }
    assert_eq!(mapped.get("threat.enrichments").map(String::as_str), Some("nested"));
}

#[test]
fn a_missing_list_is_one_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut g = Gen::new(1_700_000_000);
    dns(&mut g, 40001, "198.51.100.53", "www.benign.test");
    g.write(&pcap);
    let missing = dir.path().join("not-there.txt");
    let cfg = config(
        dir.path(),
        &[list(missing.to_str().unwrap(), ""), list(&data("plain.txt"), "")],
        "",
    );
    let (stderr, events) = read_with(&cfg, &[&pcap]);
    assert!(
        stderr.contains("not-there: cannot read") && stderr.contains("starting without it"),
        "{stderr}"
    );
    assert_eq!(alerts(&events).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Live: hot reload and alert latency.

/// Why the live test cannot run here, if it cannot.
fn unsupported() -> Option<String> {
    match Command::new("id").arg("-u").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => {}
        Ok(o) => {
            return Some(format!("not root (uid {})", String::from_utf8_lossy(&o.stdout).trim()))
        }
        Err(e) => return Some(format!("cannot run `id -u`: {e}")),
    }
    for tool in ["ip", "tcpreplay"] {
        let found = Command::new("which")
            .arg(tool)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` not found"));
        }
    }
    None
}

fn run_ok(args: &[&str]) -> Result<Output, String> {
    let out =
        Command::new(args[0]).args(&args[1..]).output().map_err(|e| format!("{args:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!("`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// A network namespace with a veth pair wbA (replay side) / wbB (capture side); deleted on drop.
struct Netns(String);

impl Netns {
    fn create() -> Result<Netns, String> {
        let name = format!("wbintel-{}", std::process::id());
        run_ok(&["ip", "netns", "add", &name])?;
        let ns = Netns(name);
        let _ = ns.exec(&["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
        let _ = ns.exec(&["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"]);
        ns.exec(&["ip", "link", "add", "wbA", "type", "veth", "peer", "name", "wbB"])?;
        for dev in ["wbA", "wbB"] {
            ns.exec(&["ip", "link", "set", dev, "up"])?;
        }
        Ok(ns)
    }

    fn exec(&self, args: &[&str]) -> Result<Output, String> {
        let mut full = vec!["ip", "netns", "exec", &self.0];
        full.extend_from_slice(args);
        run_ok(&full)
    }

    fn replay(&self, pcap: &Path) {
        self.exec(&["tcpreplay", "-i", "wbA", "--topspeed", pcap.to_str().unwrap()]).unwrap();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run_ok(&["ip", "netns", "del", &self.0]);
    }
}

/// `wirebeat run` killed on drop if still running.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Waits up to `limit` for `f` to hold, polling every 5 ms; the time it took.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn read_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn live_list_change_takes_effect_without_restart_and_alerts_within_a_second() {
    if let Some(why) = unsupported() {
        skipped(&why);
        return;
    }
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(e) => {
            skipped(&format!("cannot create a network namespace: {e}"));
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let listed = "198.51.100.77";
    // The list starts without the address the test talks to.
    let list_path = dir.path().join("live.txt");
    std::fs::write(&list_path, "# live feed\n192.0.2.1\n").unwrap();
    let cfg = config(
        dir.path(),
        &[list(list_path.to_str().unwrap(), "name: live-feed")],
        "      reload_interval: 200ms\n",
    );
    let phase = |sport: u16, file: &str| {
        let mut g = Gen::new(1_700_000_000);
        dns(&mut g, sport, listed, "www.example.test");
        let p = dir.path().join(file);
        g.write(&p);
        p
    };
    let (before, after) = (phase(45001, "before.pcap"), phase(45002, "after.pcap"));

    let stdout = dir.path().join("stdout.ndjson");
    let stderr = dir.path().join("stderr.txt");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_wirebeat")])
        .args(["run", "-i", "wbB", "-c", cfg.to_str().unwrap(), "-E", "wirebeat.workers=2"])
        .env("WIREBEAT_AGENT_ID", "00000000-0000-5000-8000-000000000000")
        .env_remove("WIREBEAT_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);
    let started = wait_for(Duration::from_secs(10), || read_text(&stderr).contains("capturing"));
    assert!(started.is_some(), "wirebeat run did not start:\n{}", read_text(&stderr));
    assert!(read_text(&stderr).contains("live-feed"), "{}", read_text(&stderr));

    // 1. Not listed yet: the DNS transaction is published, no alert, no enrichment.
    ns.replay(&before);
    let seen = wait_for(Duration::from_secs(5), || read_text(&stdout).contains("www.example.test"));
    assert!(seen.is_some(), "the first DNS exchange was not published:\n{}", read_text(&stderr));
    std::thread::sleep(Duration::from_millis(600));
    let out = read_text(&stdout);
    assert!(!out.contains("wirebeat-intel-match"), "alert before the address was listed:\n{out}");
    assert!(!out.contains("threat"), "enrichment before the address was listed:\n{out}");

    // 2. The list changes while capturing (written aside, then renamed, as feed updaters do).
    let tmp = dir.path().join("live.txt.new");
    std::fs::write(&tmp, format!("# live feed\n192.0.2.1\n{listed}\n")).unwrap();
    std::fs::rename(&tmp, &list_path).unwrap();
    let reloaded = wait_for(Duration::from_secs(5), || {
        read_text(&stderr).contains("threat intel lists: reloaded live-feed")
    });
    assert!(reloaded.is_some(), "no reload logged:\n{}", read_text(&stderr));

    // 3. New traffic to the address: an alert within a second of sending, and enrichment.
    let t0 = Instant::now();
    ns.replay(&after);
    let latency =
        wait_for(Duration::from_secs(5), || read_text(&stdout).contains("wirebeat-intel-match"))
            .map(|_| t0.elapsed());
    let Some(latency) = latency else {
        panic!("no alert after the list changed:\n{}\n{}", read_text(&stdout), read_text(&stderr));
    };
    println!(
        "intel alert latency (tcpreplay start → alert line in the console output): {latency:?}"
    );
    eprintln!("intel alert latency: {} ms", latency.as_millis());
    assert!(latency < Duration::from_secs(1), "alert took {latency:?}");

    let pid = daemon.0.id().to_string();
    run_ok(&["kill", "-TERM", &pid]).unwrap();
    let exited = wait_for(Duration::from_secs(20), || matches!(daemon.0.try_wait(), Ok(Some(_))));
    assert!(exited.is_some(), "wirebeat run did not stop:\n{}", read_text(&stderr));
    let err = read_text(&stderr);
    assert!(!err.contains("panicked"), "{err}");
    let events: Vec<Value> =
        read_text(&stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let a = alerts(&events);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(s(a[0], "destination.ip"), listed);
    assert_eq!(get(a[0], "source.port").unwrap(), 45002, "the alert is about the new traffic");
    assert_eq!(s(a[0], "wirebeat.alert.facts.list"), "live-feed");
    let dns_events: Vec<&Value> = of_dataset(&events, "network_traffic.dns");
    assert_eq!(dns_events.len(), 2);
    for d in dns_events {
        let port = get(d, "source.port").unwrap().as_u64().unwrap();
        let e = enrichments(d);
        if port == 45002 {
            assert_eq!(e, vec![("destination.ip".into(), listed.into(), "live-feed".into())]);
        } else {
            assert!(e.is_empty(), "published before the change: {d}");
        }
    }
}
