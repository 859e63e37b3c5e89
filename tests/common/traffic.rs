//! Traffic generator for the detection tests: writes pcap files of synthetic but well-formed
//! Ethernet/IPv4/IPv6 packets (checksums correct, built with etherparse), so each attack and
//! each kind of benign traffic is a short, readable scenario in the test that uses it.
//!
//! Usage: `let mut g = Gen::new(t0_secs);` then `g.tcp(..)`, `g.udp(..)`, `g.icmp_echo(..)`,
//! `g.handshake(..)` / `g.session(..)` for whole TCP conversations, `g.at(ts)` / `g.advance(ns)`
//! to move the clock, and `g.write(path)`. Addresses are `IpAddr`; IPv4 and IPv6 both work.
//! Every scenario of the detection tests is built from these calls, so the captures can be
//! regenerated and read: nothing is a hand-made byte blob.
#![allow(dead_code)]

use etherparse::{IcmpEchoHeader, Icmpv4Type, Icmpv6Type, PacketBuilder};
use std::net::IpAddr;
use std::path::Path;

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const RST: u8 = 0x04;
pub const FIN: u8 = 0x01;
pub const PSH: u8 = 0x08;
pub const URG: u8 = 0x20;

pub const NS: i64 = 1;
pub const MS: i64 = 1_000_000;
pub const S: i64 = 1_000_000_000;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Packets with their timestamps, written as one pcap.
pub struct Gen {
    pub now_ns: i64,
    frames: Vec<(i64, Vec<u8>)>,
}

const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const DST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

impl Gen {
    pub fn new(t0_secs: i64) -> Self {
        Gen { now_ns: t0_secs * S, frames: Vec::new() }
    }

    pub fn at(&mut self, ts_ns: i64) -> &mut Self {
        self.now_ns = ts_ns;
        self
    }

