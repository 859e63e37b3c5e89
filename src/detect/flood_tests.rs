use super::*;

const MS: i64 = 1_000_000;
const T0: i64 = 1_700_000_000 * S;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn echo(ts_ns: i64, src: IpAddr, dst: &str) -> PacketObs {
    PacketObs {
        ts_ns,
        src,
        dst: ip(dst),
        proto: PROTO_ICMP,
        sport: 8,
        dport: 0,
        tcp_flags: 0,
        wire_bytes: 74,
        payload_len: 40,
        frames: 1,
        quoted: None,
        fragmented: Fragmented::No,
        ext_headers: 0,
    }
}

#[test]
fn distinct_sources_are_estimated_within_a_few_percent() {
    for n in [10u32, 32, 33, 500, 5000] {
        let mut s = Sources::default();
        for i in 0..n {
            s.insert(IpAddr::from((0x0a00_0000 + i * 7).to_be_bytes()));
            s.insert(IpAddr::from((0x0a00_0000 + i * 7).to_be_bytes()));
        }
        let (c, estimated) = s.count();
        assert_eq!(estimated, n > EXACT_SOURCES as u32);
        let err = (c as f64 - f64::from(n)).abs() / f64::from(n);
        assert!(err < 0.05, "{n}: {c}");
    }
}

#[test]
fn one_alert_per_episode_and_another_after_a_quiet_window() {
    let mut d = Flood::new(&Config::default());
    let mut alerts = Vec::new();
    let src = ip("10.0.0.66");
    // 5000 echo requests/s for 30 s: one episode.
    for i in 0..150_000i64 {
        d.packet(&echo(T0 + i * MS / 5, src, "10.0.0.7"), &mut alerts);
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].rule.id, "wirebeat-flood-icmp");
    assert_eq!(alerts[0].source.map(|e| e.ip), Some(src));
    // Quiet for a window, then again: a second episode.
    let later = T0 + 60 * S;
    d.packet(&echo(later - 15 * S, src, "10.0.0.7"), &mut alerts);
    for i in 0..2000i64 {
        d.packet(&echo(later + i * MS / 5, src, "10.0.0.7"), &mut alerts);
    }
    assert_eq!(alerts.len(), 2);
    // 990 a second is below the rate.
    let mut d = Flood::new(&Config::default());
    let mut alerts = Vec::new();
    for i in 0..30_000i64 {
        d.packet(&echo(T0 + i * S / 990, src, "10.0.0.8"), &mut alerts);
    }
    assert!(alerts.is_empty());
}

#[test]
fn thresholds_are_checked() {
    let mut c = Config::default();
    assert!(c.validate().is_ok());
    c.thresholds.half_open_ratio = 2.0;
    assert_eq!(c.validate().unwrap_err().key, "thresholds.half_open_ratio");
    let mut c = Config::default();
    c.thresholds.udp_rate = 0.0;
    assert_eq!(c.validate().unwrap_err().key, "thresholds.udp_rate");
}

#[test]
fn entries_are_as_small_as_the_documentation_says() {
    // ~60 bytes a handshake under judgement; a target's entry plus at most 32 exact sources
    // and the 512-byte bitmap stays near 1 KiB.
    assert!(std::mem::size_of::<(HandshakeKey, Handshake)>() <= 64);
    let target = std::mem::size_of::<(TargetKey, Target)>();
    assert!(target + EXACT_SOURCES * std::mem::size_of::<IpAddr>() + 512 <= 1300, "{target}");
}

#[test]
fn windows_restart_when_the_clock_moves_back_a_window() {
    // Two captures read one after the other, the second a year older: 60 DHCP messages from
    // one MAC in each are two windows of 60, not one of 120.
    fn dhcp(ts_ns: i64) -> TxnObs {
        TxnObs {
            ts_ns,
            start_ns: ts_ns,
            end_ns: None,
            protocol: "dhcpv4",
            src: ip("0.0.0.0"),
            dst: ip("255.255.255.255"),
            sport: 68,
            dport: 67,
            outcome: crate::proto::Outcome::Unknown,
            auth: crate::detect::Auth::None,
            detail: Detail::Dhcp {
                request: true,
                message_type: "discover".into(),
                client_mac: "02:00:00:00:00:01".into(),
            },
            community_id: None,
        }
    }
    let mut d = Flood::new(&Config::default());
    let mut alerts = Vec::new();
    for i in 0..60 {
        d.transaction(&dhcp(T0 + i * MS), &mut alerts);
    }
    for i in 0..60 {
        d.transaction(&dhcp(T0 - 365 * 86_400 * S + i * MS), &mut alerts);
    }
    assert!(alerts.is_empty(), "{alerts:#?}");
    for i in 0..60 {
        d.transaction(&dhcp(T0 - 365 * 86_400 * S + (60 + i) * MS), &mut alerts);
    }
    assert_eq!(alerts.len(), 1, "120 in one window");
}
