//! Decode: a captured frame in, zero or more [`Packet`]s out.
//!
//! The layers, in the order a frame meets them, each in its own file:
//! - `link`: link-type dispatch (Ethernet, SLL, SLL2, NULL/LOOP, raw IP, PPP,
//!   HDLC, NFLOG, FDDI, IPoIB, PKTAP) and the Ethernet-type walk (VLAN and QinQ tags, MPLS,
//!   PPPoE, PBB, LLC/SNAP);
//! - `ip`: IPv4/IPv6, extension headers and AH walked; fragments go to the [`defrag`] cache;
//! - `transport`: ports, TCP flags, payload;
//! - `tunnel`: GRE (incl. ERSPAN I/II/III and PPP), VXLAN, Geneve, GTP-U, Teredo, IP-in-IP and
//!   6in4, decapsulated so the packet is keyed on its innermost addresses;
//! - `packet`: the types handed on ([`FrameRef`], [`Packet`], [`Tunnel`], …); `hash`: the
//!   [`shard_hash`] that picks a frame's worker.
//!
//! This file holds the [`Decoder`], which walks those layers for one frame and counts it.
//!
//! Invariants: no input can panic this module (every read of packet bytes goes through
//! [`crate::bytes::View`], nothing indexes them unchecked); nothing here reads the clock
//! (fragment timeouts run on frame timestamps); a frame is counted in exactly one outcome counter
//! of [`DecodeStats`]; nesting is bounded by `MAX_ENCAP_DEPTH`, header walks by fixed counts.

pub mod config;
pub mod defrag;
mod hash;
mod ip;
mod link;
mod packet;
mod transport;
mod tunnel;

pub use hash::shard_hash;
pub use ip::skip_ipv6_ext;
pub use link::{
    LINKTYPE_C_HDLC, LINKTYPE_ETHERNET, LINKTYPE_FDDI, LINKTYPE_IPOIB, LINKTYPE_IPV4,
    LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP, LINKTYPE_NFLOG,
    LINKTYPE_NULL, LINKTYPE_PKTAP, LINKTYPE_PPP, LINKTYPE_PPP_ETHER, LINKTYPE_PPP_HDLC,
    LINKTYPE_RAW, LINKTYPE_RAW_OLD, LINKTYPE_RAW_OLD2,
};
pub use packet::{
    Fragmented, FrameRef, LinkInfo, Packet, PacketContext, TcpInfo, Tunnel, TunnelKind, TCP_ACK,
    TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG,
};
pub use tunnel::TunnelPorts;

use defrag::{DefragOutcome, Defragmenter, FragmentKey};
use ip::{parse_ip, IpHeader};
use link::{link_layer, to_ip, Step};

/// Most nested encapsulations followed before a frame is counted as `tunnel_too_deep`.
const MAX_ENCAP_DEPTH: usize = 8;

crate::stats::local_counters! {
    /// Counters of the decoder. Every frame lands in exactly one outcome of the first group,
    /// once it has one: a fragment waits in the defragmenter (`Defragmenter::frames_pending`)
    /// until its datagram completes, expires or is evicted, and then every frame of the
    /// datagram counts in the datagram's outcome (a datagram of N frames decoded counts N).
    pub struct DecodeStats {
        /// Frames that reached the flow table as (part of) a packet.
        decoded => decoded,
        /// Frames without IP (ARP, STP, LLDP, …): nothing to track.
        non_ip => non_ip,
        /// Link types this decoder does not know.
        unsupported_linktype => unsupported_linktype,
        /// Frames whose headers are broken or cut before the IP header ended.
        malformed => malformed,
        /// Encapsulations nested deeper than [`MAX_ENCAP_DEPTH`].
        tunnel_too_deep => tunnel_too_deep,
        /// Fragments placed in no datagram.
        fragment_lost => fragment_lost,

        // Informational counters (a frame may count in several, besides its outcome).
        /// Fragments put on hold for reassembly.
        fragment_held => fragment_held,
        /// Fragments whose bytes the defragmenter refused (cache limits, too big, bad
        /// geometry); their frames still count through their datagram.
        fragment_dropped => fragment_dropped,
        truncated => truncated,
        tunnelled => tunnelled,
        fragments => fragments,
        reassembled => reassembled,
        fragment_overlaps => fragment_overlaps,
        fragments_timed_out => fragments_timed_out,
        fragments_evicted => fragments_evicted,
        /// Fragments whose bytes were all held already (not stored; their frames still count).
        fragment_duplicates => fragment_duplicates,
    }
}

