//! The detection stage: detectors that watch packets, flows and transactions on packet time and
//! raise explained alerts, which leave as `wirebeat.alert` events beside the flows.
//!
//! Two halves, because a scan or a flood spreads over many flows and the workers each see only
//! the flows hashed to them:
//! - [`Observer`], one per worker: turns what detectors need of each decoded packet, final flow
//!   report and transaction into small owned [`Obs`] values (see `obs`), handed out with the
//!   worker's events.
//! - [`DetectEngine`], one per pipeline, run by the queue thread: feeds the observations to
//!   every enabled [`Detector`] in the order the workers made them (in `read`, epoch by epoch
//!   and worker by worker, so the same input gives the same alerts on every run), ticks them with
//!   the epoch's packet clock, and passes their alerts through suppression (`suppress`).
//!
//! A detector never reads the wall clock; windows run on packet time, and live capture's
//! 200 ms wall-clock tick keeps that clock moving on an idle link. Every detector's state is
//! bounded by its `max_tracked` (see `state::Bounded`), refusals counted.
//!
//! **Adding a detector**: a file `src/detect/<name>.rs` with its `static` [`Rule`]s, a
//! `Thresholds` type and `config::detector_section!` for `wirebeat.detect.<name>`, a type
//! implementing [`Detector`], and a `build` function; add the section to `config::Detect` and
//! one line to [`DetectEngine::from_config`].

pub mod alert;
pub mod brute_force;
pub mod config;
pub mod dns_tunnel;
pub mod evidence;
pub mod flood;
pub mod intel;
pub mod obs;
pub mod scan;
pub mod state;
mod suppress;

pub use alert::{Alert, Endpoint, Mitre, Rule, Severity, CUSTOM_FIELDS, DATASET_ALERT};
pub use obs::{Auth, Detail, FlowObs, Obs, PacketObs, TxnObs};

use crate::decode::Packet;
use crate::flow::{Flow, Report};
use crate::proto::Txn;
use std::collections::BTreeMap;

/// One detector. Every method has a default that ignores its input, so a detector implements
/// only what it looks at. Alerts go into `alerts`.
pub trait Detector: Send {
    /// `wirebeat.detect.<name>`.
    fn name(&self) -> &'static str;
    fn packet(&mut self, _p: &PacketObs, _alerts: &mut Vec<Alert>) {}
    /// A flow's final report.
    fn flow(&mut self, _f: &FlowObs, _alerts: &mut Vec<Alert>) {}
    fn transaction(&mut self, _t: &TxnObs, _alerts: &mut Vec<Alert>) {}
    /// The packet clock moved to `now_ns`: close windows and time out state here.
    fn tick(&mut self, _now_ns: i64, _alerts: &mut Vec<Alert>) {}
    /// Entries held now and new keys refused so far (its `max_tracked`).
    fn state(&self) -> (usize, u64) {
        (0, 0)
    }
}

/// A worker's half: what its packets, flows and transactions tell the detectors.
#[derive(Default)]
pub struct Observer {
    enabled: bool,
    obs: Vec<Obs>,
}

impl Observer {
    /// `enabled`: some detector runs (otherwise every call is one branch and nothing is kept).
    pub fn new(enabled: bool) -> Self {
        Observer { enabled, obs: Vec::new() }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    #[inline]
    pub fn packet(&mut self, p: &Packet<'_>) {
        if self.enabled {
            if let Some(o) = PacketObs::of(p) {
                self.obs.push(Obs::Packet(o));
            }
        }
    }

    #[inline]
    pub fn flow(&mut self, r: &Report<'_>) {
        if self.enabled {
            if let Some(o) = FlowObs::of(r) {
                self.obs.push(Obs::Flow(Box::new(o)));
            }
        }
    }

    #[inline]
    pub fn transaction(&mut self, f: &Flow, t: &Txn) {
        if self.enabled {
            self.obs.push(Obs::Txn(Box::new(TxnObs::of(f, t))));
        }
    }

    /// An alert raised in the worker (e.g. a threat-intel match).
    pub fn alert(&mut self, a: Alert) {
        self.obs.push(Obs::Alert(Box::new(a)));
    }

    /// The observations made since the last call.
    pub fn take(&mut self) -> Vec<Obs> {
        std::mem::take(&mut self.obs)
    }
}

/// What the engine counted, for the stats and the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Alerts sent, by `rule.name` (merged alerts count once).
    pub alerts_by_rule: BTreeMap<&'static str, u64>,
    /// Alerts merged into another by suppression.
    pub alerts_merged: u64,
    /// Alerts sent unsuppressed because the suppression table was full.
    pub suppress_refused: u64,
    /// Per detector: entries held and keys refused by its `max_tracked`.
    pub state: BTreeMap<&'static str, (usize, u64)>,
}

