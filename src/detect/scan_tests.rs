use super::*;
use crate::decode::Fragmented;
use crate::detect::obs::Quoted;

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pkt(ts_ns: i64, src: &str, sport: u16, dst: &str, dport: u16, proto: u8) -> PacketObs {
    PacketObs {
        ts_ns,
        src: ip(src),
        dst: ip(dst),
        proto,
        sport,
        dport,
        tcp_flags: 0,
        wire_bytes: 60,
        payload_len: 0,
        frames: 1,
        quoted: None,
        fragmented: Fragmented::No,
        ext_headers: 0,
    }
}

fn syn(ts_ns: i64, src: &str, dst: &str, dport: u16) -> PacketObs {
    PacketObs { tcp_flags: TCP_SYN, ..pkt(ts_ns, src, 40000, dst, dport, PROTO_TCP) }
}

fn detector(cfg: Config) -> Scan {
    Scan::new(&cfg)
}

#[test]
fn traceroute_is_not_a_udp_scan() {
    // 30 hops, three probes each to ports 33434.., each answered by a router's time exceeded;
    // the last hop (the target) answers port unreachable.
    let mut d = detector(Config::default());
    let mut alerts = Vec::new();
    let (me, far) = ("10.0.0.5", "192.0.2.99");
    for i in 0..90u16 {
        let ts = T0 + i64::from(i) * 10 * MS;
        d.packet(&pkt(ts, me, 50000, far, 33434 + i, PROTO_UDP), &mut alerts);
        let hop = i / 3;
        let last = hop == 29;
        let router = if last { far.to_owned() } else { format!("10.9.{hop}.1") };
        let (ty, code) = if last { (3, 3) } else { (11, 0) };
        let q =
            Quoted { proto: PROTO_UDP, src: ip(me), dst: ip(far), sport: 50000, dport: 33434 + i };
        let err = PacketObs { quoted: Some(q), ..pkt(ts + MS, &router, ty, me, code, PROTO_ICMP) };
        d.packet(&err, &mut alerts);
    }
    assert!(alerts.is_empty(), "{alerts:#?}");
    let (held, refused) = d.state();
    assert!(held > 0 && refused == 0);
}

#[test]
fn probes_leave_the_window_and_a_slow_scan_stays_below_the_threshold() {
    // One new port every 3 s: never 25 within a minute.
    let mut d = detector(Config::default());
    let mut alerts = Vec::new();
    for i in 0..200u16 {
        let ts = T0 + i64::from(i) * 3 * S;
        d.packet(&syn(ts, "10.0.0.5", "10.0.0.9", 1000 + i), &mut alerts);
        d.tick(ts, &mut alerts);
    }
    assert!(alerts.is_empty(), "{alerts:#?}");
    // About 20 probes live (60 s / 3 s), one pair and their sweeps.
    let (held, _) = d.state();
    assert!(held < 50, "{held}");
    // The same ports in 20 s: a scan.
    let mut d = detector(Config::default());
    for i in 0..30u16 {
        d.packet(&syn(T0 + i64::from(i) * 600 * MS, "10.0.0.5", "10.0.0.9", 1000 + i), &mut alerts);
    }
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule.id, "wirebeat-scan-vertical");
}

#[test]
fn allow_lists_and_state_limits_hold() {
    let cfg = Config { allow_sources: vec!["10.0.0.0/24".into()], ..Config::default() };
    let mut d = detector(cfg);
    let mut alerts = Vec::new();
    for p in 1..=100 {
        d.packet(&syn(T0 + i64::from(p) * MS, "10.0.0.5", "10.0.1.9", p), &mut alerts);
    }
    assert!(alerts.is_empty());
    assert_eq!(d.state().0, 0);
    // max_tracked 10: the eleventh probe is refused and counted.
    let cfg = Config { max_tracked: 10, ..Config::default() };
    let mut d = detector(cfg);
    for p in 1..=20 {
        d.packet(&syn(T0 + i64::from(p) * MS, "10.0.0.5", "10.0.1.9", p), &mut alerts);
    }
    let (held, refused) = d.state();
    assert!(held <= 30 && refused >= 10, "{held} {refused}");
    // One source cannot hold more than PER_SOURCE probes.
    let mut d = detector(Config::default());
    for i in 0..(PER_SOURCE + 100) {
        let t = format!("10.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256);
        d.packet(&syn(T0 + i64::from(i), "10.0.0.5", &t, 80), &mut alerts);
    }
    assert_eq!(d.source_full, 100);
}

#[test]
fn thresholds_are_checked() {
    let mut c = Config::default();
    assert!(c.validate().is_ok());
    c.thresholds.completed_weight = 1.5;
    assert_eq!(c.validate().unwrap_err().key, "thresholds.completed_weight");
    let mut c = Config::default();
    c.thresholds.ports = 1;
    assert_eq!(c.validate().unwrap_err().key, "thresholds.ports");
}

#[test]
fn entries_are_as_small_as_the_documentation_says() {
    // The module comment and the README state ~70 bytes a probe, ~150 an aggregate (hash map
    // slots; a horizontal aggregate's sample of ten addresses comes on top).
    assert!(std::mem::size_of::<(ProbeKey, Probe)>() <= 64);
    let agg = std::mem::size_of::<((IpAddr, IpAddr, u8), Agg)>();
    assert!(agg <= 144, "{agg}");
    assert!(std::mem::size_of::<(IpAddr, u32)>() <= 24);
}
