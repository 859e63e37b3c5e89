//! Decoder tests: hand-built frames for each layer, corpus captures for the encapsulations, and
//! random bytes that must never panic.

use super::*;

fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut v = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0, 0, 64, 17, 0, 0];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn ipv4_tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut v = vec![0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xaa, 0, 0, 0, 0, 2, 0xbb, 0, 0, 0, 0, 1];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn decode_all(linktype: u32, data: &[u8]) -> (Vec<String>, DecodeStats) {
    let mut d = Decoder::new(TunnelPorts::default(), Some(&config::Defrag::default()), 64);
    let mut out = Vec::new();
    let frame = FrameRef { ts_ns: 1, wire_len: data.len() as u32, linktype, data };
    d.decode(&frame, &mut |p| {
        let (s, dp) = p.ports.unwrap_or((0, 0));
        out.push(format!(
            "{} {}:{} > {}:{} vlan={:?} tun={:?}",
            p.proto,
            p.src,
            s,
            p.dst,
            dp,
            p.link.vlan,
            p.tunnel.map(|t| (t.kind, t.id))
        ));
    });
    d.flush(&mut |_| {});
    (out, d.stats)
}

#[test]
fn ethernet_ipv4_tcp() {
    let f = eth(0x0800, &ipv4_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1234, 80, TCP_SYN));
    let (p, s) = decode_all(LINKTYPE_ETHERNET, &f);
    assert_eq!(p, ["6 10.0.0.1:1234 > 10.0.0.2:80 vlan=[None, None] tun=None"]);
    assert_eq!(s.decoded, 1);
}

#[test]
fn qinq_tags_are_kept_outer_first() {
    let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 53, 5353, b"x");
    let mut inner = vec![0x00, 0x64, 0x08, 0x00]; // C-tag 100, then IPv4
    inner.extend_from_slice(&ip);
    let mut outer = vec![0x00, 0xc8, 0x81, 0x00]; // S-tag 200, then 802.1Q
    outer.extend_from_slice(&inner);
    let (p, _) = decode_all(LINKTYPE_ETHERNET, &eth(0x88a8, &outer));
    assert_eq!(p, ["17 1.1.1.1:53 > 2.2.2.2:5353 vlan=[Some(200), Some(100)] tun=None"]);
}

#[test]
fn mpls_stack_then_ipv4() {
    let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, b"");
    let mut m = vec![0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]; // two labels, S on 2nd
    m.extend_from_slice(&ip);
    let (p, _) = decode_all(LINKTYPE_ETHERNET, &eth(0x8847, &m));
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn pppoe_session_ipv4() {
    let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, b"");
    let mut m = vec![0x11, 0x00, 0x00, 0x01, 0x00, (ip.len() + 2) as u8, 0x00, 0x21];
    m.extend_from_slice(&ip);
    let (p, _) = decode_all(LINKTYPE_ETHERNET, &eth(0x8864, &m));
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn null_loopback_both_byte_orders_and_raw() {
    let ip = ipv4_udp([127, 0, 0, 1], [127, 0, 0, 1], 1, 2, b"");
    for hdr in [[2, 0, 0, 0], [0, 0, 0, 2]] {
        let mut f = hdr.to_vec();
        f.extend_from_slice(&ip);
        assert_eq!(decode_all(LINKTYPE_NULL, &f).0.len(), 1);
    }
    assert_eq!(decode_all(LINKTYPE_RAW, &ip).0.len(), 1);
    assert_eq!(decode_all(LINKTYPE_IPV4, &ip).0.len(), 1);
}

#[test]
fn sll_and_sll2() {
    let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, b"");
    let mut sll = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip);
    assert_eq!(decode_all(LINKTYPE_LINUX_SLL, &sll).0.len(), 1);
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
    sll2.extend_from_slice(&ip);
    assert_eq!(decode_all(LINKTYPE_LINUX_SLL2, &sll2).0.len(), 1);
}

