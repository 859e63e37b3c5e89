//! Pure ICMP/ICMPv6 parsing: the fixed header, the request/response classification, the human
//! names of types and codes, and the IP header (+ first transport bytes) that error messages
//! quote. Bytes in, values out; nothing here keeps state or can panic.
//!
//! ICMP has no length field: a message is the whole IP payload. A parse therefore needs only
//! the 8-byte fixed header (type, code, checksum, 4 type-specific bytes); anything after it is
//! the body. Fewer than 8 bytes is `Incomplete`: the caller, which knows the datagram is all
//! there is, may still report type and code of such a cut message (`parse_truncated`).

use crate::bytes::{ParseError, View};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Length of the fixed ICMP header (type, code, checksum, rest of header).
pub const HEADER_LEN: usize = 8;
/// IPv6 extension headers walked in a quoted packet before giving up.
pub const MAX_QUOTED_EXT_HEADERS: usize = 8;

/// How a message takes part in request/response pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A request that expects a reply with the same identifier and sequence number; the value
    /// is the request type.
    Request(u8),
    /// A reply to the request of the given type.
    Reply(u8),
    /// A message that stands alone (errors, neighbour discovery, MLD, ...).
    Single,
}

/// A parsed ICMP or ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// 4 for ICMP, 6 for ICMPv6.
    pub version: u8,
    pub ty: u8,
    pub code: u8,
    pub checksum: u16,
    /// Identifier and sequence number of echo-like messages (bytes 4..8), else 0.
    pub id: u16,
    pub seq: u16,
    /// Whole message length as captured.
    pub len: usize,
    /// The quoted packet of an error message, when one could be read.
    pub quoted: Option<Quoted>,
    /// Anomalies found while parsing (become `event.reason` notes).
    pub notes: Vec<&'static str>,
}

impl Message {
    pub fn role(&self) -> Role {
        role(self.version, self.ty)
    }

    pub fn is_error(&self) -> bool {
        is_error(self.version, self.ty)
    }

    pub fn text(&self) -> String {
        message_text(self.version, self.ty, self.code)
    }
}

/// The IP header (and transport ports) quoted by an ICMP error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers).
    pub proto: u8,
    /// Ports of TCP/UDP/SCTP; type and code of a quoted ICMP message (for the Community ID).
    pub ports: Option<(u16, u16)>,
}

/// Parses one whole ICMP (`version` 4) or ICMPv6 (`version` 6) message.
pub fn parse(buf: &[u8], version: u8) -> Result<Message, ParseError> {
    let b = View(buf);
    let (Some(ty), Some(code), Some(checksum), Some(id), Some(seq)) =
        (b.u8(0), b.u8(1), b.u16(2), b.u16(4), b.u16(6))
    else {
        return Err(ParseError::Incomplete);
    };
    if version != 4 && version != 6 {
        return Err(ParseError::Malformed("ICMP version is neither 4 nor 6"));
    }
    let mut msg = Message {
        version,
        ty,
        code,
        checksum,
        id: 0,
        seq: 0,
        len: buf.len(),
        quoted: None,
        notes: Vec::new(),
    };
    if role(version, ty) != Role::Single {
        msg.id = id;
        msg.seq = seq;
    }
    if version == 4 && internet_checksum(buf) != 0 {
        // Also true of a message cut by the snaplen; the note says what we saw.
        msg.notes.push("ICMP checksum does not verify (corrupt or truncated message)");
    }
    if quotes_packet(version, ty) {
        match buf.get(HEADER_LEN..).map(parse_quoted) {
            Some(Ok(q)) => msg.quoted = Some(q),
            Some(Err(why)) => msg.notes.push(why),
            None => msg.notes.push("no quoted packet in the ICMP error"),
        }
    }
    Ok(msg)
}

/// A message shorter than the fixed header but with its type and code: what a datagram cut by
/// the snaplen still tells. `None` below 2 bytes.
pub fn parse_truncated(buf: &[u8], version: u8) -> Option<Message> {
    let b = View(buf);
    let (ty, code) = (b.u8(0)?, b.u8(1)?);
    Some(Message {
        version,
        ty,
        code,
        checksum: b.u16(2).unwrap_or(0),
        id: 0,
        seq: 0,
        len: buf.len(),
        quoted: None,
        notes: vec!["ICMP header truncated"],
    })
}

/// The IP version of a message whose carrier is unknown to the parser: a valid ICMPv4 checksum
/// (it covers the message alone, while ICMPv6's covers a pseudo-header too) says 4; assigned
/// ICMPv6 informational types and errors quoting an IPv6 header say 6. `None` when nothing is
/// conclusive (e.g. an unassigned type in a message cut by the snaplen).
pub fn guess_version(buf: &[u8]) -> Option<u8> {
    let ty = *buf.first()?;
    if buf.len() >= HEADER_LEN && internet_checksum(buf) == 0 {
        return Some(4);
    }
    // ICMPv4 assigns nothing from 128 up; ICMPv6 informational messages are 128..=161 (and
    // 200/201 for private experimentation). Other high types are garbage either way.
    if matches!(ty, 128..=161 | 200 | 201) {
        return Some(6);
    }
    match (ty, buf.get(HEADER_LEN).map(|v| v >> 4)) {
        (1..=4, Some(6)) => Some(6),
        (3..=5 | 11 | 12, Some(4)) => Some(4),
        _ => None,
    }
}

