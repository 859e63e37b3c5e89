//! Tunnels: the encapsulation headers decode looks through, so a packet is keyed on its
//! innermost addresses.
//!
//! GRE (RFC 2784/2890 and PPTP's enhanced GRE, with ERSPAN I/II/III and PPP behind it), VXLAN,
//! Geneve, GTP-U and Teredo on their configured UDP ports ([`TunnelPorts`]); IP-in-IP and 6in4
//! need no header of their own. Each function reads one header and returns the tunnel kind, its
//! id (VNI, key, TEID, session) and where the inner packet starts; the [`Decoder`](super::Decoder)
//! enters it and bounds the nesting. A UDP payload on a tunnel port that does not parse as that
//! tunnel stays UDP.

use super::config;
use super::link::{ethernet, ethertype_layer, ieee80211, ppp_payload, Step};
use super::{LinkInfo, TunnelKind};
use crate::bytes::View;

/// Tunnel ports and switches, from `wirebeat.tunnels`.
#[derive(Debug, Clone)]
pub struct TunnelPorts {
    pub enabled: bool,
    pub vxlan: Vec<u16>,
    pub geneve: Vec<u16>,
    pub gtp: Vec<u16>,
    pub teredo: Vec<u16>,
}

impl From<&config::Tunnels> for TunnelPorts {
    fn from(t: &config::Tunnels) -> Self {
        TunnelPorts {
            enabled: t.enabled,
            vxlan: t.vxlan_ports.clone(),
            geneve: t.geneve_ports.clone(),
            gtp: t.gtp_ports.clone(),
            teredo: t.teredo_ports.clone(),
        }
    }
}

impl Default for TunnelPorts {
    fn default() -> Self {
        (&config::Tunnels::default()).into()
    }
}

/// GRE (RFC 2784/2890, and PPTP's enhanced GRE), with ERSPAN I/II/III behind it.
pub(super) fn gre<'a>(data: &'a [u8], link: &mut LinkInfo) -> Option<(TunnelKind, u32, Step<'a>)> {
    let b = View(data);
    let flags = b.u16(0)?;
    let proto = b.u16(2)?;
    let version = flags & 0x7;
    let mut off = 4;
    let mut key = 0;
    let has_seq = flags & 0x1000 != 0;
    if version == 0 {
        if flags & 0x8000 != 0 {
            off += 4; // checksum + reserved
        }
        if flags & 0x2000 != 0 {
            key = b.u32(off)?;
            off += 4;
        }
        if has_seq {
            off += 4;
        }
    } else if version == 1 {
        // Enhanced GRE (PPTP): key = payload length + call id, always present.
        key = u32::from(b.u16(off + 2)?);
        off += 4;
        if has_seq {
            off += 4;
        }
        if flags & 0x0080 != 0 {
            off += 4; // acknowledgment number
        }
    } else {
        return None;
    }
    let rest = b.from(off)?;
    let r = View(rest);
    Some(match proto {
        // ERSPAN: type II when GRE carries a sequence number, type I otherwise.
        0x88be => {
            if has_seq {
                let session = u32::from(r.u16(2)? & 0x03ff);
                (TunnelKind::Erspan, session, ethernet(r.from(8)?, link)?)
            } else {
                (TunnelKind::Erspan, key, ethernet(rest, link)?)
            }
        }
        // ERSPAN type III: 12-byte header, plus an 8-byte platform subheader when O is set.
        0x22eb => {
            let session = u32::from(r.u16(2)? & 0x03ff);
            let o_bit = r.u8(11)? & 0x01 != 0;
            let hlen = if o_bit { 20 } else { 12 };
            (TunnelKind::Erspan, session, ethernet(r.from(hlen)?, link)?)
        }
        // PPP in GRE (PPTP), with optional address/control.
        0x880b => {
            let start = if r.u8(0)? == 0xff && r.u8(1)? == 0x03 { 2 } else { 0 };
            (TunnelKind::Gre, key, ppp_payload(r.from(start)?))
        }
        // IEEE 802.11 frames from a WLAN controller (Aruba and others).
        0x8200 => (TunnelKind::Gre, key, ieee80211(rest)),
        0x6558 => (TunnelKind::Gre, key, ethernet(rest, link)?),
        other => (TunnelKind::Gre, key, ethertype_layer(other, rest, link)),
    })
}