#[test]
fn vxlan_is_decapsulated_with_vni() {
    let inner = eth(0x0800, &ipv4_tcp([192, 168, 0, 1], [192, 168, 0, 2], 40000, 443, TCP_SYN));
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
    vx.extend_from_slice(&inner);
    let outer = eth(0x0800, &ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 50000, 4789, &vx));
    let (p, s) = decode_all(LINKTYPE_ETHERNET, &outer);
    assert_eq!(
        p,
        ["6 192.168.0.1:40000 > 192.168.0.2:443 vlan=[None, None] tun=Some((Vxlan, 42))"]
    );
    assert_eq!(s.tunnelled, 1);
}

#[test]
fn udp_on_a_tunnel_port_that_is_not_a_tunnel_stays_udp() {
    let outer = eth(0x0800, &ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 50000, 4789, b"hello"));
    let (p, _) = decode_all(LINKTYPE_ETHERNET, &outer);
    assert_eq!(p, ["17 10.0.0.1:50000 > 10.0.0.2:4789 vlan=[None, None] tun=None"]);
}

#[test]
fn gre_with_key_and_ip_in_ip() {
    let inner = ipv4_udp([172, 16, 0, 1], [172, 16, 0, 2], 1000, 2000, b"");
    let mut gre = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 7]; // K bit, key 7
    gre.extend_from_slice(&inner);
    let mut outer = vec![0x45, 0, 0, (20 + gre.len()) as u8, 0, 1, 0, 0, 64, 47, 0, 0];
    outer.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    outer.extend_from_slice(&gre);
    let (p, _) = decode_all(LINKTYPE_RAW, &outer);
    assert_eq!(p, ["17 172.16.0.1:1000 > 172.16.0.2:2000 vlan=[None, None] tun=Some((Gre, 7))"]);

    let mut ipip = vec![0x45, 0, 0, (20 + inner.len()) as u8, 0, 1, 0, 0, 64, 4, 0, 0];
    ipip.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    ipip.extend_from_slice(&inner);
    let (p, _) = decode_all(LINKTYPE_RAW, &ipip);
    assert_eq!(p, ["17 172.16.0.1:1000 > 172.16.0.2:2000 vlan=[None, None] tun=Some((IpInIp, 0))"]);
}

#[test]
fn truncated_tcp_header_still_has_ports() {
    let mut f = eth(0x0800, &ipv4_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1234, 80, TCP_SYN));
    f.truncate(14 + 20 + 6);
    let mut d = Decoder::new(TunnelPorts::default(), None, 1);
    let mut got = None;
    let frame = FrameRef { ts_ns: 1, wire_len: 54, linktype: 1, data: &f };
    d.decode(&frame, &mut |p| got = Some((p.ports, p.truncated)));
    assert_eq!(got, Some((Some((1234, 80)), true)));
    assert_eq!(d.stats.truncated, 1);
}

fn ipv4_fragment(id: u16, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let total = 20 + data.len();
    let fo = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
    let mut v = vec![0x45, 0, (total >> 8) as u8, total as u8];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&fo.to_be_bytes());
    v.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    v.extend_from_slice(data);
    v
}

