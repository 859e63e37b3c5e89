//! Live capture: one or more interfaces, polled by one capture thread, through libpcap or
//! (`type: af_packet`) wirebeat's own TPACKET_V3 rings in [`super::af_packet`].
//!
//! Handles are non-blocking (a blocking read with a timeout may never return on an idle
//! interface); the capture loop polls every handle and sleeps briefly when all are idle, so it
//! can also tick the pipeline's clock and notice a stop request.
//!
//! Defaults (tcpdump's, which loses nothing on bursts where wirebeat used to): no immediate
//! mode, so libpcap uses the kernel's TPACKET_V3 ring, where frames are packed by their
//! captured size; immediate mode gives every frame a fixed slot of `snaplen` bytes, and 32 MiB
//! of 64 KiB slots held ~500 frames (a 10,000-frame burst lost 1,555 to the kernel). Blocks of
//! the ring are handed over when full or after [`BLOCK_TIMEOUT_MS`], which bounds the latency.

use super::af_packet::{self, Ring};
use super::config::{CaptureType, Interface};
use pcap::{Active, Capture};

/// Longest wait before a partly filled ring block reaches wirebeat (libpcap's timeout).
pub const BLOCK_TIMEOUT_MS: i32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("interface {name:?}: {message}")]
    Open { name: String, message: String },
    #[error("interface {name:?}: invalid BPF filter {filter:?}: {message}")]
    Filter { name: String, filter: String, message: String },
    #[error("interface {name:?}: capture failed: {message}")]
    Read { name: String, message: String },
}

/// Receives (timestamp ns, wire length, link type, bytes) of each captured frame.
pub type FrameSink<'a> = dyn FnMut(i64, u32, u32, &[u8]) + 'a;

pub struct LiveInterface {
    pub name: String,
    pub linktype: u32,
    pub snaplen: u32,
    source: Source,
}

enum Source {
    Pcap(Capture<Active>),
    /// AF_PACKET sockets (one, or a fanout group), read in turn.
    Rings(Vec<Ring>),
}

/// Kernel/libpcap counters of one interface (cumulative since open).
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveStats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

impl LiveInterface {
    /// Opens the interface; `sockets` is the number of AF_PACKET sockets of a fanout group
    /// (the workers), used with `type: af_packet` and `fanout`.
    pub fn open(cfg: &Interface, sockets: usize) -> Result<Self, LiveError> {
        match cfg.kind {
            CaptureType::Pcap => Self::open_pcap(cfg),
            CaptureType::AfPacket => Self::open_af_packet(cfg, sockets),
        }
    }

    fn open_af_packet(cfg: &Interface, sockets: usize) -> Result<Self, LiveError> {
        let name = cfg.name.clone();
        let open_err = |message: String| LiveError::Open { name: name.clone(), message };
        let (ifindex, linktype) =
            af_packet::interface_info(&name).map_err(|e| open_err(e.to_string()))?;
        let snaplen = u32::try_from(cfg.snaplen).unwrap_or(65535);
        let filter = if cfg.bpf_filter.trim().is_empty() {
            Vec::new()
        } else {
            af_packet::compile_filter(&cfg.bpf_filter, linktype, snaplen).map_err(|message| {
                LiveError::Filter { name: name.clone(), filter: cfg.bpf_filter.clone(), message }
            })?
        };
        let n = if cfg.fanout { sockets.max(1) } else { 1 };
        // A group id of this process and interface (ids are per network namespace).
        let group =
            (std::process::id().wrapping_mul(31).wrapping_add(ifindex as u32) & 0xffff) as u16;
        let mut rings = Vec::with_capacity(n);
        for _ in 0..n {
            let fanout = (n > 1).then_some(group);
            let ring = Ring::open(ifindex, linktype, cfg.ring_spec(), &filter, fanout)
                .map_err(|e| open_err(e.to_string()))?;
            rings.push(ring);
        }
        Ok(LiveInterface { name, linktype, snaplen, source: Source::Rings(rings) })
    }

