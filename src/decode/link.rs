//! Link layers: from a link type's first byte to the IP header (or to "not IP").
//!
//! Link-type dispatch (Ethernet, SLL, SLL2, NULL/LOOP, raw IP, PPP, HDLC, PPP-over-Ethernet,
//! NFLOG, FDDI, IPoIB, PKTAP) and the Ethernet-type walk behind it (VLAN and QinQ tags, MPLS,
//! PPPoE, PBB, LLC/SNAP). Each function returns a [`Step`]: the next Ethernet type, an IP header,
//! "not IP" or "malformed"; [`to_ip`] follows the Ethernet types to the end. Loops over stacked
//! headers (MPLS labels, NFLOG TLVs) are bounded; reads go through [`View`]. The outermost MACs
//! and the first two VLAN ids are kept in [`LinkInfo`].

use super::LinkInfo;
use crate::bytes::View;

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_PPP: u32 = 9;
pub const LINKTYPE_RAW_OLD: u32 = 12;
pub const LINKTYPE_RAW_OLD2: u32 = 14;
pub const LINKTYPE_PPP_HDLC: u32 = 50;
pub const LINKTYPE_PPP_ETHER: u32 = 51;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_C_HDLC: u32 = 104;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_NFLOG: u32 = 239;
pub const LINKTYPE_PKTAP: u32 = 258;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;
pub const LINKTYPE_FDDI: u32 = 10;
pub const LINKTYPE_IPOIB: u32 = 242;

/// Where decoding a layer ended.
pub(super) enum Step<'a> {
    Ether(u16, &'a [u8]),
    Ip(&'a [u8]),
    NonIp,
    Malformed,
}

/// First layer by link type; `None` for a link type this decoder does not know.
pub(super) fn link_layer<'a>(
    linktype: u32,
    data: &'a [u8],
    link: &mut LinkInfo,
) -> Option<Step<'a>> {
    let b = View(data);
    Some(match linktype {
        LINKTYPE_ETHERNET => ethernet(data, link).unwrap_or(Step::Malformed),
        LINKTYPE_RAW | LINKTYPE_RAW_OLD | LINKTYPE_RAW_OLD2 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            raw_ip(data)
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => match (b.u32_le(0), b.u32(0), b.from(4)) {
            (Some(le), Some(be), Some(rest)) => {
                // Host byte order of the capturing machine: accept either.
                match le.min(be) {
                    2 => Step::Ip(rest),
                    24 | 28 | 30 => Step::Ip(rest),
                    _ => Step::NonIp,
                }
            }
            _ => Step::Malformed,
        },
        LINKTYPE_LINUX_SLL => match (b.u16(14), b.from(16)) {
            (Some(proto), Some(rest)) => sll_protocol(proto, b.u16(2).unwrap_or(0), rest, link),
            _ => Step::Malformed,
        },
        LINKTYPE_LINUX_SLL2 => match (b.u16(0), b.u16(8), b.from(20)) {
            (Some(proto), Some(arphrd), Some(rest)) => sll_protocol(proto, arphrd, rest, link),
            _ => Step::Malformed,
        },
        LINKTYPE_PPP | LINKTYPE_PPP_HDLC | LINKTYPE_C_HDLC => {
            // Optional HDLC address/control (0xff 0x03 or Cisco 0x0f/0x8f 0x00).
            let start = match (b.u8(0), b.u8(1)) {
                (Some(0xff), Some(0x03)) | (Some(0x0f | 0x8f), Some(0x00)) => 2,
                _ => 0,
            };
            match (b.u16(start), b.from(start + 2)) {
                (Some(p), Some(rest)) if linktype == LINKTYPE_C_HDLC => Step::Ether(p, rest),
                (Some(p), Some(rest)) => ppp(p, rest),
                _ => Step::Malformed,
            }
        }
        LINKTYPE_PPP_ETHER => match (b.u16(6), b.from(8)) {
            (Some(p), Some(rest)) => ppp(p, rest),
            _ => Step::Malformed,
        },
        LINKTYPE_NFLOG => nflog(data),
        // FDDI: frame control, destination, source, then 802.2 LLC.
        LINKTYPE_FDDI => match (b.array::<6>(1), b.array::<6>(7), b.from(13)) {
            (Some(dst), Some(src), Some(rest)) => {
                link.src_mac = Some(src);
                link.dst_mac = Some(dst);
                llc(rest)
            }
            _ => Step::Malformed,
        },
        // IP over InfiniBand: a 40-byte address pseudo-header, an Ethernet type, 2 reserved.
        LINKTYPE_IPOIB => match (b.u16(40), b.from(44)) {
            (Some(t), Some(rest)) => Step::Ether(t, rest),
            _ => Step::Malformed,
        },
        LINKTYPE_PKTAP => {
            // Apple PKTAP: header length (LE u32) then the DLT of the payload.
            let hlen = b.u32_le(0)? as usize;
            let dlt = b.u32_le(4)?;
            if dlt == LINKTYPE_PKTAP {
                return Some(Step::Malformed);
            }
            match b.from(hlen) {
                Some(rest) if hlen >= 8 => return link_layer(dlt, rest, link),
                _ => Step::Malformed,
            }
        }
        _ => return None,
    })
}

