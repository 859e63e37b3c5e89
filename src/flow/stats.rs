//! Flow statistics for machine-learning users (`wirebeat.flows.statistics`, off by default):
//! per-flow packet-length and inter-arrival summaries per direction and for both, TCP flag
//! counts, and CICFlowMeter-style active/idle periods, on final flow reports as
//! `network_traffic.flow.stats.*` (fields in `ecs::fields::FLOW_STATS_FIELDS`).
//!
//! Invariants: nothing is kept when the feature is off (`Flow::stats` is `None`, a null
//! pointer: the flow does not grow); a summary is O(1) memory whatever the flow's length
//! (Welford's online mean and variance); the clock is the packets' timestamps.
//!
//! Definitions (the README repeats them):
//! - packet length: the packet's bytes on the wire (`network.bytes` counts the same); a
//!   datagram reassembled from fragments is one packet of all its frames' bytes;
//! - inter-arrival time: nanoseconds since the previous packet in the same direction (or in
//!   either, for `both`); a packet older than the previous one counts 0;
//! - `std` is the sample standard deviation (n − 1), 0 under two samples;
//! - active/idle (CICFlowMeter): a gap longer than `wirebeat.flows.activity_timeout` between
//!   packets ends an active period (recorded when longer than 0) and is recorded as idle time;
//!   the last active period closes with the flow.

use crate::decode::{TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG};
use serde::Serialize;

/// Count, min, max and Welford's running mean and sum of squared deviations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub n: u64,
    pub min: u64,
    pub max: u64,
    mean: f64,
    m2: f64,
}

impl Summary {
    pub fn add(&mut self, x: u64) {
        self.n += 1;
        if self.n == 1 {
            (self.min, self.max) = (x, x);
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let x = x as f64;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample standard deviation; 0 under two samples.
    pub fn std(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }

    fn view(&self) -> SummaryView {
        let some = |v| (self.n > 0).then_some(v);
        SummaryView {
            count: self.n,
            min: some(self.min),
            max: some(self.max),
            mean: (self.n > 0).then_some(self.mean),
            std: (self.n > 0).then(|| self.std()),
        }
    }
}

/// Lengths and gaps of one direction (or of both).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Side {
    length: Summary,
    iat: Summary,
    last_ts: Option<i64>,
}

impl Side {
    fn add(&mut self, ts_ns: i64, len: u64) {
        self.length.add(len);
        if let Some(last) = self.last_ts {
            self.iat.add(u64::try_from(ts_ns.saturating_sub(last)).unwrap_or(0));
        }
        self.last_ts = Some(self.last_ts.map_or(ts_ns, |l| l.max(ts_ns)));
    }
}

/// TCP flags counted, in the order of [`FLAG_BITS`].
const FLAG_BITS: [u8; 8] = [TCP_SYN, TCP_FIN, TCP_RST, TCP_PSH, TCP_URG, TCP_ACK, TCP_ECE, TCP_CWR];

/// A flow's statistics while it lives (about 300 bytes, boxed in the flow when enabled).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowStatsAcc {
    fwd: Side,
    rev: Side,
    both: Side,
    /// Packets carrying each flag of [`FLAG_BITS`], both directions.
    flags: [u64; 8],
    tcp: bool,
    active: Summary,
    idle: Summary,
    start_active: i64,
    end_active: i64,
}

impl FlowStatsAcc {
    /// The statistics of a flow whose first packet is at `ts_ns`.
    pub fn new(ts_ns: i64, tcp: bool) -> Self {
        FlowStatsAcc {
            fwd: Side::default(),
            rev: Side::default(),
            both: Side::default(),
            flags: [0; 8],
            tcp,
            active: Summary::default(),
            idle: Summary::default(),
            start_active: ts_ns,
            end_active: ts_ns,
        }
    }