/// RFC 1071 Internet checksum over `buf`; 0 when a message with its checksum field verifies.
pub fn internet_checksum(buf: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = buf.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Does this type carry "IP header + leading bytes" of the packet that caused it?
pub fn quotes_packet(version: u8, ty: u8) -> bool {
    match version {
        4 => matches!(ty, 3 | 4 | 5 | 11 | 12),
        _ => matches!(ty, 1..=4),
    }
}

/// Error messages (Packetbeat's list: `status: Error`).
pub fn is_error(version: u8, ty: u8) -> bool {
    match version {
        4 => matches!(ty, 3 | 4 | 11 | 12),
        _ => matches!(ty, 1..=4),
    }
}

/// Pairing role of a type. Packetbeat pairs ICMPv4 echo, timestamp, information and address
/// mask, and ICMPv6 echo; everything else is reported alone.
pub fn role(version: u8, ty: u8) -> Role {
    match (version, ty) {
        (4, 8 | 13 | 15 | 17) => Role::Request(ty),
        (4, 0) => Role::Reply(8),
        (4, 14 | 16 | 18) => Role::Reply(ty - 1),
        (6, 128) => Role::Request(128),
        (6, 129) => Role::Reply(128),
        _ => Role::Single,
    }
}

/// Is this a reply type (goes under `icmp.response`)? Every other type is a "request", as in
/// Packetbeat.
pub fn is_reply(version: u8, ty: u8) -> bool {
    matches!(role(version, ty), Role::Reply(_))
}

/// Parses the packet quoted by an error: an IPv4 or IPv6 header and whatever follows it.
pub fn parse_quoted(buf: &[u8]) -> Result<Quoted, &'static str> {
    let b = View(buf);
    let first = b.u8(0).ok_or("no quoted packet in the ICMP error")?;
    match first >> 4 {
        4 => {
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < 20 {
                return Err("quoted IPv4 header length below 20 bytes");
            }
            let (Some(frag), Some(proto), Some(src), Some(dst)) =
                (b.u16(6), b.u8(9), b.array::<4>(12), b.array::<4>(16))
            else {
                return Err("quoted IPv4 header truncated");
            };
            let l4 = if frag & 0x1fff == 0 { b.from(ihl) } else { None };
            Ok(Quoted {
                src: IpAddr::V4(Ipv4Addr::from(src)),
                dst: IpAddr::V4(Ipv4Addr::from(dst)),
                proto,
                ports: l4.and_then(|l4| ports(proto, l4)),
            })
        }
        6 => {
            let (Some(next), Some(src), Some(dst)) = (b.u8(6), b.array::<16>(8), b.array::<16>(24))
            else {
                return Err("quoted IPv6 header truncated");
            };
            let (proto, l4) = walk_ipv6_extensions(next, b.from(40).unwrap_or(&[]));
            Ok(Quoted {
                src: IpAddr::V6(Ipv6Addr::from(src)),
                dst: IpAddr::V6(Ipv6Addr::from(dst)),
                proto,
                ports: l4.and_then(|l4| ports(proto, l4)),
            })
        }
        _ => Err("quoted packet is neither IPv4 nor IPv6"),
    }
}

/// Follows IPv6 extension headers (bounded); returns the upper-layer protocol and its bytes,
/// `None` when they are missing or belong to a non-first fragment.
fn walk_ipv6_extensions(mut next: u8, mut rest: &[u8]) -> (u8, Option<&[u8]>) {
    for _ in 0..MAX_QUOTED_EXT_HEADERS {
        let b = View(rest);
        let len = match next {
            0 | 43 | 60 | 135 => b.u8(1).map(|l| (usize::from(l) + 1) * 8),
            51 => b.u8(1).map(|l| (usize::from(l) + 2) * 4),
            44 => {
                // A non-first fragment carries no transport header.
                if b.u16(2).is_some_and(|off| off & 0xfff8 != 0) {
                    return (b.u8(0).unwrap_or(next), None);
                }
                Some(8)
            }
            _ => return (next, Some(rest)),
        };
        let (Some(n), Some(len)) = (b.u8(0), len) else { return (next, None) };
        match rest.get(len..) {
            Some(r) => {
                next = n;
                rest = r;
            }
            None => return (n, None),
        }
    }
    (next, None)
}

fn ports(proto: u8, l4: &[u8]) -> Option<(u16, u16)> {
    let b = View(l4);
    match proto {
        6 | 17 | 132 => Some((b.u16(0)?, b.u16(2)?)),
        1 | 58 => Some((u16::from(b.u8(0)?), u16::from(b.u8(1)?))),
        _ => None,
    }
}

/// `network.transport`-style name of an IP protocol number.
pub fn transport_name(proto: u8) -> Option<&'static str> {
    Some(match proto {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        58 => "ipv6-icmp",
        132 => "sctp",
        _ => return None,
    })
}

