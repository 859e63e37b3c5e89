//! IP: the IPv4 and IPv6 headers, with the extension headers walked to the transport.
//!
//! IPv4 options are skipped by the header length and AH behind an unfragmented IPv4 header is
//! stepped over; IPv6 extension headers (hop-by-hop, routing, destination options, AH, mobility,
//! HIP, shim6) are walked, at most 16, up to a fragment header. The payload ends at the length
//! the header claims when that is sane (trailing Ethernet padding is not payload), and never
//! beyond what was captured.

use crate::bytes::View;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where a fragment sits in its datagram.
pub(super) struct Fragment {
    pub id: u32,
    pub offset: usize,
    pub more: bool,
}

pub(super) struct IpHeader<'a> {
    /// Upper-layer protocol after the extension headers walked.
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Set for a fragment (not for an atomic one); its payload is then one piece of a datagram.
    pub fragment: Option<Fragment>,
    /// IPv6 extension headers walked, not counting a fragment header; 0 for IPv4.
    pub ext_headers: u8,
    /// The datagram was reassembled from fragments.
    pub reassembled: bool,
    /// Up to the header's total/payload length (Ethernet padding cut), at most what was captured.
    pub payload: &'a [u8],
}

pub(super) fn parse_ip(data: &[u8]) -> Option<IpHeader<'_>> {
    match View(data).u8(0)? >> 4 {
        4 => parse_ipv4(data),
        6 => parse_ipv6(data),
        _ => None,
    }
}

fn parse_ipv4(data: &[u8]) -> Option<IpHeader<'_>> {
    let h = etherparse::Ipv4HeaderSlice::from_slice(data).ok()?;
    let hlen = h.slice().len();
    let total = usize::from(h.total_len());
    // Trust total length when it is sane (trailing Ethernet padding is not payload); a
    // snaplen-truncated packet keeps what was captured.
    let end = if total >= hlen { total.min(data.len()) } else { data.len() };
    let mut payload = data.get(hlen..end)?;
    let mut proto = h.protocol().0;
    // AH (51) is skipped like in IPv6 so the transport behind it is tracked.
    if proto == 51 && h.fragments_offset().value() == 0 && !h.more_fragments() {
        let b = View(payload);
        if let (Some(next), Some(len)) = (b.u8(0), b.u8(1)) {
            let skip = (usize::from(len) + 2) * 4;
            if let Some(rest) = payload.get(skip..) {
                proto = next;
                payload = rest;
            }
        }
    }
    let offset = usize::from(h.fragments_offset().value()) * 8;
    let fragment = (h.more_fragments() || offset > 0).then(|| Fragment {
        id: u32::from(h.identification()),
        offset,
        more: h.more_fragments(),
    });
    Some(IpHeader {
        proto,
        src: IpAddr::V4(Ipv4Addr::from(h.source())),
        dst: IpAddr::V4(Ipv4Addr::from(h.destination())),
        fragment,
        ext_headers: 0,
        reassembled: false,
        payload,
    })
}

fn parse_ipv6(data: &[u8]) -> Option<IpHeader<'_>> {
    let h = etherparse::Ipv6HeaderSlice::from_slice(data).ok()?;
    let plen = usize::from(h.payload_length());
    // Payload length 0 is a jumbogram (or broken): take what was captured.
    let end = if plen == 0 { data.len() } else { (40 + plen).min(data.len()) };
    let mut rest = data.get(40..end)?;
    let mut next = h.next_header().0;
    let mut fragment = None;
    let mut ext_headers = 0u8;
    // Walk extension headers: hop-by-hop 0, routing 43, fragment 44, dest-opts 60, AH 51,
    // mobility 135, HIP 139, shim6 140. A bounded walk: at most 16 headers.
    for _ in 0..16 {
        let b = View(rest);
        if matches!(next, 0 | 43 | 51 | 60 | 135 | 139 | 140) {
            ext_headers += 1;
        }
        match next {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let (nh, len) = (b.u8(0)?, b.u8(1)?);
                let skip = (usize::from(len) + 1) * 8;
                if next == 135 {
                    // Mobility header: payload proto 59 (none) is usual; stop here.
                    rest = rest.get(skip.min(rest.len())..)?;
                    next = nh;
                    break;
                }
                rest = rest.get(skip..)?;
                next = nh;
            }
            51 => {
                let (nh, len) = (b.u8(0)?, b.u8(1)?);
                rest = rest.get((usize::from(len) + 2) * 4..)?;
                next = nh;
            }
            44 => {
                let nh = b.u8(0)?;
                let off_flags = b.u16(2)?;
                let id = b.u32(4)?;
                let offset = usize::from(off_flags >> 3) * 8;
                let more = off_flags & 1 == 1;
                rest = rest.get(8..)?;
                next = nh;
                if offset == 0 && !more {
                    // Atomic fragment (RFC 6946): not a fragment at all.
                    continue;
                }
                fragment = Some(Fragment { id, offset, more });
                // Headers after the fragment header belong to the reassembled payload.
                break;
            }
            _ => break,
        }
    }
    Some(IpHeader {
        proto: next,
        src: IpAddr::V6(Ipv6Addr::from(h.source())),
        dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
        fragment,
        ext_headers,
        reassembled: false,
        payload: rest,
    })
}

/// Skips IPv6 extension headers at the start of a reassembled payload (the ones after the
/// fragment header). Returns the upper protocol and its bytes.
pub fn skip_ipv6_ext(mut next: u8, mut rest: &[u8]) -> (u8, &[u8]) {
    for _ in 0..16 {
        let b = View(rest);
        let skip = match next {
            0 | 43 | 60 => b.u8(1).map(|l| (usize::from(l) + 1) * 8),
            51 => b.u8(1).map(|l| (usize::from(l) + 2) * 4),
            _ => None,
        };
        match (skip.and_then(|s| b.from(s)), b.u8(0)) {
            (Some(r), Some(nh)) => {
                rest = r;
                next = nh;
            }
            _ => break,
        }
    }
    (next, rest)
}
