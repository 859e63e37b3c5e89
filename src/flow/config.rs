//! `wirebeat.flows`: the flow table's section of the configuration and its checks (pure; keys
//! relative to the section).

use crate::units::{Duration, Invalid};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Flows {
    pub enabled: bool,
    /// Interval of periodic reports of active flows; `0s` disables them (final reports only).
    pub period: Duration,
    /// Idle timeout after which a flow is reported final and forgotten.
    pub timeout: Duration,
    /// Per-transport idle timeouts; when unset, `timeout` applies.
    pub tcp_timeout: Option<Duration>,
    pub udp_timeout: Option<Duration>,
    pub icmp_timeout: Option<Duration>,
    /// Most flows held at once across all workers; beyond it the oldest idle flow is evicted
    /// (reported final) and counted.
    pub max_flows: usize,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            enabled: true,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            tcp_timeout: None,
            udp_timeout: None,
            icmp_timeout: None,
            max_flows: 1_000_000,
        }
    }
}

impl Flows {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::positive("timeout", !self.timeout.0.is_zero())?;
        for (name, t) in [
            ("tcp_timeout", self.tcp_timeout),
            ("udp_timeout", self.udp_timeout),
            ("icmp_timeout", self.icmp_timeout),
        ] {
            if let Some(t) = t {
                Invalid::positive(name, !t.0.is_zero())?;
            }
        }
        Invalid::positive("max_flows", self.max_flows > 0)
    }
}
