//! Transport: the ports (or ICMP type and code), TCP flags and sequence numbers, and the payload
//! of the header behind IP.
//!
//! TCP, UDP, SCTP, ICMP and ICMPv6; any other protocol has no ports and no payload. A header cut
//! short by the snaplen still yields its ports when they were captured, so the packet lands in
//! its flow. The UDP payload ends at the UDP length when that is sane.

use super::TcpInfo;
use crate::bytes::View;

/// What the flow table needs of a transport header.
pub(super) struct Transport<'a> {
    /// Ports for TCP/UDP/SCTP; ICMP type and code for ICMP/ICMPv6.
    pub ports: Option<(u16, u16)>,
    pub tcp: Option<TcpInfo>,
    /// As captured; for ICMP the whole message (type, code and checksum included).
    pub payload: &'a [u8],
}

#[inline]
pub(super) fn parse(proto: u8, l4: &[u8]) -> Transport<'_> {
    let b = View(l4);
    let mut t = Transport { ports: None, tcp: None, payload: &[] };
    match proto {
        6 => {
            if let Ok(h) = etherparse::TcpHeaderSlice::from_slice(l4) {
                t.ports = Some((h.source_port(), h.destination_port()));
                t.tcp = Some(TcpInfo {
                    flags: b.u8(13).unwrap_or(0),
                    seq: h.sequence_number(),
                    ack: h.acknowledgment_number(),
                });
                t.payload = b.from(h.slice().len()).unwrap_or(&[]);
            } else if let (Some(s), Some(d)) = (b.u16(0), b.u16(2)) {
                // Header cut by the snaplen: the ports still place it in its flow.
                t.ports = Some((s, d));
                t.tcp = b.u8(13).map(|flags| TcpInfo {
                    flags,
                    seq: b.u32(4).unwrap_or(0),
                    ack: b.u32(8).unwrap_or(0),
                });
            }
        }
        17 => {
            if let (Some(s), Some(d)) = (b.u16(0), b.u16(2)) {
                t.ports = Some((s, d));
                let payload = b.from(8).unwrap_or(&[]);
                let udp_len = b.u16(4).map(usize::from).unwrap_or(0);
                t.payload = match udp_len.checked_sub(8) {
                    Some(n) if n < payload.len() => View(payload).slice(0, n).unwrap_or(payload),
                    _ => payload,
                };
            }
        }
        132 => {
            if let (Some(s), Some(d)) = (b.u16(0), b.u16(2)) {
                t.ports = Some((s, d));
                t.payload = b.from(12).unwrap_or(&[]);
            }
        }
        1 | 58 => {
            if let (Some(ty), Some(code)) = (b.u8(0), b.u8(1)) {
                t.ports = Some((u16::from(ty), u16::from(code)));
                t.payload = l4;
            }
        }
        _ => {}
    }
    t
}
