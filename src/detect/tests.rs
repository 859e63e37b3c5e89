use super::*;
use crate::ecs::EventContext;
use std::net::{IpAddr, Ipv4Addr};

static TEST_RULE: Rule = Rule {
    id: "wirebeat-test-count",
    name: "Test packet count",
    action: "test",
    description: "Counts packets.",
    category: "Test",
    version: "1",
    reference: "https://example.invalid/",
    tactic: alert::TACTIC_DISCOVERY,
    technique: Mitre { id: "T1046", name: "Network Service Discovery" },
    subtechnique: None,
};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn pkt(ts_ns: i64, src: u8, dst: u8) -> PacketObs {
    PacketObs {
        ts_ns,
        src: ip(src),
        dst: ip(dst),
        proto: obs::PROTO_UDP,
        sport: 1000,
        dport: 53,
        tcp_flags: 0,
        wire_bytes: 60,
        payload_len: 10,
        frames: 1,
        quoted: None,
        fragmented: Default::default(),
        ext_headers: 0,
    }
}

/// Raises one alert per tick that saw packets, about the last packet's endpoints.
struct CountPackets(u64, Option<(IpAddr, IpAddr)>);

impl Detector for CountPackets {
    fn name(&self) -> &'static str {
        "count_packets"
    }
    fn packet(&mut self, p: &PacketObs, _alerts: &mut Vec<Alert>) {
        self.0 += 1;
        self.1 = Some((p.src, p.dst));
    }
    fn tick(&mut self, now_ns: i64, alerts: &mut Vec<Alert>) {
        if let (n @ 1.., Some((s, d))) = (self.0, self.1) {
            alerts.push(
                Alert::new(&TEST_RULE, Severity::Medium, now_ns - 1_000_000_000, now_ns)
                    .source(Endpoint::ip(s))
                    .destination(Endpoint::port(d, 53))
                    .transport("udp")
                    .fact("packets", n)
                    .message(format!("{n} packets")),
            );
            self.0 = 0;
        }
    }
}

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

#[test]
fn alerts_come_out_as_ecs_alert_events() {
    let mut e = DetectEngine::new(vec![Box::new(CountPackets(0, None))], 0);
    for i in 0..3 {
        e.observe(Obs::Packet(pkt(T0 + i, 5, 9)));
    }
    e.tick(T0 + S);
    let alerts = e.take_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "3 packets");
    e.tick(T0 + 2 * S);
    assert!(e.take_alerts().is_empty(), "taken once");
    let ctx =
        EventContext::new(None, Some("agent-1"), "default", vec![], vec![], Default::default());
    let ev = alerts[0].encode(&ctx);
    assert_eq!(ev.dataset, DATASET_ALERT);
    let v: serde_json::Value = serde_json::from_slice(&ev.json).unwrap();
    assert_eq!(v["event"]["kind"], "alert");
    assert_eq!(v["event"]["category"], serde_json::json!(["network", "intrusion_detection"]));
    assert_eq!(v["event"]["type"], serde_json::json!(["info"]));
    assert_eq!(v["event"]["action"], "test");
    assert_eq!(v["event"]["severity"], 47);
    assert_eq!(v["event"]["risk_score"], 47.0);
    assert_eq!(v["event"]["duration"], S);
    assert_eq!(v["rule"]["id"], "wirebeat-test-count");
    assert_eq!(v["rule"]["ruleset"], "wirebeat");
    assert_eq!(v["threat"]["framework"], "MITRE ATT&CK");
    assert_eq!(v["threat"]["tactic"]["id"], serde_json::json!(["TA0007"]));
    assert_eq!(
        v["threat"]["technique"]["reference"],
        serde_json::json!(["https://attack.mitre.org/techniques/T1046/"])
    );
    assert_eq!(v["source"]["ip"], "10.0.0.5");
    assert_eq!(v["destination"]["port"], 53);
    assert_eq!(v["network"]["transport"], "udp");
    assert_eq!(v["related"]["ip"], serde_json::json!(["10.0.0.5", "10.0.0.9"]));
    assert_eq!(v["wirebeat"]["alert"]["facts"]["packets"], 3);
    assert_eq!(v["wirebeat"]["alert"]["count"], 1);
    assert_eq!(e.stats().alerts_by_rule.get("Test packet count"), Some(&1));
}

