//! `wirebeat.defrag` and `wirebeat.tunnels`: the decoder's sections of the configuration and
//! their checks (pure; keys relative to the section).

use crate::units::{Duration, Invalid};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Defrag {
    pub enabled: bool,
    /// A datagram not complete this long after its first fragment is dropped (counted).
    pub timeout: Duration,
    /// Most datagrams under reassembly at once (across workers).
    pub max_datagrams: usize,
    /// Largest reassembled datagram in bytes.
    pub max_datagram_bytes: usize,
}

impl Default for Defrag {
    fn default() -> Self {
        Defrag {
            enabled: true,
            timeout: Duration::from_secs(30),
            max_datagrams: 65_536,
            max_datagram_bytes: 65_535 + 40,
        }
    }
}

/// Longest `defrag.timeout`: hosts give up on a datagram after 60 s (RFC 791 suggests at most
/// 2 min); holding fragments for an hour only feeds a fragment flood.
pub const MAX_DEFRAG_TIMEOUT: Duration = Duration::from_secs(3600);

/// Most `defrag.max_datagrams`: each may hold up to `max_datagram_bytes`, so 1,048,576 of the
/// default size is already 64 GiB.
pub const MAX_DATAGRAMS: usize = 1 << 20;

/// Largest `defrag.max_datagram_bytes`: no IP datagram that fragments can be bigger (an IPv6
/// payload of 65,535 bytes plus its 40-byte header).
pub const MAX_DATAGRAM_BYTES: usize = 65_535 + 40;

impl Defrag {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::positive("timeout", !self.timeout.0.is_zero())?;
        Invalid::duration_in(
            "timeout",
            self.timeout,
            Duration(std::time::Duration::from_millis(1))..=MAX_DEFRAG_TIMEOUT,
            None,
        )?;
        Invalid::positive("max_datagrams", self.max_datagrams > 0)?;
        Invalid::in_range("max_datagrams", self.max_datagrams, 1..=MAX_DATAGRAMS)?;
        Invalid::positive("max_datagram_bytes", self.max_datagram_bytes > 0)?;
        Invalid::in_range("max_datagram_bytes", self.max_datagram_bytes, 1..=MAX_DATAGRAM_BYTES)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tunnels {
    pub enabled: bool,
    pub vxlan_ports: Vec<u16>,
    pub geneve_ports: Vec<u16>,
    pub gtp_ports: Vec<u16>,
    pub teredo_ports: Vec<u16>,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels {
            enabled: true,
            vxlan_ports: vec![4789, 8472],
            geneve_ports: vec![6081],
            gtp_ports: vec![2152],
            teredo_ports: vec![3544],
        }
    }
}

impl Tunnels {
    /// Ports are UDP destination ports: 0 is never one.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (name, ports) in [
            ("vxlan_ports", &self.vxlan_ports),
            ("geneve_ports", &self.geneve_ports),
            ("gtp_ports", &self.gtp_ports),
            ("teredo_ports", &self.teredo_ports),
        ] {
            if let Some(i) = ports.iter().position(|p| *p == 0) {
                return Err(Invalid::new(
                    format!("{name}[{i}]"),
                    "must be between 1 and 65535, got 0",
                ));
            }
        }
        Ok(())
    }
}
