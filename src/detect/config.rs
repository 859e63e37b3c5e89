//! `wirebeat.detect`: the detection section of the configuration and its checks (pure; keys
//! relative to the section).
//!
//! Every detector has the same five keys, declared with [`detector_section!`] so none can be
//! forgotten: `enabled`, `window` (the evidence window, on packet time), `thresholds` (the
//! detector's own numbers), `allow_sources` / `allow_destinations` (addresses or CIDRs it never
//! alerts on: the vulnerability scanner, the monitoring host, the DNS resolvers) and
//! `max_tracked` (the named limit of its state; a key refused when full is counted).

use crate::units::{Duration, Invalid};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::str::FromStr;

/// Shortest and longest evidence window.
pub const WINDOW_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);
/// Most entries one detector may track.
pub const MAX_TRACKED: usize = 10_000_000;

/// Declares `pub struct Config` of a detector: the five common keys, with the detector's
/// default window (seconds) and `max_tracked`, around its own `Thresholds` type (which has
/// `Default` and `fn validate(&self) -> Result<(), Invalid>`).
macro_rules! detector_section {
    ($window_secs:expr, $max_tracked:expr) => {
        #[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct Config {
            pub enabled: bool,
            /// Evidence window on packet time.
            pub window: $crate::units::Duration,
            pub thresholds: Thresholds,
            /// Sources never alerted on (addresses or CIDRs).
            pub allow_sources: Vec<String>,
            /// Targets never alerted on (addresses or CIDRs).
            pub allow_destinations: Vec<String>,
            /// Most entries of state; new keys beyond it are refused and counted.
            pub max_tracked: usize,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    enabled: true,
                    window: $crate::units::Duration::from_secs($window_secs),
                    thresholds: Thresholds::default(),
                    allow_sources: Vec::new(),
                    allow_destinations: Vec::new(),
                    max_tracked: $max_tracked,
                }
            }
        }

        impl Config {
            pub fn validate(&self) -> Result<(), $crate::units::Invalid> {
                $crate::detect::config::validate_common(
                    self.window,
                    &self.allow_sources,
                    &self.allow_destinations,
                    self.max_tracked,
                )?;
                self.thresholds.validate().map_err(|e| e.under("thresholds"))
            }

            /// The window, limit and allow lists, resolved (validated before).
            pub fn scope(&self) -> $crate::detect::config::Scope {
                $crate::detect::config::Scope::new(
                    self.window,
                    &self.allow_sources,
                    &self.allow_destinations,
                    self.max_tracked,
                )
            }
        }
    };
}
pub(crate) use detector_section;

pub fn validate_common(
    window: Duration,
    allow_sources: &[String],
    allow_destinations: &[String],
    max_tracked: usize,
) -> Result<(), Invalid> {
    Invalid::duration_in("window", window, WINDOW_RANGE, None)?;
    Invalid::in_range("max_tracked", max_tracked, 1..=MAX_TRACKED)?;
    for (key, list) in
        [("allow_sources", allow_sources), ("allow_destinations", allow_destinations)]
    {
        for (i, entry) in list.iter().enumerate() {
            if parse_net(entry).is_none() {
                return Err(Invalid::new(
                    format!("{key}[{i}]"),
                    format!("{entry:?} is not an IP address or CIDR"),
                ));
            }
        }
    }
    Ok(())
}

fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    IpNet::from_str(s).ok().or_else(|| IpAddr::from_str(s).ok().map(IpNet::from))
}

/// A detector's resolved common settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub window_ns: i64,
    pub max_tracked: usize,
    allow_sources: Vec<IpNet>,
    allow_destinations: Vec<IpNet>,
}

impl Scope {
    pub fn new(window: Duration, src: &[String], dst: &[String], max_tracked: usize) -> Self {
        Scope {
            window_ns: window.as_nanos(),
            max_tracked,
            allow_sources: src.iter().filter_map(|s| parse_net(s)).collect(),
            allow_destinations: dst.iter().filter_map(|s| parse_net(s)).collect(),
        }
    }

    /// The allow lists exempt this source or this target.
    pub fn ignores(&self, src: IpAddr, dst: IpAddr) -> bool {
        self.allow_sources.iter().any(|n| n.contains(&src))
            || self.allow_destinations.iter().any(|n| n.contains(&dst))
    }

    pub fn ignores_source(&self, src: IpAddr) -> bool {
        self.allow_sources.iter().any(|n| n.contains(&src))
    }

    pub fn ignores_destination(&self, dst: IpAddr) -> bool {
        self.allow_destinations.iter().any(|n| n.contains(&dst))
    }
}

/// `wirebeat.detect`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Detect {
    /// Every detector at once; each also has its own `enabled`.
    pub enabled: bool,
    /// Repeats of one rule for one source and target within this window are merged into one
    /// alert with a count; `0s` sends every alert.
    pub suppress_window: Duration,
    /// Only alert events are written (`read --alerts-only`): flows and transactions are still
    /// tracked for the detectors, not output (counted in `events_filtered_alerts_only`).
    pub alerts_only: bool,
    pub scan: super::scan::Config,
    pub flood: super::flood::Config,
    pub brute_force: super::brute_force::Config,
    pub dns_tunnel: super::dns_tunnel::Config,
    pub intel: super::intel::Config,
    pub evidence: super::evidence::Config,
}

impl Default for Detect {
    fn default() -> Self {
        Detect {
            enabled: true,
            suppress_window: Duration::from_secs(600),
            alerts_only: false,
            scan: Default::default(),
            flood: Default::default(),
            brute_force: Default::default(),
            dns_tunnel: Default::default(),
            intel: Default::default(),
            evidence: Default::default(),
        }
    }
}

impl Detect {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.alerts_only && !self.enabled {
            return Err(Invalid::new("alerts_only", "needs the detectors (enabled: true)"));
        }
        if !self.suppress_window.0.is_zero() {
            Invalid::duration_in(
                "suppress_window",
                self.suppress_window,
                WINDOW_RANGE,
                Some("off"),
            )?;
        }
        self.scan.validate().map_err(|e| e.under("scan"))?;
        self.flood.validate().map_err(|e| e.under("flood"))?;
        self.brute_force.validate().map_err(|e| e.under("brute_force"))?;
        self.dns_tunnel.validate().map_err(|e| e.under("dns_tunnel"))?;
        self.intel.validate().map_err(|e| e.under("intel"))?;
        self.evidence.validate().map_err(|e| e.under("evidence"))
    }
}
