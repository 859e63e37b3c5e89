use super::*;
use crate::decode::TcpInfo;

fn pkt(ts: i64, src: &str, sp: u16, dst: &str, dp: u16, flags: u8) -> Packet<'static> {
    Packet {
        ts_ns: ts,
        frames: 1,
        wire_bytes: 100,
        truncated: false,
        link: LinkInfo::default(),
        tunnel: None,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: 6,
        ports: Some((sp, dp)),
        tcp: Some(TcpInfo { flags, seq: 0, ack: 0 }),
        payload: &[],
        fragmented: Default::default(),
        ext_headers: 0,
    }
}

fn settings() -> FlowSettings {
    FlowSettings {
        period_ns: 10_000_000_000,
        tcp_timeout_ns: 30_000_000_000,
        udp_timeout_ns: 30_000_000_000,
        icmp_timeout_ns: 30_000_000_000,
        other_timeout_ns: 30_000_000_000,
        max_flows: 1000,
        stats_activity_ns: None,
    }
}

type Seen = Vec<(String, u64, u64, Option<EndReason>)>;

fn collect(seen: &mut Seen) -> impl FnMut(Emit<'_>) + '_ {
    |e: Emit<'_>| {
        let Emit::Flow(r) = e else { return };
        seen.push((
            format!("{}:{}>{}:{}", r.flow.src(), r.flow.sport, r.flow.dst(), r.flow.dport),
            r.flow.fwd.packets,
            r.flow.rev.packets,
            r.final_reason,
        ))
    }
}

#[test]
fn both_directions_one_flow_and_close_is_final() {
    let mut t = FlowTable::new(settings());
    let mut seen = Seen::new();
    let mut emit = collect(&mut seen);
    t.update(&pkt(0, "10.0.0.2", 4000, "10.0.0.1", 80, TCP_SYN), &mut emit);
    t.update(&pkt(1, "10.0.0.1", 80, "10.0.0.2", 4000, TCP_SYN | TCP_ACK), &mut emit);
    t.update(&pkt(2, "10.0.0.2", 4000, "10.0.0.1", 80, TCP_ACK), &mut emit);
    t.update(&pkt(3, "10.0.0.2", 4000, "10.0.0.1", 80, TCP_FIN | TCP_ACK), &mut emit);
    t.update(&pkt(4, "10.0.0.1", 80, "10.0.0.2", 4000, TCP_FIN | TCP_ACK), &mut emit);
    assert_eq!(t.len(), 1);
    t.tick(2_000_000_000, &mut emit);
    drop(emit);
    assert_eq!(seen, [("10.0.0.2:4000>10.0.0.1:80".into(), 3, 2, Some(EndReason::TcpClose))]);
    assert!(t.is_empty());
}

#[test]
fn synack_first_makes_the_receiver_the_source() {
    let mut t = FlowTable::new(settings());
    let mut seen = Seen::new();
    let mut emit = collect(&mut seen);
    t.update(&pkt(0, "10.0.0.1", 80, "10.0.0.2", 4000, TCP_SYN | TCP_ACK), &mut emit);
    t.update(&pkt(1, "10.0.0.2", 4000, "10.0.0.1", 80, TCP_ACK), &mut emit);
    t.flush(5, &mut emit);
    drop(emit);
    assert_eq!(seen, [("10.0.0.2:4000>10.0.0.1:80".into(), 1, 1, Some(EndReason::EndOfCapture))]);
}

#[test]
fn idle_timeout_and_periodic_reports_run_on_packet_time() {
    let mut t = FlowTable::new(settings());
    let mut seen = Seen::new();
    let mut emit = collect(&mut seen);
    t.tick(0, &mut emit);
    t.update(&pkt(1, "10.0.0.2", 4000, "10.0.0.1", 80, TCP_ACK), &mut emit);
    t.tick(10_000_000_000, &mut emit); // period boundary: one non-final report
    t.tick(20_000_000_000, &mut emit); // nothing changed: no report
    t.tick(29_000_000_000, &mut emit); // not idle long enough
    t.tick(31_000_000_000, &mut emit); // idle 31 s > 30 s
    drop(emit);
    let reasons: Vec<Option<EndReason>> = seen.iter().map(|s| s.3).collect();
    assert_eq!(reasons, [None, Some(EndReason::IdleTimeout)]);
    assert_eq!(t.stats.ended, 1);
}

#[test]
fn full_table_evicts_least_recently_seen_and_counts() {
    let mut s = settings();
    s.max_flows = 16;
    let mut t = FlowTable::new(s);
    let mut seen = Seen::new();
    let mut emit = collect(&mut seen);
    for i in 0..17u16 {
        t.update(&pkt(i64::from(i), "10.0.0.2", 1000 + i, "10.0.0.1", 80, TCP_ACK), &mut emit);
    }
    drop(emit);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "10.0.0.2:1000>10.0.0.1:80", "the oldest goes first");
    assert_eq!(seen[0].3, Some(EndReason::Evicted));
    assert_eq!(t.stats.evicted, 1);
    assert_eq!(t.len(), 16);
}