fn raw_ip(data: &[u8]) -> Step<'_> {
    match View(data).u8(0).map(|v| v >> 4) {
        Some(4 | 6) => Step::Ip(data),
        Some(_) => Step::NonIp,
        None => Step::Malformed,
    }
}

fn sll_protocol<'a>(proto: u16, arphrd: u16, rest: &'a [u8], link: &mut LinkInfo) -> Step<'a> {
    match (arphrd, proto) {
        // ARPHRD_IPGRE: the protocol field is GRE's protocol type.
        (778, _) => ethertype_layer(proto, rest, link),
        // Linux "protocols" below 0x0600 are not Ethernet types (802.2 LLC, CAN, …).
        (_, p) if p < 0x0600 => Step::NonIp,
        (_, p) => Step::Ether(p, rest),
    }
}

/// The PPP protocol field at the start of `data` and what follows it. With protocol-field
/// compression (RFC 1661 §6.5) an odd first byte is the whole field (`0x21` IPv4, `0x57`
/// IPv6); otherwise it takes two bytes.
pub(super) fn ppp_payload(data: &[u8]) -> Step<'_> {
    let b = View(data);
    let (proto, len) = match b.u8(0) {
        Some(first) if first & 1 == 1 => (u16::from(first), 1),
        Some(_) => match b.u16(0) {
            Some(p) => (p, 2),
            None => return Step::Malformed,
        },
        None => return Step::Malformed,
    };
    match b.from(len) {
        Some(rest) => ppp(proto, rest),
        None => Step::Malformed,
    }
}

pub(super) fn ppp(proto: u16, rest: &[u8]) -> Step<'_> {
    match proto {
        0x0021 => Step::Ip(rest),
        0x0057 => Step::Ip(rest),
        0x0281 | 0x0283 => Step::Ether(0x8847, rest),
        _ => Step::NonIp,
    }
}

fn nflog(data: &[u8]) -> Step<'_> {
    // nflog header: family(1) version(1) resource id(2), then TLVs (len LE u16, type LE u16),
    // each padded to 4 bytes. NFULA_PAYLOAD = 9 carries the packet.
    let b = View(data);
    let mut off = 4;
    for _ in 0..64 {
        let (Some(len), Some(ty)) = (b.u16_le(off), b.u16_le(off + 2)) else {
            return Step::Malformed;
        };
        let len = usize::from(len);
        if len < 4 {
            return Step::Malformed;
        }
        if ty == 9 {
            return match data.get(off + 4..(off + len).min(data.len())) {
                Some(p) => raw_ip(p),
                None => Step::Malformed,
            };
        }
        off += (len + 3) & !3;
    }
    Step::Malformed
}

/// Ethernet II or 802.3/LLC/SNAP. `None` when shorter than a header.
pub(super) fn ethernet<'a>(data: &'a [u8], link: &mut LinkInfo) -> Option<Step<'a>> {
    let b = View(data);
    let dst = b.array::<6>(0)?;
    let src = b.array::<6>(6)?;
    let ty = b.u16(12)?;
    // Keep the outermost MACs (the ones on the sensor's wire).
    if link.src_mac.is_none() {
        link.src_mac = Some(src);
        link.dst_mac = Some(dst);
    }
    let rest = b.from(14)?;
    Some(if ty >= 0x0600 { Step::Ether(ty, rest) } else { llc(rest) })
}