#[test]
fn ipv4_fragments_reassemble_out_of_order_first_wins() {
    let udp = ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 5000, 53, &[7u8; 40]);
    let l4 = &udp[20..]; // 48 bytes of UDP
    let mut d = Decoder::new(TunnelPorts::default(), Some(&config::Defrag::default()), 64);
    let mut got = Vec::new();
    let frags = [
        ipv4_fragment(9, 24, false, &l4[24..]),
        ipv4_fragment(9, 0, true, &l4[..16]),
        // Overlaps 8..24 with other bytes: the first-seen bytes (8..16 of frag 2) must win.
        ipv4_fragment(9, 8, true, &[0xee; 16]),
    ];
    for (i, f) in frags.iter().enumerate() {
        let frame =
            FrameRef { ts_ns: i as i64, wire_len: f.len() as u32, linktype: LINKTYPE_RAW, data: f };
        d.decode(&frame, &mut |p| got.push((p.ports, p.frames, p.wire_bytes, p.payload.to_vec())));
    }
    assert_eq!(got.len(), 1);
    let (ports, frames, bytes, payload) = &got[0];
    assert_eq!(*ports, Some((5000, 53)));
    assert_eq!(*frames, 3);
    assert_eq!(*bytes, frags.iter().map(|f| f.len() as u64).sum::<u64>());
    assert_eq!(&payload[..8], &[7u8; 8], "first-seen bytes kept at 8..16 of the datagram");
    assert_eq!(&payload[8..16], &[0xee; 8], "bytes 16..24 only came from the overlapping one");
    assert_eq!(d.stats.reassembled, 1);
    assert_eq!(d.stats.fragment_overlaps, 1);
}

#[test]
fn incomplete_fragments_expire_into_a_portless_packet() {
    let mut d = Decoder::new(TunnelPorts::default(), Some(&config::Defrag::default()), 64);
    let f = ipv4_fragment(3, 0, true, &[1u8; 16]);
    let frame = FrameRef { ts_ns: 0, wire_len: 36, linktype: LINKTYPE_RAW, data: &f };
    let mut got = Vec::new();
    d.decode(&frame, &mut |p| got.push(p.ports));
    assert!(got.is_empty());
    d.tick(10_000_000_000, &mut |p| got.push(p.ports));
    assert!(got.is_empty(), "not yet timed out");
    d.tick(31_000_000_000, &mut |p| got.push(p.ports));
    assert_eq!(got, [None]);
    assert_eq!(d.stats.fragments_timed_out, 1);
}

#[test]
fn defrag_cache_is_bounded() {
    let mut d = Decoder::new(TunnelPorts::default(), Some(&config::Defrag::default()), 4);
    let mut evicted = 0;
    for id in 0..10u16 {
        let f = ipv4_fragment(id, 0, true, &[1u8; 8]);
        let frame = FrameRef { ts_ns: 0, wire_len: 28, linktype: LINKTYPE_RAW, data: &f };
        d.decode(&frame, &mut |_| evicted += 1);
    }
    assert_eq!(evicted, 6, "each eviction hands its frames on");
    assert_eq!(d.stats.fragments_evicted, 6);
}

#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds: Vec<Vec<u8>> = vec![
        eth(0x0800, &ipv4_tcp([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, 2)),
        eth(0x8100, &[0, 1, 0x86, 0xdd]),
        eth(0x0800, &ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 4789, &[8, 0, 0, 0, 0, 0, 1, 0])),
    ];
    let linktypes = [0, 1, 9, 101, 104, 113, 239, 258, 276, 10, 242];
    let mut d = Decoder::new(TunnelPorts::default(), Some(&config::Defrag::default()), 16);
    for i in 0..20_000 {
        let mut f = seeds[i % seeds.len()].clone();
        for _ in 0..(next() % 6) {
            let at = (next() as usize) % f.len();
            f[at] = next() as u8;
        }
        f.truncate((next() as usize) % (f.len() + 1));
        let lt = linktypes[(next() as usize) % linktypes.len()];
        let frame = FrameRef { ts_ns: i as i64, wire_len: 1500, linktype: lt, data: &f };
        d.decode(&frame, &mut |_| {});
        let _ = shard_hash(lt, &f);
    }
    d.flush(&mut |_| {});
}

#[test]
fn shard_hash_is_symmetric() {
    let a = eth(0x0800, &ipv4_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1234, 80, TCP_SYN));
    let b = eth(0x0800, &ipv4_tcp([10, 0, 0, 2], [10, 0, 0, 1], 80, 1234, TCP_SYN | TCP_ACK));
    assert_eq!(shard_hash(1, &a), shard_hash(1, &b));
    assert_ne!(shard_hash(1, &a), 0);
}

