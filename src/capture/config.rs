//! `wirebeat.interfaces[]`: one live capture interface, and its checks (pure; keys relative to
//! the list item), apart from the BPF filter's, which libpcap compiles without a device.

use crate::units::Invalid;
use serde::{Deserialize, Serialize};

/// Smallest and largest accepted `snaplen`.
pub const SNAPLEN_RANGE: std::ops::RangeInclusive<i32> = 64..=262_144;

/// Smallest and largest `buffer_size_mb`: libpcap takes the kernel buffer size as an `int` of
/// bytes, so 2048 MiB and more would overflow it.
pub const BUFFER_SIZE_MB_RANGE: std::ops::RangeInclusive<i32> = 1..=2047;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Interface {
    /// Interface name, or `any`.
    pub name: String,
    /// BPF filter expression (tcpdump syntax); empty = everything.
    pub bpf_filter: String,
    pub snaplen: i32,
    pub promiscuous: bool,
    /// Kernel buffer size in MiB (with `af_packet`: the ring of each socket).
    pub buffer_size_mb: i32,
    /// How frames are read: libpcap, or wirebeat's own AF_PACKET TPACKET_V3 ring.
    #[serde(rename = "type")]
    pub kind: CaptureType,
    /// `af_packet`: bytes of one ring block, in KiB (a power of two, at least the snaplen).
    pub block_size_kb: u32,
    /// `af_packet`: longest wait before a partly filled block is handed over, in ms.
    pub block_timeout_ms: u32,
    /// `af_packet`: one socket per worker in a PACKET_FANOUT group (hash),
    /// each with its own ring and drop counter; `false` is one socket.
    pub fanout: bool,
}

/// `wirebeat.interfaces[].type`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaptureType {
    /// libpcap (which itself uses a TPACKET_V3 ring on Linux); the only type for `any`.
    #[default]
    Pcap,
    /// AF_PACKET TPACKET_V3 read in place, optionally fanned out over several sockets.
    AfPacket,
}

/// Accepted `block_size_kb` (powers of two in between).
pub const BLOCK_SIZE_KB_RANGE: std::ops::RangeInclusive<u32> = 4..=4096;
/// Accepted `block_timeout_ms`.
pub const BLOCK_TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u32> = 1..=10_000;

impl Default for Interface {
    fn default() -> Self {
        Interface {
            name: String::new(),
            bpf_filter: String::new(),
            snaplen: 65535,
            promiscuous: true,
            buffer_size_mb: 32,
            kind: CaptureType::Pcap,
            block_size_kb: 1024,
            block_timeout_ms: super::live::BLOCK_TIMEOUT_MS as u32,
            fanout: true,
        }
    }
}

impl Interface {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return Err(Invalid::new("name", "must not be empty (an interface name, or \"any\")"));
        }
        if !SNAPLEN_RANGE.contains(&self.snaplen) {
            return Err(Invalid::new(
                "snaplen",
                format!(
                    "must be between {} and {}, got {}",
                    SNAPLEN_RANGE.start(),
                    SNAPLEN_RANGE.end(),
                    self.snaplen
                ),
            ));
        }
        Invalid::in_range("buffer_size_mb", self.buffer_size_mb, BUFFER_SIZE_MB_RANGE)?;
        Invalid::in_range("block_timeout_ms", self.block_timeout_ms, BLOCK_TIMEOUT_MS_RANGE)?;
        Invalid::in_range("block_size_kb", self.block_size_kb, BLOCK_SIZE_KB_RANGE)?;
        if !self.block_size_kb.is_power_of_two() {
            return Err(Invalid::new(
                "block_size_kb",
                format!("must be a power of two (4, 8, … 4096), got {}", self.block_size_kb),
            ));
        }
        // A frame with its 48-byte ring header must fit in one block.
        if self.kind == CaptureType::AfPacket
            && u64::from(self.block_size_kb) * 1024 < self.snaplen as u64 + 128
        {
            return Err(Invalid::new(
                "block_size_kb",
                format!(
                    "a block of {} KiB cannot hold a frame of snaplen {}: raise block_size_kb or lower snaplen",
                    self.block_size_kb, self.snaplen
                ),
            ));
        }
        if self.kind == CaptureType::AfPacket && self.name == "any" {
            return Err(Invalid::new(
                "type",
                "af_packet captures on one interface, not \"any\" (use type: pcap for any)",
            ));
        }
        if self.kind == CaptureType::AfPacket
            && (self.buffer_size_mb as u64) * 1024 < 2 * u64::from(self.block_size_kb)
        {
            return Err(Invalid::new(
                "buffer_size_mb",
                "the ring must hold at least two blocks of block_size_kb",
            ));
        }
        Ok(())
    }

    /// The AF_PACKET ring of one socket.
    pub fn ring_spec(&self) -> crate::capture::af_packet::RingSpec {
        let block = self.block_size_kb.saturating_mul(1024);
        let ring = (self.buffer_size_mb.max(1) as u64) << 20;
        crate::capture::af_packet::RingSpec {
            block_size: block,
            block_nr: (ring / u64::from(block)).max(2) as u32,
            block_timeout_ms: self.block_timeout_ms,
            snaplen: u32::try_from(self.snaplen).unwrap_or(65535),
            promiscuous: self.promiscuous,
        }
    }

    /// Compiles the BPF filter with libpcap, without a device (not pure, so not part of
    /// [`Interface::validate`]: the configuration loader runs it for the CLI). A filter valid on
    /// any usual link type passes; the device decides when it opens.
    pub fn check_filter(&self) -> Result<(), Invalid> {
        check_filter_any_link(&self.bpf_filter, self.snaplen).map_err(|e| {
            Invalid::new("bpf_filter", format!("invalid BPF filter {:?}: {e}", self.bpf_filter))
        })
    }
}

/// Link types a filter is tried on: Ethernet first (its error is the one reported), then
/// Linux cooked (`any`), raw IP and 802.11 with radiotap (filters such as `wlan host …`).
const FILTER_LINK_TYPES: [i32; 4] = [1, 113, 101, 127];

fn check_filter_any_link(filter: &str, snaplen: i32) -> Result<(), String> {
    let mut first = Ok(());
    for linktype in FILTER_LINK_TYPES {
        match super::live::check_filter(filter, linktype, snaplen) {
            Ok(()) => return Ok(()),
            Err(e) if first.is_ok() => first = Err(e),
            Err(_) => {}
        }
    }
    first
}