fn app_table() -> FlowTable {
    let r = crate::proto::Registry::new(
        &crate::proto::Protocols::default(),
        crate::proto::Limits::default(),
    )
    .unwrap();
    FlowTable::new(settings()).with_app(app::AppLayer::new(std::sync::Arc::new(r)))
}

// Regression (issue 15): a random-source SYN flood held ~2.7 KB per flow because the
// HTTP parser was made on the SYN.
#[test]
fn syn_only_flows_make_no_parser_and_data_still_picks_the_protocol() {
    let mut t = app_table();
    for i in 0..500u16 {
        let src = format!("10.1.{}.{}", i / 250, i % 250 + 1);
        t.update(&pkt(i64::from(i), &src, 1024 + i, "10.0.0.1", 80, TCP_SYN), &mut |_| {});
    }
    assert_eq!(t.len(), 500);
    for f in t.iter() {
        let a = f.app.as_ref().expect("a TCP flow with ports has app state");
        assert!(!a.has_parser());
        assert_eq!(f.app_protocol(), Some("http"), "the port still names the protocol");
        assert!(a.footprint() <= 96, "SYN-only app state: {} bytes", a.footprint());
    }
    assert_eq!(t.app.as_ref().unwrap().stats.by_port, 0);

    // The handshake completes and data comes: the parser is made from the port choice.
    let mut txns = 0;
    let mut count = |e: Emit<'_>| txns += usize::from(matches!(e, Emit::Txn(..)));
    let c = ("10.1.0.1", 1024, "10.0.0.1", 80);
    t.update(&pkt(600, c.2, c.3, c.0, c.1, TCP_SYN | TCP_ACK), &mut count);
    let mut req = pkt(601, c.0, c.1, c.2, c.3, TCP_ACK);
    req.tcp = Some(TcpInfo { flags: TCP_ACK, seq: 1, ack: 1 });
    req.payload = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    t.update(&req, &mut count);
    let mut resp = pkt(602, c.2, c.3, c.0, c.1, TCP_ACK);
    resp.tcp = Some(TcpInfo { flags: TCP_ACK, seq: 1, ack: 1 });
    resp.payload = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    t.update(&resp, &mut count);
    assert_eq!(txns, 1, "the request after the SYN (seq 0, ISN) is parsed in order");
    assert_eq!(t.app.as_ref().unwrap().stats.by_port, 1);

    // No port match: the content still decides.
    let mut odd = pkt(700, "10.2.0.1", 5555, "10.0.0.1", 4444, TCP_ACK);
    odd.tcp = Some(TcpInfo { flags: TCP_ACK, seq: 10, ack: 1 });
    odd.payload = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    t.update(&odd, &mut |_| {});
    assert_eq!(t.app.as_ref().unwrap().stats.by_content, 1);
}

/// A flow without application state is one slot of the slab: 256 bytes on 64-bit (the
/// addresses live in the key only, the rare counters are u32, the Community ID a boxed str),
/// plus 8 bytes of list links and a 4-byte slot number in the index (issue 14: at most 256
/// bytes per idle flow with its share of the table; `bench/run.sh` measures the whole).
#[test]
fn flow_entry_stays_small() {
    let slot = std::mem::size_of::<Option<Flow>>();
    assert!(slot <= 256, "{slot}");
}

#[test]
fn gtp_u_directions_with_their_own_teids_are_one_flow() {
    use crate::decode::{Tunnel, TunnelKind};
    let tunnel = |id, src: &str, dst: &str| Tunnel {
        kind: TunnelKind::GtpU,
        outer_src: src.parse().unwrap(),
        outer_dst: dst.parse().unwrap(),
        id,
    };
    let mut up = pkt(1, "10.45.0.7", 40000, "93.184.216.34", 443, 0x02);
    up.tunnel = Some(tunnel(0x0000_1001, "192.0.2.1", "192.0.2.2"));
    let mut down = pkt(2, "93.184.216.34", 443, "10.45.0.7", 40000, 0x12);
    down.tunnel = Some(tunnel(0x0000_2002, "192.0.2.2", "192.0.2.1"));
    let ((k_up, rev_up), (k_down, rev_down)) = (FlowKey::of(&up), FlowKey::of(&down));
    assert_eq!(k_up, k_down, "the TEIDs differ per direction; the flow is one");
    assert_ne!(rev_up, rev_down);
    // Other tunnels keep their id in the key: two VXLAN segments may reuse addresses.
    let mut a = pkt(1, "10.0.0.1", 1, "10.0.0.2", 2, 0x02);
    a.tunnel = Some(Tunnel { kind: TunnelKind::Vxlan, ..tunnel(10, "192.0.2.1", "192.0.2.2") });
    let mut b = pkt(1, "10.0.0.1", 1, "10.0.0.2", 2, 0x02);
    b.tunnel = Some(Tunnel { kind: TunnelKind::Vxlan, ..tunnel(20, "192.0.2.1", "192.0.2.2") });
    assert_ne!(FlowKey::of(&a).0, FlowKey::of(&b).0);
}