    fn open_pcap(cfg: &Interface) -> Result<Self, LiveError> {
        let name = cfg.name.clone();
        let open_err =
            |e: pcap::Error| LiveError::Open { name: name.clone(), message: e.to_string() };
        // Name check first: libpcap's own message for a missing device is not always clear.
        let devices = pcap::Device::list().map_err(open_err)?;
        if name != "any" && !devices.iter().any(|d| d.name == name) {
            let known: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
            return Err(LiveError::Open {
                name,
                message: format!("no such interface (available: {})", known.join(", ")),
            });
        }
        let inactive = Capture::from_device(name.as_str())
            .map_err(open_err)?
            .promisc(cfg.promiscuous)
            .snaplen(cfg.snaplen)
            .buffer_size(cfg.buffer_size_mb.saturating_mul(1 << 20))
            .immediate_mode(false)
            .timeout(BLOCK_TIMEOUT_MS);
        let mut cap = inactive.open().map_err(open_err)?;
        if !cfg.bpf_filter.trim().is_empty() {
            cap.filter(&cfg.bpf_filter, true).map_err(|e| LiveError::Filter {
                name: name.clone(),
                filter: cfg.bpf_filter.clone(),
                message: e.to_string(),
            })?;
        }
        let cap = cap.setnonblock().map_err(open_err)?;
        let linktype = cap.get_datalink().0 as u32;
        let snaplen = u32::try_from(cfg.snaplen).unwrap_or(65535);
        Ok(LiveInterface { name, linktype, snaplen, source: Source::Pcap(cap) })
    }

    /// Reads about `max` frames without blocking (a ring hands out whole blocks); returns how
    /// many were handed to `f`.
    pub fn poll(&mut self, max: usize, f: &mut FrameSink<'_>) -> Result<usize, LiveError> {
        let cap = match &mut self.source {
            Source::Pcap(cap) => cap,
            Source::Rings(rings) => {
                let each = max.div_ceil(rings.len().max(1));
                return Ok(rings.iter_mut().map(|r| r.poll(each, f)).sum());
            }
        };
        let mut n = 0;
        while n < max {
            match cap.next_packet() {
                Ok(p) => {
                    let ts = p.header.ts;
                    let ts_ns = ts.tv_sec * 1_000_000_000 + ts.tv_usec * 1000;
                    f(ts_ns, p.header.len, self.linktype, p.data);
                    n += 1;
                }
                Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => break,
                Err(e) => {
                    return Err(LiveError::Read { name: self.name.clone(), message: e.to_string() })
                }
            }
        }
        Ok(n)
    }

    /// The counters of each socket (libpcap: one), cumulative since open.
    pub fn socket_stats(&mut self) -> Vec<LiveStats> {
        match &mut self.source {
            Source::Pcap(cap) => cap
                .stats()
                .ok()
                .map(|s| LiveStats {
                    received: u64::from(s.received),
                    dropped: u64::from(s.dropped),
                    if_dropped: u64::from(s.if_dropped),
                })
                .into_iter()
                .collect(),
            Source::Rings(rings) => rings.iter_mut().map(Ring::stats).collect(),
        }
    }

    /// The interface's counters (the sum over its sockets).
    pub fn stats(&mut self) -> Option<LiveStats> {
        let all = self.socket_stats();
        (!all.is_empty()).then(|| {
            all.iter().fold(LiveStats::default(), |a, s| LiveStats {
                received: a.received + s.received,
                dropped: a.dropped + s.dropped,
                if_dropped: a.if_dropped + s.if_dropped,
            })
        })
    }
}

/// Checks a BPF filter without opening an interface (for `test config`).
pub fn check_filter(filter: &str, linktype: i32, snaplen: i32) -> Result<(), String> {
    if filter.trim().is_empty() {
        return Ok(());
    }
    let dead = Capture::dead_with_precision(pcap::Linktype(linktype), pcap::Precision::Micro)
        .map_err(|e| e.to_string())?;
    let _ = snaplen;
    dead.compile(filter, true).map(|_| ()).map_err(|e| e.to_string())
}
