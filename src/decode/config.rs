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

impl Defrag {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::positive("timeout", !self.timeout.0.is_zero())?;
        Invalid::positive("max_datagrams", self.max_datagrams > 0)?;
        Invalid::positive("max_datagram_bytes", self.max_datagram_bytes > 0)
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
