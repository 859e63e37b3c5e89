//! `processors:` through `wirebeat read` on a corpus capture: dropped events are counted (not
//! built, like `alerts_only`'s), the rest are changed as configured, and the summary adds up.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;

const CAPTURE: &str = "zeek-wikipedia.pcap";

fn read_with(config: &str) -> (std::process::Output, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wirebeat.yml");
    std::fs::write(&cfg, config).unwrap();
    let mut c = wirebeat();
    c.arg("read").arg("--no-progress").arg("-c").arg(&cfg);
    c.arg(corpus().join("pcaps").join(CAPTURE));
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, events)
}

fn count(events: &[Value], dataset: &str) -> usize {
    events.iter().filter(|e| is_dataset(e, dataset)).count()
}

#[test]
fn drop_event_drops_and_counts() {
    require_shared!();
    let (base_out, base) = read_with("");
    let base_err = String::from_utf8_lossy(&base_out.stderr).into_owned();
    let dns = count(&base, "network_traffic.dns");
    assert!(dns > 0 && base.len() > dns, "{CAPTURE}: dns and other events");
    let (out, events) = read_with(
        "processors:\n  - drop_event:\n      when:\n        equals:\n          network.protocol: dns\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    // Every DNS transaction is gone, and only those (DNS flows stay: network.protocol is the
    // flow's too, so count datasets, not flows).
    assert_eq!(count(&events, "network_traffic.dns"), 0);
    assert_eq!(count(&events, "network_traffic.http"), count(&base, "network_traffic.http"));
    let dropped = base.len() - events.len();
    assert!(dropped >= dns, "{err}");
    assert_eq!(summary_number(&err, "dropped_by_processors"), dropped as u64, "{err}");
    // Not built, like alerts_only's: built = written, and built + dropped = the run without.
    assert_eq!(summary_number(&err, "built"), events.len() as u64, "{err}");
    assert_eq!(summary_number(&err, "built") + dropped as u64, summary_number(&base_err, "built"));
    assert!(err.contains(&format!("written={} of {}", events.len(), events.len())), "{err}");
    assert_eq!(summary_number(&base_err, "dropped_by_processors"), 0);
}

#[test]
fn fields_and_tags_change_with_conditions() {
    require_shared!();
    let (_, base) = read_with("");
    let config = "\
processors:
  - add_tags:
      tags: [web]
      when:
        or:
          - equals: {network.protocol: http}
          - range: {destination.port: {gte: 80, lte: 80}}
  - drop_fields:
      fields: [http.request.headers, user_agent, nothing.here]
      ignore_missing: true
      when.has_fields: [http.request.method]
  - add_fields:
      target: site
      fields: {name: lab, rack: 7}
      when:
        not:
          network: {source.ip: [private, loopback]}
  - drop_fields:
      fields: [dns.id]
";
    let (out, events) = read_with(config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(events.len(), base.len(), "nothing dropped");
    let mut tagged = 0;
    for (b, e) in base.iter().zip(&events) {
        assert_eq!(b["@timestamp"], e["@timestamp"]);
        let web = b["network"]["protocol"] == "http" || b["destination"]["port"] == 80;
        let tags: Vec<&str> =
            e["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        assert_eq!(tags.contains(&"web"), web, "{e}");
        tagged += usize::from(web);
        if b.pointer("/http/request/method").is_some() {
            assert!(e.pointer("/http/request/headers").is_none(), "{e}");
            assert!(e.get("user_agent").is_none());
            assert_eq!(b["http"]["request"]["method"], e["http"]["request"]["method"]);
        } else {
            assert_eq!(b.get("user_agent"), e.get("user_agent"));
        }
        let private = b["source"]["ip"].as_str().is_some_and(|ip| {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            match ip {
                std::net::IpAddr::V4(a) => a.is_private() || a.is_loopback(),
                std::net::IpAddr::V6(a) => a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00,
            }
        });
        if private {
            assert!(e.get("site").is_none(), "{e}");
        } else {
            assert_eq!(e["site"], serde_json::json!({"name": "lab", "rack": 7}), "{e}");
        }
        assert!(e.pointer("/dns/id").is_none());
        assert_eq!(b["dns"]["question"], e["dns"]["question"]);
    }
    assert!(tagged > 0);
    // The last drop_fields has no ignore_missing: every event without dns.id counts once.
    let without_id = base.iter().filter(|b| b.pointer("/dns/id").is_none()).count();
    assert_eq!(summary_number(&err, "processor_field_errors"), without_id as u64, "{err}");
}

#[test]
fn alerts_go_through_the_processors_too() {
    require_shared!();
    let pcap = corpus().join("pcaps/sv-firewall-tcp-session-syn-flood-drop-precedence.pcap");
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &str| {
        let cfg = dir.path().join("wirebeat.yml");
        std::fs::write(&cfg, config).unwrap();
        let out =
            wirebeat().args(["read", "--no-progress", "-c"]).arg(&cfg).arg(&pcap).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (String::from_utf8_lossy(&out.stderr).into_owned(), events)
    };
    let alerts = |events: &[Value]| events.iter().filter(|e| e["event"]["kind"] == "alert").count();
    let (_, base) = run("");
    let n = alerts(&base);
    assert!(n > 0, "the SYN flood capture raises an alert");
    // Alerts carry the sensor's host like every other event (wirebeat.host_metadata).
    assert!(base
        .iter()
        .filter(|e| e["event"]["kind"] == "alert")
        .all(|e| e["host"]["os"]["type"] == "linux"));
    let (err, events) = run("processors:\n  - drop_event.when.equals.event.kind: alert\n");
    assert_eq!(alerts(&events), 0);
    assert_eq!(events.len() + n, base.len());
    assert_eq!(summary_number(&err, "dropped_by_processors"), n as u64, "{err}");
    assert_eq!(summary_number(&err, "built"), events.len() as u64, "{err}");
    let (_, events) =
        run("processors:\n  - add_tags: {tags: [seen], when.equals.event.kind: alert}\n");
    for e in events.iter().filter(|e| e["event"]["kind"] == "alert") {
        assert!(e["tags"].as_array().unwrap().iter().any(|t| t == "seen"), "{e}");
    }
}
