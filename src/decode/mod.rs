//! Decode: a captured frame in, zero or more [`Packet`]s out.
//!
//! Link-type dispatch (Ethernet, SLL, SLL2, NULL/LOOP, raw IP, PPP, HDLC, NFLOG, PKTAP), VLAN and
//! QinQ tags, MPLS, PPPoE, PBB; IPv4/IPv6 (extension headers and AH walked); fragments handed to
//! the [`defrag`] cache; tunnels (GRE incl. ERSPAN I/II/III and PPP, VXLAN, Geneve, GTP-U,
//! Teredo, IP-in-IP, 6in4) decapsulated so the packet is keyed on its innermost addresses.
//!
//! Invariants: no input can panic this module (every read goes through [`Bytes`]); nothing here
//! reads the clock (fragment timeouts run on frame timestamps); a frame is counted in exactly one
//! outcome counter of [`DecodeStats`].

pub mod config;
pub mod defrag;

use defrag::{DefragOutcome, Defragmenter, FragmentKey};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most nested encapsulations followed before a frame is counted as `tunnel_too_deep`.
const MAX_ENCAP_DEPTH: usize = 8;

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

/// A bounds-checked view of untrusted bytes: every accessor returns `None` past the end.
#[derive(Clone, Copy)]
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    #[inline]
    pub fn u8(&self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    #[inline]
    pub fn u16(&self, at: usize) -> Option<u16> {
        let b = self.0.get(at..at.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    #[inline]
    pub fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    #[inline]
    pub fn from(&self, at: usize) -> Option<&'a [u8]> {
        self.0.get(at..)
    }
    #[inline]
    pub fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.0.get(at..at.checked_add(N)?)?.try_into().ok()
    }
}

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

/// Outcome counters of the decoder; every frame lands in exactly one of the first group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames that produced a packet for the flow table.
    pub decoded: u64,
    /// Frames held as a fragment of a datagram not yet complete.
    pub fragment_held: u64,
    /// Frames without IP (ARP, STP, LLDP, …): nothing to track.
    pub non_ip: u64,
    /// Link types this decoder does not know.
    pub unsupported_linktype: u64,
    /// Frames whose headers are broken or cut before the IP header ended.
    pub malformed: u64,
    /// Fragments the defragmenter refused (cache full, too big, bad geometry).
    pub fragment_dropped: u64,
    /// Encapsulations nested deeper than [`MAX_ENCAP_DEPTH`].
    pub tunnel_too_deep: u64,

    // Informational counters (a frame may count in several).
    pub truncated: u64,
    pub tunnelled: u64,
    pub fragments: u64,
    pub reassembled: u64,
    pub fragment_overlaps: u64,
    pub fragments_timed_out: u64,
    pub fragments_evicted: u64,
}

impl DecodeStats {
    pub fn add(&mut self, o: &DecodeStats) {
        self.decoded += o.decoded;
        self.fragment_held += o.fragment_held;
        self.non_ip += o.non_ip;
        self.unsupported_linktype += o.unsupported_linktype;
        self.malformed += o.malformed;
        self.fragment_dropped += o.fragment_dropped;
        self.tunnel_too_deep += o.tunnel_too_deep;
        self.truncated += o.truncated;
        self.tunnelled += o.tunnelled;
        self.fragments += o.fragments;
        self.reassembled += o.reassembled;
        self.fragment_overlaps += o.fragment_overlaps;
        self.fragments_timed_out += o.fragments_timed_out;
        self.fragments_evicted += o.fragments_evicted;
    }
}

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

/// Per-worker decoder: owns its defragmentation cache.
pub struct Decoder {
    tunnels: TunnelPorts,
    defrag: Option<Defragmenter>,
    pub stats: DecodeStats,
}