/// GTPv1-U G-PDU: returns the TEID and the inner IP packet.
pub(super) fn gtp_u(data: &[u8]) -> Option<(u32, &[u8])> {
    let b = View(data);
    let flags = b.u8(0)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || b.u8(1)? != 0xff {
        return None; // not GTPv1, not GTP (PT=0 is GTP'), or not a G-PDU
    }
    let teid = b.u32(4)?;
    let mut off = 8;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number, next extension header type.
        let mut next_ext = b.u8(11)?;
        off = 12;
        let mut guard = 0;
        while next_ext != 0 && guard < 16 {
            let len = usize::from(b.u8(off)?) * 4;
            if len == 0 {
                return None;
            }
            next_ext = b.u8(off + len - 1)?;
            off += len;
            guard += 1;
        }
    }
    let inner = b.from(off)?;
    matches!(inner.first().map(|v| v >> 4), Some(4 | 6)).then_some((teid, inner))
}

/// Teredo (RFC 4380): optional authentication and origin indicators, then IPv6.
pub(super) fn teredo(data: &[u8]) -> Option<&[u8]> {
    let mut rest = data;
    for _ in 0..2 {
        let b = View(rest);
        match b.u16(0)? {
            0x0001 => {
                let id_len = usize::from(b.u8(2)?);
                let au_len = usize::from(b.u8(3)?);
                rest = b.from(4 + id_len + au_len + 9)?;
            }
            0x0000 => rest = b.from(8)?,
            _ => break,
        }
    }
    // Only a well-formed IPv6 header counts: UDP on 3544 that is not Teredo stays UDP.
    let h = etherparse::Ipv6HeaderSlice::from_slice(rest).ok()?;
    (usize::from(h.payload_length()) + 40 <= rest.len() + 64).then_some(rest)
}

/// The tunnel header a UDP payload on a configured tunnel port carries, if it parses as one
/// (ports are checked in the order VXLAN, Geneve, GTP-U, Teredo; either port may match).
pub(super) fn udp<'a>(
    ports: &TunnelPorts,
    sport: u16,
    dport: u16,
    payload: &'a [u8],
    link: &mut LinkInfo,
) -> Option<(TunnelKind, u32, Step<'a>)> {
    let on = |ports: &[u16]| ports.contains(&dport) || ports.contains(&sport);
    if on(&ports.vxlan) {
        vxlan(payload, link)
    } else if on(&ports.geneve) {
        geneve(payload, link)
    } else if on(&ports.gtp) {
        gtp_u(payload).map(|(teid, inner)| (TunnelKind::GtpU, teid, Step::Ip(inner)))
    } else if on(&ports.teredo) {
        teredo(payload).map(|inner| (TunnelKind::Teredo, 0, Step::Ip(inner)))
    } else {
        None
    }
}

/// VXLAN: flags (I bit 0x08) | reserved | VNI (24) | reserved, then Ethernet.
fn vxlan<'a>(payload: &'a [u8], link: &mut LinkInfo) -> Option<(TunnelKind, u32, Step<'a>)> {
    let b = View(payload);
    match (b.u8(0), b.u32(4), b.from(8)) {
        (Some(f), Some(vni), Some(inner)) if f & 0x08 != 0 && inner.len() >= 14 => {
            ethernet(inner, link).map(|s| (TunnelKind::Vxlan, vni >> 8, s))
        }
        _ => None,
    }
}

/// Geneve: ver(2)|optlen(6) | flags | protocol type | VNI(24) | rsvd | options.
fn geneve<'a>(payload: &'a [u8], link: &mut LinkInfo) -> Option<(TunnelKind, u32, Step<'a>)> {
    let b = View(payload);
    match (b.u8(0), b.u16(2), b.u32(4)) {
        (Some(v), Some(proto), Some(vni)) if v >> 6 == 0 => {
            let hlen = 8 + usize::from(v & 0x3f) * 4;
            b.from(hlen).and_then(|inner| {
                let step = if proto == 0x6558 {
                    ethernet(inner, link)?
                } else {
                    ethertype_layer(proto, inner, link)
                };
                Some((TunnelKind::Geneve, vni >> 8, step))
            })
        }
        _ => None,
    }
}
