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
    /// Kernel buffer size in MiB.
    pub buffer_size_mb: i32,
}

impl Default for Interface {
    fn default() -> Self {
        Interface {
            name: String::new(),
            bpf_filter: String::new(),
            snaplen: 65535,
            promiscuous: true,
            buffer_size_mb: 32,
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
        Invalid::in_range("buffer_size_mb", self.buffer_size_mb, BUFFER_SIZE_MB_RANGE)
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
