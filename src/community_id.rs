//! Community ID v1 (corelight/community-id-spec), written here because the published crate is
//! GPL-3.0.
//!
//! Hash input, all integers big-endian: `seed u16 | addr_lo | addr_hi | proto u8 | 0u8 |
//! port_lo u16 | port_hi u16`, then `"1:" + base64(sha1(input))`. ICMP/ICMPv6 map type/code to
//! port equivalents; types without a counterpart are "one-way" and never reordered. Protocols
//! without ports hash only the addresses.
//!
//! A leaf module (no other crate module): `flow` keys and `ecs` events use it, and so does the
//! ICMP parser for the flow an error quotes, without depending on `flow`. Also reachable as
//! `flow::community_id`.

use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;
pub const PROTO_SCTP: u8 = 132;

/// The request/reply counterpart of an ICMP type, if it has one.
fn icmp4_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        10 => 9,
        9 => 10,
        17 => 18,
        18 => 17,
        _ => return None,
    })
}

fn icmp6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        130 => 131,
        131 => 130,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        _ => return None,
    })
}

/// Port equivalents for a packet: `(src_port, dst_port, one_way)`. For ICMP the "ports" are the
/// raw type and code.
pub fn port_equivalents(proto: u8, sport: u16, dport: u16) -> (u16, u16, bool) {
    let counterpart = match proto {
        PROTO_ICMP => icmp4_counterpart,
        PROTO_ICMPV6 => icmp6_counterpart,
        _ => return (sport, dport, false),
    };
    let ty = sport as u8;
    match counterpart(ty) {
        Some(other) => (ty as u16, other as u16, false),
        None => (sport, dport, true),
    }
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_ICMP | PROTO_ICMPV6)
}

fn octets(ip: &IpAddr) -> ([u8; 16], usize) {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(a) => {
            out[..4].copy_from_slice(&a.octets());
            (out, 4)
        }
        IpAddr::V6(a) => {
            out.copy_from_slice(&a.octets());
            (out, 16)
        }
    }
}

/// Community ID v1 of a packet or flow, `None` when the address families differ.
/// For ICMP pass the type as `sport` and the code as `dport`.
pub fn community_id(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
) -> Option<String> {
    let digest = community_id_digest(seed, src, dst, proto, sport, dport)?;
    let mut s = String::with_capacity(30);
    s.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut s);
    Some(s)
}

/// The hex variant (debugging aid of the spec).
pub fn community_id_hex(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
) -> Option<String> {
    use std::fmt::Write;
    let digest = community_id_digest(seed, src, dst, proto, sport, dport)?;
    let mut s = String::from("1:");
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    Some(s)
}

fn community_id_digest(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
) -> Option<[u8; 20]> {
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    let (sa, len) = octets(&src);
    let (da, _) = octets(&dst);
    let ports = has_ports(proto);
    let (mut sp, mut dp, one_way) =
        if ports { port_equivalents(proto, sport, dport) } else { (0, 0, false) };
    let (mut a, mut b) = (&sa[..len], &da[..len]);
    // Order endpoints: address first, port breaks the tie. One-way ICMP keeps wire order.
    let swap = !one_way && (a > b || (a == b && ports && sp > dp));
    if swap {
        std::mem::swap(&mut a, &mut b);
        std::mem::swap(&mut sp, &mut dp);
    }
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(a);
    h.update(b);
    h.update([proto, 0]);
    if ports {
        h.update(sp.to_be_bytes());
        h.update(dp.to_be_bytes());
    }
    Some(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/community-id/tuple_vectors.tsv");

    fn port(s: &str) -> u16 {
        if s.is_empty() {
            0
        } else {
            s.parse().unwrap()
        }
    }

    #[test]
    fn published_tuple_vectors() {
        let text = std::fs::read_to_string(VECTORS).expect("community-id vectors");
        let mut n = 0;
        for line in text.lines().skip(1) {
            let c: Vec<&str> = line.split('\t').collect();
            let proto: u8 = c[1].parse().unwrap();
            let (src, dst) = (c[2].parse().unwrap(), c[3].parse().unwrap());
            let (sp, dp) = (port(c[4]), port(c[5]));
            assert_eq!(community_id(0, src, dst, proto, sp, dp).unwrap(), c[6], "seed0 {line}");
            assert_eq!(community_id(1, src, dst, proto, sp, dp).unwrap(), c[7], "seed1 {line}");
            assert_eq!(community_id_hex(0, src, dst, proto, sp, dp).unwrap(), c[8], "hex {line}");
            n += 1;
        }
        assert_eq!(n, 16);
    }

    #[test]
    fn mixed_families_have_no_id() {
        let v4: IpAddr = "1.2.3.4".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(community_id(0, v4, v6, 6, 1, 2), None);
    }
}