    /// One packet of `len` wire bytes (`from_initiator`: forward) with TCP `flags`.
    pub fn packet(
        &mut self,
        ts_ns: i64,
        len: u64,
        from_initiator: bool,
        flags: u8,
        activity_timeout_ns: i64,
    ) {
        if from_initiator { &mut self.fwd } else { &mut self.rev }.add(ts_ns, len);
        self.both.add(ts_ns, len);
        for (n, bit) in self.flags.iter_mut().zip(FLAG_BITS) {
            *n += u64::from(flags & bit != 0);
        }
        // CICFlowMeter's updateActiveIdleTime.
        if ts_ns.saturating_sub(self.end_active) > activity_timeout_ns {
            let active = self.end_active.saturating_sub(self.start_active);
            if active > 0 {
                self.active.add(active as u64);
            }
            self.idle.add(ts_ns.saturating_sub(self.end_active) as u64);
            (self.start_active, self.end_active) = (ts_ns, ts_ns);
        } else {
            self.end_active = self.end_active.max(ts_ns);
        }
    }

    /// The fields of the final report: the last active period is closed here (on a copy).
    pub fn view(&self) -> StatsView {
        let mut active = self.active;
        let last = self.end_active.saturating_sub(self.start_active);
        if last > 0 {
            active.add(last as u64);
        }
        let side = |s: &Side| SideView { packet_length: s.length.view(), iat: s.iat.view() };
        let f = &self.flags;
        StatsView {
            forward: side(&self.fwd),
            backward: side(&self.rev),
            both: side(&self.both),
            tcp_flags: self.tcp.then_some(FlagCounts {
                syn: f[0],
                fin: f[1],
                rst: f[2],
                psh: f[3],
                urg: f[4],
                ack: f[5],
                ece: f[6],
                cwr: f[7],
            }),
            active: active.view(),
            idle: self.idle.view(),
        }
    }
}

/// `network_traffic.flow.stats`.
#[derive(Debug, Serialize)]
pub struct StatsView {
    pub forward: SideView,
    pub backward: SideView,
    pub both: SideView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<FlagCounts>,
    pub active: SummaryView,
    pub idle: SummaryView,
}

#[derive(Debug, Serialize)]
pub struct SideView {
    pub packet_length: SummaryView,
    pub iat: SummaryView,
}

/// A summary; only `count` when there was no sample.
#[derive(Debug, Serialize, PartialEq)]
pub struct SummaryView {
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FlagCounts {
    pub syn: u64,
    pub fin: u64,
    pub rst: u64,
    pub psh: u64,
    pub urg: u64,
    pub ack: u64,
    pub ece: u64,
    pub cwr: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_the_two_pass_mean_and_sample_deviation() {
        let xs = [60u64, 1514, 60, 590, 1514, 66];
        let mut s = Summary::default();
        xs.iter().for_each(|x| s.add(*x));
        let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        let var = xs.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / 5.0;
        assert_eq!((s.n, s.min, s.max), (6, 60, 1514));
        assert!((s.mean() - mean).abs() < 1e-9, "{} {mean}", s.mean());
        assert!((s.std() - var.sqrt()).abs() < 1e-9);
        let mut one = Summary::default();
        one.add(7);
        assert_eq!((one.std(), one.view().min), (0.0, Some(7)));
        assert_eq!(
            Summary::default().view(),
            SummaryView { count: 0, min: None, max: None, mean: None, std: None }
        );
    }

    #[test]
    fn active_and_idle_periods_follow_cicflowmeter() {
        const S: i64 = 1_000_000_000;
        let t = 5 * S;
        let mut a = FlowStatsAcc::new(0, true);
        // Active 0..2 s, idle 8 s, active 10..11 s, idle 6 s, a lone packet at 17 s.
        for ts in [0, S, 2 * S, 10 * S, 11 * S, 17 * S] {
            a.packet(ts, 100, true, TCP_ACK, t);
        }
        let v = a.view();
        assert_eq!(
            (v.active.count, v.active.min, v.active.max),
            (2, Some(S as u64), Some(2 * S as u64))
        );
        assert_eq!(
            (v.idle.count, v.idle.min, v.idle.max),
            (2, Some(6 * S as u64), Some(8 * S as u64))
        );
        assert_eq!(v.tcp_flags.map(|f| f.ack), Some(6));
        assert_eq!(v.backward.packet_length.count, 0);
        // An out-of-order packet counts a 0 gap, not a negative one.
        a.packet(16 * S, 100, true, 0, t);
        assert_eq!(a.view().forward.iat.min, Some(0));
    }
}