/// Where decoding a layer ended.
enum Step<'a> {
    Ether(u16, &'a [u8]),
    Ip(&'a [u8]),
    NonIp,
    Malformed,
}

/// State threaded through nested layers of one frame.
struct Ctx {
    link: LinkInfo,
    tunnel: Option<Tunnel>,
    depth: usize,
    truncated: bool,
}

impl Decoder {
    pub fn new(
        tunnels: TunnelPorts,
        defrag: Option<&config::Defrag>,
        defrag_capacity: usize,
    ) -> Self {
        Decoder {
            tunnels,
            defrag: defrag.filter(|d| d.enabled).map(|d| {
                Defragmenter::new(d.timeout.as_nanos(), defrag_capacity, d.max_datagram_bytes)
            }),
            stats: DecodeStats::default(),
        }
    }

    /// Decodes one frame and hands every packet it yields to `out`.
    pub fn decode(&mut self, frame: &FrameRef<'_>, out: &mut dyn FnMut(&Packet<'_>)) {
        let mut ctx = Ctx {
            link: LinkInfo::default(),
            tunnel: None,
            depth: 0,
            truncated: (frame.data.len() as u64) < u64::from(frame.wire_len),
        };
        if ctx.truncated {
            self.stats.truncated += 1;
        }
        let step = match link_layer(frame.linktype, frame.data, &mut ctx.link) {
            Some(s) => s,
            None => {
                self.stats.unsupported_linktype += 1;
                return;
            }
        };
        // Every path below counts the frame in exactly one outcome counter.
        self.follow(step, frame, &mut ctx, out);
    }

    /// Expires fragments older than the timeout at `now_ns`. Incomplete datagrams are handed out
    /// as port-less packets so their frames still count in a flow.
    pub fn tick(&mut self, now_ns: i64, out: &mut dyn FnMut(&Packet<'_>)) {
        let Some(defrag) = self.defrag.as_mut() else {
            return;
        };
        let stats = &mut self.stats;
        defrag.expire(now_ns, &mut |d| {
            stats.fragments_timed_out += u64::from(d.frames);
            out(&d.as_packet());
        });
    }

    /// Expires every pending datagram (end of input).
    pub fn flush(&mut self, out: &mut dyn FnMut(&Packet<'_>)) {
        self.tick(i64::MAX, out);
    }

    fn follow(
        &mut self,
        step: Step<'_>,
        frame: &FrameRef<'_>,
        ctx: &mut Ctx,
        out: &mut dyn FnMut(&Packet<'_>),
    ) {
        if let Some(ip) = self.reach_ip(step, &mut ctx.link) {
            self.ip_layer(ip, frame, ctx, out);
        }
    }

    /// Walks to the IP header; a frame that has none is counted here (malformed or not IP,
    /// also inside a tunnel, e.g. ARP over VXLAN).
    fn reach_ip<'a>(&mut self, step: Step<'a>, link: &mut LinkInfo) -> Option<&'a [u8]> {
        match to_ip(step, link) {
            Step::Ip(ip) => Some(ip),
            Step::Malformed => {
                self.stats.malformed += 1;
                None
            }
            _ => {
                self.stats.non_ip += 1;
                None
            }
        }
    }

    fn ip_layer(
        &mut self,
        data: &[u8],
        frame: &FrameRef<'_>,
        ctx: &mut Ctx,
        out: &mut dyn FnMut(&Packet<'_>),
    ) -> bool {
        let Some(ip) = parse_ip(data) else {
            self.stats.malformed += 1;
            return false;
        };
        if let Some(frag) = ip.fragment.as_ref() {
            self.stats.fragments += 1;
            let Some(defrag) = self.defrag.as_mut() else {
                // Defragmentation off: only a first fragment can be tracked by ports.
                return self.transport(&ip, ip.payload, frame, 1, frame.wire_len.into(), ctx, out);
            };
            let key = FragmentKey {
                src: ip.src,
                dst: ip.dst,
                proto: ip.proto,
                id: frag.id,
                vlan: ctx.link.vlan,
                tunnel_id: ctx.tunnel.map(|t| t.id).unwrap_or(0),
            };
            let outcome = defrag.insert(
                key,
                frame.ts_ns,
                u64::from(frame.wire_len),
                ctx.truncated,
                frag.offset,
                frag.more,
                ip.payload,
                PacketContext { link: ctx.link, tunnel: ctx.tunnel },
                &mut |d| {
                    // Evicted to make room: its frames still count.
                    out(&d.as_packet());
                },
            );
            return match outcome {
                DefragOutcome::Held { overlap, evicted_frames } => {
                    if overlap {
                        self.stats.fragment_overlaps += 1;
                    }
                    self.stats.fragments_evicted += u64::from(evicted_frames);
                    self.stats.fragment_held += 1;
                    true
                }
                DefragOutcome::Dropped => {
                    self.stats.fragment_dropped += 1;
                    true
                }
                DefragOutcome::Complete(mut d) => {
                    if d.overlaps > 0 {
                        self.stats.fragment_overlaps += u64::from(d.overlaps);
                    }
                    self.stats.reassembled += 1;
                    let payload = std::mem::take(&mut d.data);
                    let (proto, l4) = if d.key.src.is_ipv6() {
                        skip_ipv6_ext(d.key.proto, &payload)
                    } else {
                        (d.key.proto, &payload[..])
                    };
                    let reassembled = IpHeader {
                        proto,
                        src: d.key.src,
                        dst: d.key.dst,
                        fragment: None,
                        payload: l4,
                    };
                    let mut inner = Ctx {
                        link: d.ctx.link,
                        tunnel: d.ctx.tunnel,
                        depth: ctx.depth,
                        truncated: d.truncated,
                    };
                    self.transport(&reassembled, l4, frame, d.frames, d.wire_bytes, &mut inner, out)
                }
            };
        }
        self.transport(&ip, ip.payload, frame, 1, frame.wire_len.into(), ctx, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        ip: &IpHeader<'_>,
        l4: &[u8],
        frame: &FrameRef<'_>,
        frames: u32,
        wire_bytes: u64,
        ctx: &mut Ctx,
        out: &mut dyn FnMut(&Packet<'_>),
    ) -> bool {
        let b = Bytes(l4);
        let mut ports = None;
        let mut tcp = None;
        let mut payload: &[u8] = &[];
        match ip.proto {
            6 => {
                if let Ok(h) = etherparse::TcpHeaderSlice::from_slice(l4) {
                    ports = Some((h.source_port(), h.destination_port()));
                    let flags = b.u8(13).unwrap_or(0);
                    tcp = Some(TcpInfo {
                        flags,
                        seq: h.sequence_number(),
                        ack: h.acknowledgment_number(),
                    });
                    payload = l4.get(h.slice().len()..).unwrap_or(&[]);
                } else if let (Some(s), Some(d)) = (b.u16(0), b.u16(2)) {
                    // Header cut by the snaplen: the ports still place it in its flow.
                    ports = Some((s, d));
                    tcp = b.u8(13).map(|flags| TcpInfo {
                        flags,
                        seq: b.u32(4).unwrap_or(0),
                        ack: b.u32(8).unwrap_or(0),
                    });
                }
            }
            17 => {
                if let (Some(s), Some(d)) = (b.u16(0), b.u16(2)) {
                    ports = Some((s, d));
                    payload = b.from(8).unwrap_or(&[]);
                    let udp_len = b.u16(4).map(usize::from).unwrap_or(0);
                    if udp_len >= 8 && udp_len - 8 < payload.len() {
                        payload = &payload[..udp_len - 8];
                    }
                    if self.tunnels.enabled
                        && ctx.depth < MAX_ENCAP_DEPTH
                        && self.udp_tunnel(ip, s, d, payload, frame, frames, wire_bytes, ctx, out)
                    {
                        return true;
                    }
                }
            }
            132 => {
                if let (Some(s), Some(d)) = (b.u16(0), b.u16(2)) {
                    ports = Some((s, d));
                    payload = b.from(12).unwrap_or(&[]);
                }
            }
            1 | 58 => {
                if let (Some(t), Some(c)) = (b.u8(0), b.u8(1)) {
                    ports = Some((u16::from(t), u16::from(c)));
                    // The whole ICMP message: type, code and checksum included.
                    payload = l4;
                }
            }
            47 if self.tunnels.enabled => {
                if ctx.depth >= MAX_ENCAP_DEPTH {
                    self.stats.tunnel_too_deep += 1;
                    return false;
                }
                if let Some((kind, id, step)) = gre(l4, &mut ctx.link) {
                    return self
                        .enter_tunnel(ip, kind, id, step, frame, frames, wire_bytes, ctx, out);
                }
            }
            4 | 41 if self.tunnels.enabled => {
                if ctx.depth >= MAX_ENCAP_DEPTH {
                    self.stats.tunnel_too_deep += 1;
                    return false;
                }
                if !l4.is_empty() {
                    let step = Step::Ip(l4);
                    return self.enter_tunnel(
                        ip,
                        TunnelKind::IpInIp,
                        0,
                        step,
                        frame,
                        frames,
                        wire_bytes,
                        ctx,
                        out,
                    );
                }
            }
            _ => {}
        }
        // For a reassembled datagram the earlier frames were counted as held; this one completes.
        self.stats.decoded += 1;
        out(&Packet {
            ts_ns: frame.ts_ns,
            frames,
            wire_bytes,
            truncated: ctx.truncated,
            link: ctx.link,
            tunnel: ctx.tunnel,
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            ports,
            tcp,
            payload,
        });
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn udp_tunnel(
        &mut self,
        ip: &IpHeader<'_>,
        sport: u16,
        dport: u16,
        payload: &[u8],
        frame: &FrameRef<'_>,
        frames: u32,
        wire_bytes: u64,
        ctx: &mut Ctx,
        out: &mut dyn FnMut(&Packet<'_>),
    ) -> bool {
        let on = |ports: &[u16]| ports.contains(&dport) || ports.contains(&sport);
        let b = Bytes(payload);
        let found: Option<(TunnelKind, u32, Step<'_>)> = if on(&self.tunnels.vxlan) {
            // VXLAN: flags (I bit 0x08) | reserved | VNI (24) | reserved, then Ethernet.
            match (b.u8(0), b.u32(4), b.from(8)) {
                (Some(f), Some(vni), Some(inner)) if f & 0x08 != 0 && inner.len() >= 14 => {
                    ethernet(inner, &mut ctx.link).map(|s| (TunnelKind::Vxlan, vni >> 8, s))
                }
                _ => None,
            }
        } else if on(&self.tunnels.geneve) {
            // Geneve: ver(2)|optlen(6) | flags | protocol type | VNI(24) | rsvd | options.
            match (b.u8(0), b.u16(2), b.u32(4)) {
                (Some(v), Some(proto), Some(vni)) if v >> 6 == 0 => {
                    let hlen = 8 + usize::from(v & 0x3f) * 4;
                    b.from(hlen).and_then(|inner| {
                        let step = if proto == 0x6558 {
                            ethernet(inner, &mut ctx.link)?
                        } else {
                            ethertype_layer(proto, inner, &mut ctx.link)
                        };
                        Some((TunnelKind::Geneve, vni >> 8, step))
                    })
                }
                _ => None,
            }
        } else if on(&self.tunnels.gtp) {
            gtp_u(payload).map(|(teid, inner)| (TunnelKind::GtpU, teid, Step::Ip(inner)))
        } else if on(&self.tunnels.teredo) {
            teredo(payload).map(|inner| (TunnelKind::Teredo, 0, Step::Ip(inner)))
        } else {
            None
        };
        match found {
            Some((kind, id, step)) => {
                self.enter_tunnel(ip, kind, id, step, frame, frames, wire_bytes, ctx, out)
            }
            None => false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn enter_tunnel(
        &mut self,
        ip: &IpHeader<'_>,
        kind: TunnelKind,
        id: u32,
        step: Step<'_>,
        frame: &FrameRef<'_>,
        frames: u32,
        wire_bytes: u64,
        ctx: &mut Ctx,
        out: &mut dyn FnMut(&Packet<'_>),
    ) -> bool {
        if ctx.depth == 0 {
            self.stats.tunnelled += 1;
        }
        let mut inner = Ctx {
            link: ctx.link,
            tunnel: Some(match ctx.tunnel {
                // Keep the outermost endpoints, the innermost id.
                Some(t) => Tunnel { id, ..t },
                None => Tunnel { kind, outer_src: ip.src, outer_dst: ip.dst, id },
            }),
            depth: ctx.depth + 1,
            truncated: ctx.truncated,
        };
        if let Some(data) = self.reach_ip(step, &mut inner.link) {
            self.inner_ip(data, frame, frames, wire_bytes, &mut inner, out);
        }
        true
    }

    /// IP inside a tunnel: like [`Self::ip_layer`], but a reassembled outer datagram's frame
    /// and byte totals carry over.
    fn inner_ip(
        &mut self,
        data: &[u8],
        frame: &FrameRef<'_>,
        frames: u32,
        wire_bytes: u64,
        ctx: &mut Ctx,
        out: &mut dyn FnMut(&Packet<'_>),
    ) {
        if frames == 1 {
            self.ip_layer(data, frame, ctx, out);
        } else if let Some(ip) = parse_ip(data) {
            self.transport(&ip, ip.payload, frame, frames, wire_bytes, ctx, out);
        } else {
            self.stats.malformed += 1;
        }
    }
}

/// Link-layer context saved with a pending fragment train.
#[derive(Debug, Clone, Copy)]
pub struct PacketContext {
    pub link: LinkInfo,
    pub tunnel: Option<Tunnel>,
}

struct Fragment {
    id: u32,
    offset: usize,
    more: bool,
}

struct IpHeader<'a> {
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    fragment: Option<Fragment>,
    payload: &'a [u8],
}

fn parse_ip(data: &[u8]) -> Option<IpHeader<'_>> {
    match data.first()? >> 4 {
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
        let b = Bytes(payload);
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
    // Walk extension headers: hop-by-hop 0, routing 43, fragment 44, dest-opts 60, AH 51,
    // mobility 135, HIP 139, shim6 140. A bounded walk: at most 16 headers.
    for _ in 0..16 {
        let b = Bytes(rest);
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
        payload: rest,
    })
}

/// Skips IPv6 extension headers at the start of a reassembled payload (the ones after the
/// fragment header). Returns the upper protocol and its bytes.
pub fn skip_ipv6_ext(mut next: u8, mut rest: &[u8]) -> (u8, &[u8]) {
    for _ in 0..16 {
        let b = Bytes(rest);
        let skip = match next {
            0 | 43 | 60 => b.u8(1).map(|l| (usize::from(l) + 1) * 8),
            51 => b.u8(1).map(|l| (usize::from(l) + 2) * 4),
            _ => None,
        };
        match (skip, b.u8(0)) {
            (Some(s), Some(nh)) if s <= rest.len() => {
                rest = &rest[s..];
                next = nh;
            }
            _ => break,
        }
    }
    (next, rest)
}

/// First layer by link type; `None` for a link type this decoder does not know.
fn link_layer<'a>(linktype: u32, data: &'a [u8], link: &mut LinkInfo) -> Option<Step<'a>> {
    let b = Bytes(data);
    Some(match linktype {
        LINKTYPE_ETHERNET => ethernet(data, link).unwrap_or(Step::Malformed),
        LINKTYPE_RAW | LINKTYPE_RAW_OLD | LINKTYPE_RAW_OLD2 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            raw_ip(data)
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => match b.array::<4>(0) {
            Some(f) => {
                // Host byte order of the capturing machine: accept either.
                let family = u32::from_le_bytes(f).min(u32::from_be_bytes(f));
                match family {
                    2 => Step::Ip(&data[4..]),
                    24 | 28 | 30 => Step::Ip(&data[4..]),
                    _ => Step::NonIp,
                }
            }
            None => Step::Malformed,
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
            let hlen = b.array::<4>(0).map(u32::from_le_bytes)? as usize;
            let dlt = b.array::<4>(4).map(u32::from_le_bytes)?;
            if dlt == LINKTYPE_PKTAP {
                return Some(Step::Malformed);
            }
            match data.get(hlen..) {
                Some(rest) if hlen >= 8 => return link_layer(dlt, rest, link),
                _ => Step::Malformed,
            }
        }
        _ => return None,
    })
}

fn raw_ip(data: &[u8]) -> Step<'_> {
    match data.first().map(|v| v >> 4) {
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

fn ppp(proto: u16, rest: &[u8]) -> Step<'_> {
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
    let mut off = 4;
    for _ in 0..64 {
        let Some(tlv) = data.get(off..off + 4) else {
            return Step::Malformed;
        };
        let len = usize::from(u16::from_le_bytes([tlv[0], tlv[1]]));
        let ty = u16::from_le_bytes([tlv[2], tlv[3]]);
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
fn ethernet<'a>(data: &'a [u8], link: &mut LinkInfo) -> Option<Step<'a>> {
    let b = Bytes(data);
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

fn llc(rest: &[u8]) -> Step<'_> {
    let b = Bytes(rest);
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
fn ethertype_layer<'a>(ty: u16, rest: &'a [u8], link: &mut LinkInfo) -> Step<'a> {
    let b = Bytes(rest);
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
        0x8864 => match (b.u16(6), b.from(8)) {
            (Some(p), Some(r)) => ppp(p, r),
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
        let Some(entry) = Bytes(data).u32(off) else {
            return Step::Malformed;
        };
        off += 4;
        if entry & 0x100 != 0 {
            let Some(rest) = data.get(off..) else {
                return Step::Malformed;
            };
            return match rest.first().map(|v| v >> 4) {
                Some(4 | 6) => Step::Ip(rest),
                // Pseudowire control word (0000) then an Ethernet frame.
                Some(0) => match rest.get(4..).and_then(|r| ethernet(r, link)) {
                    Some(s) => s,
                    None => Step::Malformed,
                },
                _ => Step::NonIp,
            };
        }
    }
    Step::Malformed
}

/// GRE (RFC 2784/2890, and PPTP's enhanced GRE), with ERSPAN I/II/III behind it.
fn gre<'a>(data: &'a [u8], link: &mut LinkInfo) -> Option<(TunnelKind, u32, Step<'a>)> {
    let b = Bytes(data);
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
    let r = Bytes(rest);
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
            let p = if r.u8(start)? & 0x01 == 1 {
                // Protocol-field compression: one byte.
                u16::from(r.u8(start)?)
            } else {
                r.u16(start)?
            };
            let plen = if p < 0x100 && r.u8(start)? & 1 == 1 { 1 } else { 2 };
            (TunnelKind::Gre, key, ppp(p, r.from(start + plen)?))
        }
        0x6558 => (TunnelKind::Gre, key, ethernet(rest, link)?),
        other => (TunnelKind::Gre, key, ethertype_layer(other, rest, link)),
    })
}

/// GTPv1-U G-PDU: returns the TEID and the inner IP packet.
fn gtp_u(data: &[u8]) -> Option<(u32, &[u8])> {
    let b = Bytes(data);
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
fn teredo(data: &[u8]) -> Option<&[u8]> {
    let mut rest = data;
    for _ in 0..2 {
        let b = Bytes(rest);
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

/// A symmetric shard key for a frame: both directions of an IP conversation get the same value,
/// and so do all fragments of a datagram (ports are not used). Non-IP frames get 0.
pub fn shard_hash(linktype: u32, data: &[u8]) -> u64 {
    let mut link = LinkInfo::default();
    match link_layer(linktype, data, &mut link).map(|s| to_ip(s, &mut link)) {
        Some(Step::Ip(ip)) => ip_pair_hash(ip),
        _ => 0,
    }
}

/// Follows Ethernet types until an IP header, a non-IP payload or broken bytes.
fn to_ip<'a>(mut step: Step<'a>, link: &mut LinkInfo) -> Step<'a> {
    loop {
        step = match step {
            Step::Ether(t, rest) => ethertype_layer(t, rest, link),
            end => return end,
        }
    }
}

fn ip_pair_hash(ip: &[u8]) -> u64 {
    let b = Bytes(ip);
    let (a, c): (&[u8], &[u8]) = match b.u8(0).map(|v| v >> 4) {
        Some(4) => match (ip.get(12..16), ip.get(16..20)) {
            (Some(s), Some(d)) => (s, d),
            _ => return 0,
        },
        Some(6) => match (ip.get(8..24), ip.get(24..40)) {
            (Some(s), Some(d)) => (s, d),
            _ => return 0,
        },
        _ => return 0,
    };
    let (lo, hi) = if a <= c { (a, c) } else { (c, a) };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in lo.iter().chain(hi.iter()) {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests;