/// The sensor's detectors, fed by every worker's [`Observer`].
pub struct DetectEngine {
    detectors: Vec<Box<dyn Detector>>,
    suppress: suppress::Suppressor,
    raised: Vec<Alert>,
    out: Vec<Alert>,
    now_ns: i64,
    stats: DetectStats,
}

impl DetectEngine {
    pub fn new(detectors: Vec<Box<dyn Detector>>, suppress_window_ns: i64) -> Self {
        DetectEngine {
            detectors,
            suppress: suppress::Suppressor::new(suppress_window_ns),
            raised: Vec::new(),
            out: Vec::new(),
            now_ns: i64::MIN,
            stats: DetectStats::default(),
        }
    }

    /// The detectors `wirebeat.detect` enables (validated before); `None` when none is.
    pub fn from_config(c: &config::Detect) -> Option<Self> {
        if !c.enabled {
            return None;
        }
        let detectors: Vec<Box<dyn Detector>> = [
            scan::build(&c.scan),
            flood::build(&c.flood),
            brute_force::build(&c.brute_force),
            dns_tunnel::build(&c.dns_tunnel),
        ]
        .into_iter()
        .flatten()
        .collect();
        // Intel matches are raised by the workers (`Obs::Alert`); the engine still runs for
        // their suppression when no other detector is on.
        if detectors.is_empty() && !c.intel.active() {
            return None;
        }
        Some(DetectEngine::new(detectors, c.suppress_window.as_nanos()))
    }

    pub fn observe(&mut self, o: Obs) {
        match o {
            Obs::Packet(p) => {
                for d in &mut self.detectors {
                    d.packet(&p, &mut self.raised);
                }
            }
            Obs::Flow(f) => {
                for d in &mut self.detectors {
                    d.flow(&f, &mut self.raised);
                }
            }
            Obs::Txn(t) => {
                for d in &mut self.detectors {
                    d.transaction(&t, &mut self.raised);
                }
            }
            Obs::Alert(a) => self.raised.push(*a),
        }
        self.admit();
    }

    /// The packet clock is `now_ns` (never moves back).
    pub fn tick(&mut self, now_ns: i64) {
        if now_ns <= self.now_ns {
            return;
        }
        self.now_ns = now_ns;
        for d in &mut self.detectors {
            d.tick(now_ns, &mut self.raised);
        }
        self.admit();
        self.suppress.tick(now_ns, &mut self.out);
    }

    /// End of the run: merged alerts still held go out.
    pub fn finish(&mut self) {
        self.suppress.flush(&mut self.out);
    }

    fn admit(&mut self) {
        for a in self.raised.drain(..) {
            self.suppress.admit(a, &mut self.out);
        }
    }

    /// The alerts to send, in the order they were raised; counted by rule.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        for a in &self.out {
            *self.stats.alerts_by_rule.entry(a.rule.name).or_default() += 1;
        }
        std::mem::take(&mut self.out)
    }

    pub fn stats(&mut self) -> &DetectStats {
        self.stats.alerts_merged = self.suppress.merged;
        self.stats.suppress_refused = self.suppress.refused();
        for d in &self.detectors {
            self.stats.state.insert(d.name(), d.state());
        }
        &self.stats
    }
}

#[cfg(test)]
mod tests;
