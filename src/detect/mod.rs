//! The detection stage: per-worker detectors that watch packets, flow reports and transactions
//! on packet time and raise alerts, which leave as events beside the flows and transactions.
//!
//! Each worker owns one [`DetectStage`] (no locks, like its flow table), so a detector sees both
//! directions of every conversation the worker has, and nothing of the other workers'. The
//! worker feeds it every decoded packet, every flow report and every transaction, and calls
//! [`DetectStage::tick`] with the batch's packet clock: a detector never reads the wall clock,
//! so `read` gives the same alerts on every run.
//!
//! The stage is empty for now. With no detector it costs one length check per packet, flow and
//! transaction and allocates nothing (an empty `Vec` owns no memory).
//!
//! **Adding a detector**: implement [`Detector`] in `src/detect/<name>.rs` (state bounded by a
//! named limit, with a counter when it is hit, as everywhere on the data path), push the alerts
//! it raises into the `alerts` it is given, and add it to the list [`DetectStage::from_config`]
//! builds (one line; give it a `wirebeat.detect.<name>` section when it has settings).

use crate::decode::Packet;
use crate::ecs::{EncodedEvent, EventContext};
use crate::flow::{Flow, Report};
use crate::proto::Txn;

/// `data_stream.dataset` of alert events.
pub const DATASET_ALERT: &str = "wirebeat.alert";

/// Something a detector found.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Packet time of what raised it.
    pub ts_ns: i64,
    /// The detector's name (`rule.name`).
    pub detector: &'static str,
    /// One line for the analyst (`message`).
    pub message: String,
    /// The conversation it is about (`network.community_id`), when there is one.
    pub community_id: Option<String>,
}

impl Alert {
    /// The alert as an event (`event.kind: alert`), partitioned by its conversation.
    pub fn encode(&self, ctx: &EventContext) -> EncodedEvent {
        let doc = serde_json::json!({
            "@timestamp": crate::ecs::time::rfc3339(self.ts_ns),
            "ecs": {"version": crate::ecs::ECS_VERSION},
            "data_stream": {"type": "logs", "dataset": DATASET_ALERT, "namespace": ctx.namespace},
            "event": {"kind": "alert", "dataset": DATASET_ALERT, "module": "wirebeat"},
            "rule": {"name": self.detector},
            "message": self.message,
            "network": {"community_id": self.community_id},
            "observer": ctx.observer,
            "agent": ctx.agent,
        });
        EncodedEvent::encode(DATASET_ALERT, self.community_id.clone(), &doc)
    }
}

/// One detector. Every method has a default that ignores its input, so a detector implements
/// only what it looks at. Alerts go into `alerts`; the worker turns them into events.
pub trait Detector: Send {
    fn name(&self) -> &'static str;
    /// A decoded packet (innermost addresses; tunnels and VLANs in its fields).
    fn packet(&mut self, _packet: &Packet<'_>, _alerts: &mut Vec<Alert>) {}
    /// A flow report (periodic or final).
    fn flow(&mut self, _report: &Report<'_>, _alerts: &mut Vec<Alert>) {}
    /// A request/response transaction of an application protocol, with its flow.
    fn transaction(&mut self, _flow: &Flow, _txn: &Txn, _alerts: &mut Vec<Alert>) {}
    /// The packet clock moved to `now_ns` (once per batch): time out state here.
    fn tick(&mut self, _now_ns: i64, _alerts: &mut Vec<Alert>) {}
}

/// The detectors of one worker and the alerts they raised since the last
/// [`DetectStage::take_alerts`].
#[derive(Default)]
pub struct DetectStage {
    detectors: Vec<Box<dyn Detector>>,
    alerts: Vec<Alert>,
}

impl DetectStage {
    pub fn new(detectors: Vec<Box<dyn Detector>>) -> Self {
        DetectStage { detectors, alerts: Vec::new() }
    }

    /// The detectors the configuration enables: none yet.
    pub fn from_config() -> Self {
        DetectStage::new(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty()
    }

    #[inline]
    pub fn packet(&mut self, p: &Packet<'_>) {
        for d in &mut self.detectors {
            d.packet(p, &mut self.alerts);
        }
    }

    #[inline]
    pub fn flow(&mut self, r: &Report<'_>) {
        for d in &mut self.detectors {
            d.flow(r, &mut self.alerts);
        }
    }

    #[inline]
    pub fn transaction(&mut self, f: &Flow, t: &Txn) {
        for d in &mut self.detectors {
            d.transaction(f, t, &mut self.alerts);
        }
    }

    pub fn tick(&mut self, now_ns: i64) {
        for d in &mut self.detectors {
            d.tick(now_ns, &mut self.alerts);
        }
    }

    /// The alerts raised so far, in the order they were raised.
    pub fn take_alerts(&mut self) -> std::vec::Drain<'_, Alert> {
        self.alerts.drain(..)
    }
}

#[cfg(test)]
mod tests;