#[test]
fn pppoe_with_a_compressed_protocol_field() {
    let ip = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, b"");
    // One-byte PPP protocol 0x21 (IPv4), as some access concentrators send.
    let mut m = vec![0x11, 0x00, 0x00, 0x01, 0x00, (ip.len() + 1) as u8, 0x21];
    m.extend_from_slice(&ip);
    let (p, s) = decode_all(LINKTYPE_ETHERNET, &eth(0x8864, &m));
    assert_eq!(p, ["17 1.1.1.1:1 > 2.2.2.2:2 vlan=[None, None] tun=None"]);
    assert_eq!(s.malformed, 0);
}

fn gre_80211(frame_control: [u8; 2], body: &[u8]) -> Vec<u8> {
    // GRE without options, protocol 0x8200, then the 802.11 header.
    let mut gre = vec![0x00, 0x00, 0x82, 0x00];
    gre.extend_from_slice(&frame_control);
    gre.extend_from_slice(&[0, 0]); // duration
    gre.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xaa]); // address 1
    gre.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xbb]); // address 2
    gre.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xcc]); // address 3
    gre.extend_from_slice(&[0x10, 0x00]); // sequence control
    if frame_control[0] & 0x80 != 0 {
        gre.extend_from_slice(&[0x00, 0x00]); // QoS control
    }
    gre.extend_from_slice(body);
    let mut outer = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 47, 0, 0];
    let total = (20 + gre.len()) as u16;
    outer[2..4].copy_from_slice(&total.to_be_bytes());
    outer.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    outer.extend_from_slice(&gre);
    outer
}

#[test]
fn gre_carrying_80211_data_frames_reaches_the_inner_ip() {
    let ip = ipv4_udp([192, 168, 1, 10], [8, 8, 8, 8], 5353, 53, b"q");
    let mut snap = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    snap.extend_from_slice(&ip);
    // Data (type 2, subtype 0), to the DS; and QoS data (subtype 8).
    for fc in [[0x08, 0x01], [0x88, 0x01]] {
        let (p, s) = decode_all(LINKTYPE_RAW, &gre_80211(fc, &snap));
        assert_eq!(
            p,
            ["17 192.168.1.10:5353 > 8.8.8.8:53 vlan=[None, None] tun=Some((Gre, 0))"],
            "frame control {fc:02x?}"
        );
        assert_eq!(s.malformed, 0);
    }
    // Protected (encrypted) data and a beacon (management) hold no IP: counted as non-IP.
    for fc in [[0x08, 0x41], [0x80, 0x00]] {
        let (p, s) = decode_all(LINKTYPE_RAW, &gre_80211(fc, &snap));
        assert!(p.is_empty(), "{fc:02x?}: {p:?}");
        assert_eq!((s.non_ip, s.malformed), (1, 0), "{fc:02x?}");
    }
    // Cut inside the 802.11 header: malformed, not a panic.
    let cut = gre_80211([0x08, 0x01], &[]);
    let (_, s) = decode_all(LINKTYPE_RAW, &cut[..cut.len() - 4]);
    assert_eq!(s.malformed, 1);
}

#[test]
fn fabricpath_wraps_the_host_frame() {
    let inner = eth(0x0800, &ipv4_udp([10, 1, 0, 1], [10, 1, 0, 2], 1000, 2000, b""));
    let mut fp = vec![0x00, 0x10]; // FTag / TTL
    fp.extend_from_slice(&inner);
    let (p, s) = decode_all(LINKTYPE_ETHERNET, &eth(0x8903, &fp));
    assert_eq!(p, ["17 10.1.0.1:1000 > 10.1.0.2:2000 vlan=[None, None] tun=None"]);
    assert_eq!(s.malformed, 0);
}