/// Human text of a type and code, e.g. "Destination Unreachable (Port Unreachable)".
pub fn message_text(version: u8, ty: u8, code: u8) -> String {
    let (name, code_name) = if version == 4 { names_v4(ty, code) } else { names_v6(ty, code) };
    match (name, code_name) {
        (Some(n), Some(c)) => format!("{n} ({c})"),
        (Some(n), None) if code == 0 => n.to_owned(),
        (Some(n), None) => format!("{n} (code {code})"),
        (None, _) => format!("Unknown type {ty} (code {code})"),
    }
}

fn names_v4(ty: u8, code: u8) -> (Option<&'static str>, Option<&'static str>) {
    let name = match ty {
        0 => "Echo Reply",
        3 => "Destination Unreachable",
        4 => "Source Quench",
        5 => "Redirect",
        8 => "Echo Request",
        9 => "Router Advertisement",
        10 => "Router Solicitation",
        11 => "Time Exceeded",
        12 => "Parameter Problem",
        13 => "Timestamp Request",
        14 => "Timestamp Reply",
        15 => "Information Request",
        16 => "Information Reply",
        17 => "Address Mask Request",
        18 => "Address Mask Reply",
        30 => "Traceroute",
        40 => "Photuris",
        42 => "Extended Echo Request",
        43 => "Extended Echo Reply",
        _ => return (None, None),
    };
    let code_name = match (ty, code) {
        (3, 0) => "Network Unreachable",
        (3, 1) => "Host Unreachable",
        (3, 2) => "Protocol Unreachable",
        (3, 3) => "Port Unreachable",
        (3, 4) => "Fragmentation Needed",
        (3, 5) => "Source Route Failed",
        (3, 6) => "Destination Network Unknown",
        (3, 7) => "Destination Host Unknown",
        (3, 8) => "Source Host Isolated",
        (3, 9) => "Network Administratively Prohibited",
        (3, 10) => "Host Administratively Prohibited",
        (3, 11) => "Network Unreachable for TOS",
        (3, 12) => "Host Unreachable for TOS",
        (3, 13) => "Communication Administratively Prohibited",
        (3, 14) => "Host Precedence Violation",
        (3, 15) => "Precedence Cutoff in Effect",
        (5, 0) => "Redirect for Network",
        (5, 1) => "Redirect for Host",
        (5, 2) => "Redirect for TOS and Network",
        (5, 3) => "Redirect for TOS and Host",
        (11, 0) => "TTL Exceeded in Transit",
        (11, 1) => "Fragment Reassembly Time Exceeded",
        (12, 0) => "Pointer Indicates the Error",
        (12, 1) => "Missing a Required Option",
        (12, 2) => "Bad Length",
        _ => return (Some(name), None),
    };
    (Some(name), Some(code_name))
}

fn names_v6(ty: u8, code: u8) -> (Option<&'static str>, Option<&'static str>) {
    let name = match ty {
        1 => "Destination Unreachable",
        2 => "Packet Too Big",
        3 => "Time Exceeded",
        4 => "Parameter Problem",
        128 => "Echo Request",
        129 => "Echo Reply",
        130 => "Multicast Listener Query",
        131 => "Multicast Listener Report",
        132 => "Multicast Listener Done",
        133 => "Router Solicitation",
        134 => "Router Advertisement",
        135 => "Neighbor Solicitation",
        136 => "Neighbor Advertisement",
        137 => "Redirect",
        138 => "Router Renumbering",
        139 => "Node Information Query",
        140 => "Node Information Response",
        141 => "Inverse Neighbor Discovery Solicitation",
        142 => "Inverse Neighbor Discovery Advertisement",
        143 => "Multicast Listener Report v2",
        144 => "Home Agent Address Discovery Request",
        145 => "Home Agent Address Discovery Reply",
        146 => "Mobile Prefix Solicitation",
        147 => "Mobile Prefix Advertisement",
        148 => "Certification Path Solicitation",
        149 => "Certification Path Advertisement",
        151 => "Multicast Router Advertisement",
        152 => "Multicast Router Solicitation",
        153 => "Multicast Router Termination",
        155 => "RPL Control Message",
        160 => "Extended Echo Request",
        161 => "Extended Echo Reply",
        _ => return (None, None),
    };
    let code_name = match (ty, code) {
        (1, 0) => "No Route to Destination",
        (1, 1) => "Communication Administratively Prohibited",
        (1, 2) => "Beyond Scope of Source Address",
        (1, 3) => "Address Unreachable",
        (1, 4) => "Port Unreachable",
        (1, 5) => "Source Address Failed Ingress/Egress Policy",
        (1, 6) => "Reject Route to Destination",
        (1, 7) => "Error in Source Routing Header",
        (3, 0) => "Hop Limit Exceeded in Transit",
        (3, 1) => "Fragment Reassembly Time Exceeded",
        (4, 0) => "Erroneous Header Field",
        (4, 1) => "Unrecognized Next Header",
        (4, 2) => "Unrecognized IPv6 Option",
        (4, 3) => "First Fragment Has Incomplete Header Chain",
        _ => return (Some(name), None),
    };
    (Some(name), Some(code_name))
}
