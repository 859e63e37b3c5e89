//! `wirebeat.flows.statistics`: the per-flow statistics of final flow reports, checked number by
//! number on a generated capture whose packets, lengths and gaps are known.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;
use common::traffic::*;
use serde_json::{json, Value};

/// Sample standard deviation, two-pass (the reference for the online computation).
fn std(xs: &[f64]) -> f64 {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

fn assert_summary(v: &Value, what: &str, xs: &[u64]) {
    let s = common::get(v, what).unwrap_or_else(|| panic!("{what} missing in {v:#}"));
    let f: Vec<f64> = xs.iter().map(|x| *x as f64).collect();
    assert_eq!(s["count"], xs.len() as u64, "{what}");
    assert_eq!(s["min"], *xs.iter().min().unwrap(), "{what}");
    assert_eq!(s["max"], *xs.iter().max().unwrap(), "{what}");
    let mean = f.iter().sum::<f64>() / f.len() as f64;
    let got_mean = s["mean"].as_f64().unwrap();
    assert!((got_mean - mean).abs() <= mean * 1e-12, "{what}.mean {got_mean} != {mean}");
    let want = if xs.len() < 2 { 0.0 } else { std(&f) };
    let got = s["std"].as_f64().unwrap();
    assert!((got - want).abs() <= want * 1e-9, "{what}.std {got} != {want}");
}

fn final_flows(events: &[Value]) -> Vec<&Value> {
    common::of_dataset(events, "network_traffic.flow")
        .into_iter()
        .filter(|e| e["flow"]["final"] == true)
        .collect()
}

/// A TCP conversation with a 10 s pause in the middle, and a lone UDP datagram.
fn capture(dir: &std::path::Path) -> std::path::PathBuf {
    let pcap = dir.join("stats.pcap");
    let (c, s) = (ip("10.2.0.5"), ip("10.2.0.9"));
    let mut g = Gen::new(1_700_000_000);
    g.tcp(c, 40000, s, 9999, SYN, 1000, 0, &[]);
    g.advance(MS).tcp(s, 9999, c, 40000, SYN | ACK, 5000, 1001, &[]);
    g.advance(MS).tcp(c, 40000, s, 9999, ACK, 1001, 5001, &[]);
    g.advance(MS).tcp(c, 40000, s, 9999, ACK | PSH, 1001, 5001, &[b'a'; 100]);
    g.advance(10 * S).tcp(s, 9999, c, 40000, ACK | PSH, 5001, 1101, &[b'b'; 200]);
    g.advance(MS).tcp(c, 40000, s, 9999, ACK, 1101, 5201, &[]);
    g.advance(MS).tcp(c, 40000, s, 9999, RST | ACK, 1101, 5201, &[]);
    g.advance(MS).udp(c, 5000, s, 7000, &[0u8; 18]);
    g.write(&pcap);
    pcap
}

#[test]
fn final_flow_reports_carry_exact_length_gap_flag_and_activity_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path());
    let (out, events) = common::read(&[&pcap], &["wirebeat.flows.statistics=true"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let finals = final_flows(&events);
    assert_eq!(finals.len(), 2, "{events:#?}");
    let tcp = finals.iter().find(|e| e["network"]["transport"] == "tcp").unwrap();
    let st = &tcp["network_traffic"]["flow"]["stats"];
    // Ethernet 14 + IPv4 20 + TCP 20 = 54 bytes before the payload.
    assert_summary(st, "forward.packet_length", &[54, 54, 154, 54, 54]);
    assert_summary(st, "backward.packet_length", &[54, 254]);
    assert_summary(st, "both.packet_length", &[54, 54, 54, 154, 254, 54, 54]);
    let ms = 1_000_000u64;
    assert_summary(st, "forward.iat", &[2 * ms, ms, 10_001 * ms, ms]);
    assert_summary(st, "backward.iat", &[10_002 * ms]);
    assert_summary(st, "both.iat", &[ms, ms, ms, 10_000 * ms, ms, ms]);
    assert_eq!(
        st["tcp_flags"],
        json!({"syn": 2, "fin": 0, "rst": 1, "psh": 2, "urg": 0, "ack": 6, "ece": 0, "cwr": 0})
    );
    // Activity timeout 5 s: active 0–3 ms, idle 10 s, active 10.003–10.005 s.
    assert_summary(st, "active", &[3 * ms, 2 * ms]);
    assert_summary(st, "idle", &[10_000 * ms]);

    let udp = finals.iter().find(|e| e["network"]["transport"] == "udp").unwrap();
    let st = &udp["network_traffic"]["flow"]["stats"];
    // 14 + 20 + 8 + 18.
    assert_summary(st, "forward.packet_length", &[60]);
    assert_eq!(st["forward"]["iat"], json!({"count": 0}));
    assert_eq!(st["backward"]["packet_length"], json!({"count": 0}));
    assert_eq!(st["active"], json!({"count": 0}), "a single packet is no active period");
    assert!(st.get("tcp_flags").is_none(), "no TCP flags on a UDP flow: {st:#}");

    // Only final reports carry them.
    for e in common::of_dataset(&events, "network_traffic.flow") {
        if e["flow"]["final"] != true {
            assert!(common::get(e, "network_traffic.flow.stats").is_none(), "{e:#}");
        }
    }
}

#[test]
fn statistics_are_off_by_default_and_the_activity_timeout_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path());
    let (out, events) = common::read(&[&pcap], &[]);
    assert!(out.status.success());
    assert!(!events.is_empty());
    for e in &events {
        assert!(common::get(e, "network_traffic.flow.stats").is_none(), "{e:#}");
    }
    // A 20 s activity timeout: the 10 s pause is no idle period, one active period of 10.005 s.
    let (out, events) = common::read(
        &[&pcap],
        &["wirebeat.flows.statistics=true", "wirebeat.flows.activity_timeout=20s"],
    );
    assert!(out.status.success());
    let finals = final_flows(&events);
    let tcp = finals.iter().find(|e| e["network"]["transport"] == "tcp").unwrap();
    let st = &tcp["network_traffic"]["flow"]["stats"];
    assert_summary(st, "active", &[10_005_000_000]);
    assert_eq!(st["idle"], json!({"count": 0}));
    let (out, _) = common::read(&[&pcap], &["wirebeat.flows.activity_timeout=0s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("wirebeat.flows.activity_timeout"), "{err}");
}

/// Every statistics field emitted is a documented custom field, with the type the template
/// maps (`long` for whole numbers, `double` for means and deviations), and every declared one
/// is emitted for a TCP flow.
#[test]
fn every_statistics_field_is_declared_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path());
    let (_, events) = common::read(&[&pcap], &["wirebeat.flows.statistics=true"]);
    let declared: std::collections::BTreeMap<&str, &str> = wirebeat::ecs::fields::custom_fields()
        .into_iter()
        .filter(|(n, _, _)| n.starts_with("network_traffic.flow.stats."))
        .map(|(n, t, _)| (n, t))
        .collect();
    fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                m.iter().for_each(|(k, v)| leaves(&format!("{prefix}.{k}"), v, out))
            }
            _ => out.push((prefix.to_owned(), v.clone())),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in final_flows(&events) {
        let mut out = Vec::new();
        leaves("network_traffic.flow.stats", &e["network_traffic"]["flow"]["stats"], &mut out);
        for (name, v) in out {
            let ty = declared.get(name.as_str()).unwrap_or_else(|| panic!("{name} not declared"));
            let ok = match *ty {
                "long" => v.is_u64(),
                "double" => v.is_f64(),
                _ => false,
            };
            assert!(ok, "{name}: {v} is not a {ty}");
            seen.insert(name);
        }
    }
    let missing: Vec<_> = declared.keys().filter(|n| !seen.contains(**n)).collect();
    assert!(missing.is_empty(), "declared, never emitted: {missing:?}");
}