/// Per-worker decoder: owns its defragmentation cache.
pub struct Decoder {
    tunnels: TunnelPorts,
    defrag: Option<Defragmenter>,
    pub stats: DecodeStats,
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
            stats.decoded += u64::from(d.frames);
            out(&d.as_packet());
        });
    }

    /// Frames held for reassembly now (they have no outcome yet).
    pub fn frames_pending(&self) -> u64 {
        self.defrag.as_ref().map_or(0, Defragmenter::frames_pending)
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
        if let Some(ip) = self.reach_ip(step, &mut ctx.link, 1) {
            self.ip_layer(ip, frame, ctx, out);
        }
    }

    /// Walks to the IP header; the `frames` of a packet that has none are counted here
    /// (malformed or not IP, also inside a tunnel, e.g. ARP over VXLAN).
    fn reach_ip<'a>(
        &mut self,
        step: Step<'a>,
        link: &mut LinkInfo,
        frames: u32,
    ) -> Option<&'a [u8]> {
        match to_ip(step, link) {
            Step::Ip(ip) => Some(ip),
            Step::Malformed => {
                self.stats.malformed += u64::from(frames);
                None
            }
            _ => {
                self.stats.non_ip += u64::from(frames);
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
            let stats = &mut self.stats;
            let outcome = defrag.insert(
                key,
                frame.ts_ns,
                u64::from(frame.wire_len),
                ctx.truncated,
                frag.offset,
                frag.more,
                ip.payload,
                PacketContext { link: ctx.link, tunnel: ctx.tunnel, ext_headers: ip.ext_headers },
                &mut |d| {
                    // Evicted to make room: its frames still count.
                    stats.decoded += u64::from(d.frames);
                    out(&d.as_packet());
                },
            );
            return match outcome {
                DefragOutcome::Held { overlap, duplicate, evicted_frames } => {
                    if overlap {
                        self.stats.fragment_overlaps += 1;
                    }
                    self.stats.fragment_duplicates += u64::from(duplicate);
                    self.stats.fragments_evicted += u64::from(evicted_frames);
                    self.stats.fragment_held += 1;
                    true
                }
                DefragOutcome::Dropped => {
                    self.stats.fragment_dropped += 1;
                    true
                }
                DefragOutcome::Lost => {
                    self.stats.fragment_lost += 1;
                    false
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
                        ext_headers: d.ctx.ext_headers,
                        reassembled: true,
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

    /// The transport header, or a tunnel behind it (GRE, IP-in-IP, a UDP tunnel port).
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
        let t = transport::parse(ip.proto, l4);
        if self.tunnels.enabled {
            match ip.proto {
                17 => {
                    if let Some((sport, dport)) = t.ports {
                        if ctx.depth < MAX_ENCAP_DEPTH {
                            if let Some((kind, id, step)) =
                                tunnel::udp(&self.tunnels, sport, dport, t.payload, &mut ctx.link)
                            {
                                return self.enter_tunnel(
                                    ip, kind, id, step, frame, frames, wire_bytes, ctx, out,
                                );
                            }
                        }
                    }
                }
                47 => {
                    if ctx.depth >= MAX_ENCAP_DEPTH {
                        self.stats.tunnel_too_deep += u64::from(frames);
                        return false;
                    }
                    if let Some((kind, id, step)) = tunnel::gre(l4, &mut ctx.link) {
                        return self
                            .enter_tunnel(ip, kind, id, step, frame, frames, wire_bytes, ctx, out);
                    }
                }
                4 | 41 => {
                    if ctx.depth >= MAX_ENCAP_DEPTH {
                        self.stats.tunnel_too_deep += u64::from(frames);
                        return false;
                    }
                    if !l4.is_empty() {
                        let (kind, step) = (TunnelKind::IpInIp, Step::Ip(l4));
                        return self
                            .enter_tunnel(ip, kind, 0, step, frame, frames, wire_bytes, ctx, out);
                    }
                }
                _ => {}
            }
        }
        // A reassembled datagram counts all its frames here (they had no outcome while held).
        self.stats.decoded += u64::from(frames);
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
            ports: t.ports,
            tcp: t.tcp,
            payload: t.payload,
            fragmented: if ip.reassembled { Fragmented::Reassembled } else { Fragmented::No },
            ext_headers: ip.ext_headers,
        });
        true
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
        if let Some(data) = self.reach_ip(step, &mut inner.link, frames) {
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
            self.stats.malformed += u64::from(frames);
        }
    }
}

#[cfg(test)]
mod tests;