#[test]
fn subtechnique_reference_uses_the_attack_path() {
    let m = Mitre { id: "T1071.004", name: "DNS" };
    assert_eq!(m.reference(), "https://attack.mitre.org/techniques/T1071/004/");
    assert_eq!(alert::TACTIC_IMPACT.reference(), "https://attack.mitre.org/tactics/TA0040/");
}

#[test]
fn repeats_within_the_window_are_merged_into_one_alert_with_a_count() {
    let mut e = DetectEngine::new(vec![Box::new(CountPackets(0, None))], 60 * S);
    // Five ticks with packets from the same pair: one alert at once, four merged.
    for i in 0..5 {
        e.observe(Obs::Packet(pkt(T0 + i * S, 5, 9)));
        e.tick(T0 + i * S + 1);
    }
    let first = e.take_alerts();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].count, 1);
    // A different source is its own key.
    e.observe(Obs::Packet(pkt(T0 + 6 * S, 6, 9)));
    e.tick(T0 + 6 * S + 1);
    assert_eq!(e.take_alerts().len(), 1);
    // The window of the first key closes: one alert standing for the four repeats.
    e.tick(T0 + 62 * S);
    let merged = e.take_alerts();
    assert_eq!(merged.len(), 1, "{merged:?}");
    assert_eq!(merged[0].count, 4);
    assert!(merged[0].message.ends_with("(4 similar alerts merged)"), "{}", merged[0].message);
    assert_eq!(merged[0].start_ns, T0 + S + 1 - S);
    assert_eq!(e.stats().alerts_merged, 4);
    e.finish();
    assert!(e.take_alerts().is_empty(), "the second key had no repeats");
}

#[test]
fn worker_observer_keeps_nothing_when_disabled() {
    let mut o = Observer::new(false);
    assert!(!o.is_enabled());
    assert!(o.take().is_empty());
    assert_eq!(o.obs.capacity(), 0);
}

#[test]
fn quoted_datagram_of_an_icmp_port_unreachable_is_read() {
    // ICMP type 3 code 3, unused, then IPv4 header 10.0.0.9 -> 10.0.0.5 UDP, then ports.
    let mut icmp = vec![3u8, 3, 0, 0, 0, 0, 0, 0];
    let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 9, 10, 0, 0, 5];
    ip.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
    icmp.extend_from_slice(&ip);
    let q = obs::quoted_ipv4_for_tests(&icmp).unwrap();
    assert_eq!(q.proto, 17);
    assert_eq!((q.src, q.dst), (ip_of(9), ip_of(5)));
    assert_eq!((q.sport, q.dport), (12345, 53));
    assert!(obs::quoted_ipv4_for_tests(&icmp[..20]).is_none());
}

fn ip_of(last: u8) -> IpAddr {
    ip(last)
}

#[test]
fn default_config_validates_and_bad_allow_lists_are_named() {
    let c = config::Detect::default();
    assert!(c.validate().is_ok());
    let mut bad = c.clone();
    bad.scan.allow_sources = vec!["10.0.0.0/8".into(), "not-an-ip".into()];
    let err = bad.validate().unwrap_err();
    assert_eq!(err.key, "scan.allow_sources[1]");
    let scope = c.scan.scope();
    assert!(!scope.ignores(ip(1), ip(2)));
    let mut allow = c.scan.clone();
    allow.allow_destinations = vec!["10.0.0.2".into()];
    assert!(allow.scope().ignores(ip(1), ip(2)));
}