    pub fn advance(&mut self, ns: i64) -> &mut Self {
        self.now_ns += ns;
        self
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    fn ip_builder(
        src: IpAddr,
        dst: IpAddr,
    ) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
        let eth = PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
            _ => panic!("mixed address families {src} {dst}"),
        }
    }

    /// One raw frame at the current time.
    pub fn raw(&mut self, frame: Vec<u8>) -> &mut Self {
        self.frames.push((self.now_ns, frame));
        self
    }

    /// A TCP segment.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> &mut Self {
        let mut b = Self::ip_builder(src, dst).tcp(sport, dport, seq, 65535);
        if flags & SYN != 0 {
            b = b.syn();
        }
        if flags & ACK != 0 {
            b = b.ack(ack);
        }
        if flags & RST != 0 {
            b = b.rst();
        }
        if flags & FIN != 0 {
            b = b.fin();
        }
        if flags & PSH != 0 {
            b = b.psh();
        }
        if flags & URG != 0 {
            b = b.urg(0);
        }
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).expect("tcp packet");
        self.raw(out)
    }

    pub fn udp(
        &mut self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        payload: &[u8],
    ) -> &mut Self {
        let b = Self::ip_builder(src, dst).udp(sport, dport);
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).expect("udp packet");
        self.raw(out)
    }

    /// ICMP (v4 or v6 by address family) echo request (`reply: false`) or reply.
    pub fn icmp_echo(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        reply: bool,
        id: u16,
        seq: u16,
    ) -> &mut Self {
        let echo = IcmpEchoHeader { id, seq };
        let payload = [0u8; 32];
        let mut out = Vec::new();
        match src {
            IpAddr::V4(_) => {
                let t =
                    if reply { Icmpv4Type::EchoReply(echo) } else { Icmpv4Type::EchoRequest(echo) };
                let b = Self::ip_builder(src, dst).icmpv4(t);
                b.write(&mut out, &payload).expect("icmp packet");
            }
            IpAddr::V6(_) => {
                let t =
                    if reply { Icmpv6Type::EchoReply(echo) } else { Icmpv6Type::EchoRequest(echo) };
                let b = Self::ip_builder(src, dst).icmpv6(t);
                b.write(&mut out, &payload).expect("icmpv6 packet");
            }
        }
        self.raw(out)
    }

    /// ICMP port unreachable from `router` to `dst` quoting a UDP datagram `dst:sport ->
    /// quoted_dst:dport` (what a closed UDP port answers to a probe).
    pub fn icmp_port_unreachable(
        &mut self,
        router: IpAddr,
        dst: IpAddr,
        sport: u16,
        quoted_dst: IpAddr,
        dport: u16,
    ) -> &mut Self {
        // The quoted datagram: the probe's IP header and its first 8 bytes (the UDP header).
        let probe = {
            let b = match (dst, quoted_dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
                (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
                _ => panic!("mixed address families"),
            }
            .udp(sport, dport);
            let mut v = Vec::new();
            b.write(&mut v, &[]).expect("quoted udp");
            v
        };
        let mut out = Vec::new();
        match router {
            IpAddr::V4(_) => {
                let t = Icmpv4Type::DestinationUnreachable(
                    etherparse::icmpv4::DestUnreachableHeader::Port,
                );
                Self::ip_builder(router, dst).icmpv4(t).write(&mut out, &probe).expect("icmp");
            }
            IpAddr::V6(_) => {
                let t = Icmpv6Type::DestinationUnreachable(
                    etherparse::icmpv6::DestUnreachableCode::Port,
                );
                Self::ip_builder(router, dst).icmpv6(t).write(&mut out, &probe).expect("icmpv6");
            }
        }
        self.raw(out)
    }

    /// A completed TCP handshake client → server; returns the (client, server) next sequence
    /// numbers. Each packet `rtt/2` apart.
    pub fn handshake(
        &mut self,
        client: IpAddr,
        cport: u16,
        server: IpAddr,
        sport: u16,
        rtt_ns: i64,
    ) -> (u32, u32) {
        let (c, s) = (1000u32, 5000u32);
        self.tcp(client, cport, server, sport, SYN, c, 0, &[]);
        self.advance(rtt_ns / 2);
        self.tcp(server, sport, client, cport, SYN | ACK, s, c + 1, &[]);
        self.advance(rtt_ns / 2);
        self.tcp(client, cport, server, sport, ACK, c + 1, s + 1, &[]);
        (c + 1, s + 1)
    }

    /// A whole TCP conversation: handshake, each (from_client, bytes) exchange as one segment
    /// acknowledged by the other side, then FIN/ACK close. Packets `gap_ns` apart.
    #[allow(clippy::too_many_arguments)]
    pub fn session(
        &mut self,
        client: IpAddr,
        cport: u16,
        server: IpAddr,
        sport: u16,
        exchanges: &[(bool, &[u8])],
        gap_ns: i64,
    ) -> &mut Self {
        let (mut c, mut s) = self.handshake(client, cport, server, sport, 2 * gap_ns);
        for (from_client, data) in exchanges {
            self.advance(gap_ns);
            let n = data.len() as u32;
            if *from_client {
                self.tcp(client, cport, server, sport, ACK | PSH, c, s, data);
                c += n;
                self.advance(gap_ns);
                self.tcp(server, sport, client, cport, ACK, s, c, &[]);
            } else {
                self.tcp(server, sport, client, cport, ACK | PSH, s, c, data);
                s += n;
                self.advance(gap_ns);
                self.tcp(client, cport, server, sport, ACK, c, s, &[]);
            }
        }
        self.advance(gap_ns);
        self.tcp(client, cport, server, sport, FIN | ACK, c, s, &[]);
        self.advance(gap_ns);
        self.tcp(server, sport, client, cport, FIN | ACK, s, c + 1, &[]);
        self.advance(gap_ns);
        self.tcp(client, cport, server, sport, ACK, c + 1, s + 1, &[]);
        self
    }

    /// Writes the frames in time order as a pcap (microsecond timestamps, Ethernet).
    pub fn write(&self, path: &Path) {
        let mut frames: Vec<&(i64, Vec<u8>)> = self.frames.iter().collect();
        frames.sort_by_key(|(ts, _)| *ts);
        let mut out = Vec::with_capacity(24 + frames.len() * 80);
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (ts, f) in frames {
            out.extend_from_slice(&((ts / S) as u32).to_le_bytes());
            out.extend_from_slice(&(((ts % S) / 1000) as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
        std::fs::write(path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// A DNS query message for `name` of `qtype` (1 A, 16 TXT, 10 NULL, 28 AAAA).
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// The response to [`dns_query`] with `rcode` (0 NOERROR, 3 NXDOMAIN) and, for NOERROR A
/// queries, one A record 192.0.2.1; for TXT, one TXT record of `txt`.
pub fn dns_response(query: &[u8], rcode: u8, txt: Option<&[u8]>) -> Vec<u8> {
    let mut m = query.to_vec();
    m[2] = 0x81;
    m[3] = 0x80 | (rcode & 0x0f);
    let qtype = u16::from_be_bytes([m[m.len() - 4], m[m.len() - 3]]);
    if rcode == 0 {
        m[7] = 1;
        m.extend_from_slice(&[0xc0, 0x0c]);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        match (qtype, txt) {
            (16, Some(t)) => {
                let t = &t[..t.len().min(255)];
                m.extend_from_slice(&((t.len() + 1) as u16).to_be_bytes());
                m.push(t.len() as u8);
                m.extend_from_slice(t);
            }
            _ => m.extend_from_slice(&[0, 4, 192, 0, 2, 1]),
        }
    }
    m
}

/// A DHCPv4 client message (BOOTREQUEST) from `mac` with transaction id `xid` and option 53
/// `msg_type` (1 DISCOVER, 3 REQUEST, 8 INFORM); send it with `g.udp(0.0.0.0, 68,
/// 255.255.255.255, 67, ..)`.
pub fn dhcp_client_message(mac: [u8; 6], xid: u32, msg_type: u8) -> Vec<u8> {
    let mut m = vec![1u8, 1, 6, 0]; // op BOOTREQUEST, htype Ethernet, hlen 6, hops 0
    m.extend_from_slice(&xid.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0x80, 0]); // secs 0, flags: broadcast
    m.extend_from_slice(&[0u8; 16]); // ciaddr, yiaddr, siaddr, giaddr
    m.extend_from_slice(&mac);
    m.extend_from_slice(&[0u8; 10]); // chaddr padding
    m.extend_from_slice(&[0u8; 64 + 128]); // sname, file
    m.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]); // magic cookie
    m.extend_from_slice(&[53, 1, msg_type]);
    m.extend_from_slice(&[55, 3, 1, 3, 6]); // parameter request list
    m.push(255);
    m
}

/// The Internet checksum of `b`.
fn ip_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Gen {
    /// One IP fragment of datagram `id` carrying `proto` (IPv4 header with MF/offset, or IPv6
    /// with a hop-by-hop header when `hop_by_hop` and a fragment header): `offset` in bytes
    /// (a multiple of 8), `more` the MF flag, `data` this piece of the payload.
    #[allow(clippy::too_many_arguments)]
    pub fn ip_fragment(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        id: u32,
        offset: u16,
        more: bool,
        hop_by_hop: bool,
        data: &[u8],
    ) -> &mut Self {
        let mut f = Vec::new();
        f.extend_from_slice(&DST_MAC);
        f.extend_from_slice(&SRC_MAC);
        let frag_field = (offset / 8) | if more { 0x2000 } else { 0 };
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend_from_slice(&[0x08, 0x00]);
                let mut h = vec![0x45, 0];
                h.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
                h.extend_from_slice(&(id as u16).to_be_bytes());
                h.extend_from_slice(&frag_field.to_be_bytes());
                h.extend_from_slice(&[64, proto, 0, 0]);
                h.extend_from_slice(&s.octets());
                h.extend_from_slice(&d.octets());
                let c = ip_checksum(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                f.extend_from_slice(&h);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend_from_slice(&[0x86, 0xdd]);
                let ext = if hop_by_hop { 16 } else { 8 };
                f.extend_from_slice(&[0x60, 0, 0, 0]);
                f.extend_from_slice(&((ext + data.len()) as u16).to_be_bytes());
                f.push(if hop_by_hop { 0 } else { 44 });
                f.push(64);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
                if hop_by_hop {
                    // Next header: fragment; length 0; Router Alert (MLD) option and two Pad1.
                    f.extend_from_slice(&[44, 0, 5, 2, 0, 0, 0, 0]);
                }
                // Fragment header: next header, reserved, offset<<3 | M, identification.
                f.extend_from_slice(&[proto, 0]);
                f.extend_from_slice(&(((offset / 8) << 3) | u16::from(more)).to_be_bytes());
                f.extend_from_slice(&id.to_be_bytes());
            }
            _ => panic!("mixed address families {src} {dst}"),
        }
        f.extend_from_slice(data);
        self.raw(f)
    }
}