/// An IEEE 802.11 frame as WLAN controllers tunnel it in GRE (protocol 0x8200): data frames
/// carry LLC/SNAP and then the Ethernet type; management, control, null-data and protected
/// (encrypted) frames hold no IP for us.
pub(super) fn ieee80211(data: &[u8]) -> Step<'_> {
    let b = View(data);
    let (Some(fc0), Some(fc1)) = (b.u8(0), b.u8(1)) else {
        return Step::Malformed;
    };
    let (kind, subtype) = ((fc0 >> 2) & 0x3, fc0 >> 4);
    // Type 2 is data; subtypes with bit 2 set carry no body (null, QoS null, CF-only).
    if kind != 2 || subtype & 0x4 != 0 || fc1 & 0x40 != 0 {
        return Step::NonIp;
    }
    let four_addresses = fc1 & 0x03 == 0x03;
    let qos = subtype & 0x8 != 0;
    let mut len = if four_addresses { 30 } else { 24 };
    if qos {
        len += 2;
        // +HTC/Order on a QoS data frame: a 4-byte HT control field follows.
        if fc1 & 0x80 != 0 {
            len += 4;
        }
    }
    match b.from(len) {
        Some(rest) => llc(rest),
        None => Step::Malformed,
    }
}

fn llc(rest: &[u8]) -> Step<'_> {
    let b = View(rest);
    match (b.u8(0), b.u8(1), b.u8(2)) {
        // SNAP: AA AA 03 + OUI(3) + ethertype.
        (Some(0xaa), Some(0xaa), Some(0x03)) => match (b.u16(6), b.from(8)) {
            (Some(t), Some(r)) => Step::Ether(t, r),
            _ => Step::Malformed,
        },
        (Some(_), Some(_), Some(_)) => Step::NonIp,
        _ => Step::Malformed,
    }
}

/// Follows one Ethernet type to the next layer.
pub(super) fn ethertype_layer<'a>(ty: u16, rest: &'a [u8], link: &mut LinkInfo) -> Step<'a> {
    let b = View(rest);
    match ty {
        0x0800 | 0x86dd => Step::Ip(rest),
        // 802.1Q, 802.1ad, legacy QinQ types.
        0x8100 | 0x88a8 | 0x9100 | 0x9200 => match (b.u16(0), b.u16(2), b.from(4)) {
            (Some(tci), Some(next), Some(r)) => {
                let id = tci & 0x0fff;
                if link.vlan[0].is_none() {
                    link.vlan[0] = Some(id);
                } else if link.vlan[1].is_none() {
                    link.vlan[1] = Some(id);
                }
                if next >= 0x0600 {
                    Step::Ether(next, r)
                } else {
                    llc(r)
                }
            }
            _ => Step::Malformed,
        },
        // MPLS unicast/multicast: labels until bottom of stack, then guess the payload.
        0x8847 | 0x8848 => mpls(rest, link),
        // PPPoE session: ver/type, code, session, length, then PPP protocol.
        0x8864 => match b.from(6) {
            Some(r) => ppp_payload(r),
            None => Step::Malformed,
        },
        // Cisco FabricPath: the switch-to-switch header (outer addresses, then this type and a
        // 2-byte FTag/TTL) wraps the host's whole Ethernet frame.
        0x8903 => match b.from(2).map(|r| ethernet(r, link)) {
            Some(Some(s)) => s,
            _ => Step::Malformed,
        },
        // 802.1ah PBB: I-TAG (4 bytes) then the customer Ethernet frame.
        0x88e7 => match b.from(4).map(|r| ethernet(r, link)) {
            Some(Some(s)) => s,
            _ => Step::Malformed,
        },
        // Transparent Ethernet bridging (inside GRE).
        0x6558 => match ethernet(rest, link) {
            Some(s) => s,
            None => Step::Malformed,
        },
        _ => Step::NonIp,
    }
}

fn mpls<'a>(data: &'a [u8], link: &mut LinkInfo) -> Step<'a> {
    let mut off = 0;
    for _ in 0..16 {
        let Some(entry) = View(data).u32(off) else {
            return Step::Malformed;
        };
        off += 4;
        if entry & 0x100 != 0 {
            let Some(rest) = View(data).from(off) else {
                return Step::Malformed;
            };
            let r = View(rest);
            return match r.u8(0).map(|v| v >> 4) {
                Some(4 | 6) => Step::Ip(rest),
                // Pseudowire control word (0000) then an Ethernet frame.
                Some(0) => match r.from(4).and_then(|r| ethernet(r, link)) {
                    Some(s) => s,
                    None => Step::Malformed,
                },
                _ => Step::NonIp,
            };
        }
    }
    Step::Malformed
}

/// Follows Ethernet types until an IP header, a non-IP payload or broken bytes.
pub(super) fn to_ip<'a>(mut step: Step<'a>, link: &mut LinkInfo) -> Step<'a> {
    loop {
        step = match step {
            Step::Ether(t, rest) => ethertype_layer(t, rest, link),
            end => return end,
        }
    }
}
