//! What decode hands on: the frame it receives ([`FrameRef`]) and the packets it yields
//! ([`Packet`], with its link, tunnel and TCP context).
//!
//! Plain data, no parsing: the flow table, the defragmenter and the ECS events read these types,
//! so they live apart from the layers that fill them. A [`Packet`] borrows its payload from the
//! frame (or from a reassembled datagram) and never outlives the `decode` call that made it.

use std::net::IpAddr;

/// The kind of encapsulation a packet was carried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    Gre,
    Erspan,
    Vxlan,
    Geneve,
    GtpU,
    Teredo,
    IpInIp,
}

impl TunnelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::GtpU => "gtp-u",
            TunnelKind::Teredo => "teredo",
            TunnelKind::IpInIp => "ip-in-ip",
        }
    }
}

/// The outermost tunnel a packet came through (the outer endpoints are kept on the event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub outer_src: IpAddr,
    pub outer_dst: IpAddr,
    /// VNI, GRE key, TEID or ERSPAN session id of the innermost tunnel; 0 when it has none.
    pub id: u32,
}

/// Link-layer context collected on the way in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkInfo {
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// Outer (S-tag or single) and inner VLAN id.
    pub vlan: [Option<u16>; 2],
}

/// One decoded IP packet (or reassembled datagram), as the flow table sees it.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    /// Timestamp of the frame that completed it.
    pub ts_ns: i64,
    /// Frames it consists of (more than one for a reassembled datagram).
    pub frames: u32,
    /// Sum of the frames' wire lengths.
    pub wire_bytes: u64,
    /// A frame of it was cut short by the snaplen.
    pub truncated: bool,
    pub link: LinkInfo,
    pub tunnel: Option<Tunnel>,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Upper-layer protocol after extension headers.
    pub proto: u8,
    /// Ports for TCP/UDP/SCTP; ICMP type and code for ICMP/ICMPv6; absent otherwise.
    pub ports: Option<(u16, u16)>,
    pub tcp: Option<TcpInfo>,
    /// Transport payload as captured (may be shorter than on the wire); for ICMP the whole
    /// ICMP message.
    pub payload: &'a [u8],
    /// Whether it came from IP fragments (for the flood detector's fragment floods).
    pub fragmented: Fragmented,
    /// IPv6 extension headers in front of the transport (a fragment header not counted; for a
    /// datagram from fragments, those of its first-seen fragment); 0 for IPv4.
    pub ext_headers: u8,
}

/// Whether a packet came from IP fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fragmented {
    #[default]
    No,
    /// Reassembled from its fragments.
    Reassembled,
    /// A datagram whose fragments never all arrived (timed out or evicted), handed on
    /// port-less so its frames still count.
    Incomplete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;
pub const TCP_URG: u8 = 0x20;
pub const TCP_ECE: u8 = 0x40;
pub const TCP_CWR: u8 = 0x80;

/// A frame as the decoder receives it.
#[derive(Debug, Clone, Copy)]
pub struct FrameRef<'a> {
    pub ts_ns: i64,
    pub wire_len: u32,
    pub linktype: u32,
    pub data: &'a [u8],
}

/// Link-layer context saved with a pending fragment train.
#[derive(Debug, Clone, Copy)]
pub struct PacketContext {
    pub link: LinkInfo,
    pub tunnel: Option<Tunnel>,
    /// IPv6 extension headers of the fragment (see [`Packet::ext_headers`]).
    pub ext_headers: u8,
}