fn udp(ts: i64, src: &str, sp: u16, dst: &str, dp: u16) -> Packet<'static> {
    Packet { proto: 17, tcp: None, ..pkt(ts, src, sp, dst, dp, 0) }
}

/// Eviction takes the least recently seen flows across the timeout classes (TCP and UDP
/// lists), not the oldest created, and a flow that just got a packet survives.
#[test]
fn eviction_takes_the_least_recently_seen_across_classes() {
    let mut t = FlowTable::new(FlowSettings { max_flows: 32, ..settings() });
    let mut seen = Seen::new();
    let mut emit = collect(&mut seen);
    for i in 0..16u16 {
        t.update(&pkt(i64::from(i) * 2, "10.0.0.2", 4000 + i, "10.0.0.1", 80, TCP_SYN), &mut emit);
        t.update(&udp(i64::from(i) * 2 + 1, "10.0.0.3", 5000 + i, "10.0.0.1", 53), &mut emit);
    }
    // The first TCP flow (the oldest) gets a packet: the first UDP flow is now the oldest.
    t.update(&pkt(100, "10.0.0.2", 4000, "10.0.0.1", 80, TCP_ACK), &mut emit);
    assert_eq!(t.len(), 32);
    t.update(&udp(101, "10.0.0.9", 9, "10.0.0.1", 53), &mut emit);
    drop(emit);
    let evicted: Vec<&str> =
        seen.iter().filter(|s| s.3 == Some(EndReason::Evicted)).map(|s| s.0.as_str()).collect();
    assert_eq!(evicted, ["10.0.0.3:5000>10.0.0.1:53", "10.0.0.2:4001>10.0.0.1:80"]);
    assert_eq!(t.len(), 31);
    assert_eq!(t.stats.evicted, 2);
}

/// Slots are reused: a flow that ended leaves no note that could report its successor in the
/// same slot, and idle expiry ends only the flows whose timeout passed.
#[test]
fn reused_slots_and_idle_expiry_report_each_flow_once() {
    let mut t = FlowTable::new(FlowSettings { udp_timeout_ns: 5_000_000_000, ..settings() });
    let mut seen = Seen::new();
    let mut emit = collect(&mut seen);
    t.update(&udp(0, "10.0.0.3", 1, "10.0.0.1", 53), &mut emit);
    t.update(&pkt(0, "10.0.0.2", 2, "10.0.0.1", 80, TCP_SYN), &mut emit);
    t.tick(6_000_000_000, &mut emit); // UDP idle 6 s > 5 s: ended; TCP (30 s) stays
    t.update(&udp(6_000_000_001, "10.0.0.4", 3, "10.0.0.1", 53), &mut emit); // reuses the slot
    t.tick(10_000_000_000, &mut emit); // periodic report
    t.flush(11_000_000_000, &mut emit);
    drop(emit);
    let got: Vec<(&str, Option<EndReason>)> = seen.iter().map(|s| (s.0.as_str(), s.3)).collect();
    assert_eq!(
        got,
        [
            ("10.0.0.3:1>10.0.0.1:53", Some(EndReason::IdleTimeout)),
            ("10.0.0.2:2>10.0.0.1:80", None),
            ("10.0.0.4:3>10.0.0.1:53", None),
            ("10.0.0.2:2>10.0.0.1:80", Some(EndReason::EndOfCapture)),
            ("10.0.0.4:3>10.0.0.1:53", Some(EndReason::EndOfCapture)),
        ]
    );
    assert!(t.is_empty());
}

/// Without periodic reports nothing is noted per packet: the notes stay empty however many
/// flows come and go.
#[test]
fn no_notes_pile_up_without_periodic_reports() {
    let mut t = FlowTable::new(FlowSettings { period_ns: 0, max_flows: 64, ..settings() });
    for i in 0..10_000u32 {
        let src = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        t.update(&udp(i64::from(i), &src, 1, "10.0.0.1", 53), &mut |_| {});
    }
    assert!(t.dirty.is_empty());
    assert!(t.len() <= 64);
    assert_eq!(t.stats.created, 10_000);
}
