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
    /// Per-flow statistics for machine learning (`network_traffic.flow.stats.*` on final
    /// reports: packet lengths, inter-arrival times, TCP flag counts, active/idle periods).
    pub statistics: bool,
    /// With `statistics`: a gap between packets longer than this ends an active period
    /// (CICFlowMeter's activity timeout).
    pub activity_timeout: Duration,
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
            statistics: false,
            activity_timeout: Duration::from_secs(5),
        }
    }
}

/// Shortest and longest flow idle timeouts: the packet clock adds them to nanosecond
/// timestamps, and a flow idle for a week is not one flow any more (sub-millisecond timeouts
/// are allowed: tests and replays at packet speed use them).
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<Duration> =
    Duration(std::time::Duration::from_micros(1))..=Duration::from_secs(7 * 86_400);

/// `flows.period` when not `0s` (final reports only): under a second is a report flood, over a
/// day is no periodic report.
pub const PERIOD_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);

/// Most `flows.max_flows`: a flow holds about 1 KB before any protocol state, so ten million
/// is already around 10 GB.
pub const MAX_FLOWS: usize = 10_000_000;

impl Flows {
    pub fn validate(&self) -> Result<(), Invalid> {
        Invalid::duration_in("period", self.period, PERIOD_RANGE, Some("final reports only"))?;
        Invalid::positive("timeout", !self.timeout.0.is_zero())?;
        Invalid::duration_in("timeout", self.timeout, TIMEOUT_RANGE, None)?;
        for (name, t) in [
            ("tcp_timeout", self.tcp_timeout),
            ("udp_timeout", self.udp_timeout),
            ("icmp_timeout", self.icmp_timeout),
        ] {
            if let Some(t) = t {
                Invalid::positive(name, !t.0.is_zero())?;
                Invalid::duration_in(name, t, TIMEOUT_RANGE, None)?;
            }
        }
        Invalid::positive("activity_timeout", !self.activity_timeout.0.is_zero())?;
        Invalid::duration_in("activity_timeout", self.activity_timeout, TIMEOUT_RANGE, None)?;
        Invalid::positive("max_flows", self.max_flows > 0)?;
        Invalid::in_range("max_flows", self.max_flows, 1..=MAX_FLOWS)
    }
}
