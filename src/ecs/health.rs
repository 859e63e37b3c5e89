//! Sensor-health events (`data_stream.dataset: wirebeat.health`, `event.kind: metric`): every
//! counter of the run (cumulative since start) under `wirebeat.stats.*`, so dashboards and
//! alerting rules see drops by cause, queue and spool depth and delivery outcomes per sensor.
//! `run` publishes one every `wirebeat.health_period` of wall-clock time and one at the end.
//! The counters come from the one snapshot the stats endpoint serves too
//! ([`Counters::snapshot_consistent`]), so both always say the same; the labelled families go
//! under `events_by_label.<dataset>` / `alerts_by_label.<rule>` (dots written `_`) and the
//! latency histogram as its `latency.count` and `latency.sum_ms`.
//! The envelope is the one every event has (no traffic part): `message` after `event`, the
//! counters at the end.

use super::envelope::{Envelope, EventFields, Facts};
use super::{EncodedEvent, EventContext};
use crate::stats::snapshot::Snapshot;
use crate::stats::Counters;
use serde::Serialize;
use serde_json::{Map, Value};

pub const DATASET_HEALTH: &str = "wirebeat.health";

pub use crate::stats::snapshot::stat_name;

/// The health event's own head (after `event`).
#[derive(Serialize)]
struct HealthHead {
    message: &'static str,
}

/// The health event's tail: the counters.
#[derive(Serialize)]
struct HealthBody {
    wirebeat: Stats,
}

#[derive(Serialize)]
struct Stats {
    stats: Map<String, Value>,
}

/// One health event with the counters as they are now: the tree of
/// [`Snapshot::stats_tree`](crate::stats::snapshot::Snapshot::stats_tree), the same snapshot
/// the stats endpoint serves.
pub fn health_event(ctx: &EventContext, counters: &Counters, now_ns: i64) -> EncodedEvent {
    health_event_of(ctx, &counters.snapshot_consistent(), now_ns)
}

/// One health event of a snapshot already taken.
pub fn health_event_of(ctx: &EventContext, snap: &Snapshot, now_ns: i64) -> EncodedEvent {
    let stats = snap.stats_tree();
    let event = EventFields::new("metric", &["host"], &["info"], "wirebeat");
    let facts = Facts { dataset: DATASET_HEALTH, ts_ns: now_ns, event, doc_type: None };
    let head = HealthHead { message: "wirebeat sensor health" };
    let body = HealthBody { wirebeat: Stats { stats } };
    let doc = Envelope::new(ctx, facts, None, head, (), body);
    EncodedEvent::encode(DATASET_HEALTH, None, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_land_under_the_dashboard_names() {
        let c = Counters::default();
        Counters::add(&c.frames_read, 10);
        Counters::add(&c.dropped_kernel, 2);
        Counters::add(&c.malformed, 1);
        Counters::add(&c.events_acked, 7);
        Counters::set(&c.queue_events, 3);
        Counters::set(&c.spool_bytes, 4096);
        let ctx = EventContext::new(
            Some("s1"),
            Some("id"),
            "default",
            vec![],
            vec![],
            Default::default(),
        );
        let ev = health_event(&ctx, &c, 1_700_000_000_000_000_000);
        let v: Value = serde_json::from_slice(&ev.json).unwrap();
        let s = &v["wirebeat"]["stats"];
        assert_eq!(s["packets_received"], 10);
        assert_eq!(s["dropped"]["kernel"], 2);
        assert_eq!(s["dropped"]["malformed"], 1);
        assert_eq!(s["output"]["acked"], 7);
        assert_eq!(s["queue"]["depth"], 3);
        assert_eq!(s["spool"]["bytes"], 4096);
        assert_eq!(v["event"]["kind"], "metric");
        assert_eq!(v["data_stream"]["dataset"], "wirebeat.health");
        assert_eq!(v["observer"]["name"], "s1");
        assert_eq!(v["@timestamp"], "2023-11-14T22:13:20.000000000Z");
        // Every field is mapped by the index templates (counters by their dynamic template).
        let mapped: std::collections::BTreeSet<String> =
            crate::content::fields::all().into_iter().map(|f| f.name.to_string()).collect();
        let mut leaves = Vec::new();
        fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => m.iter().for_each(|(k, x)| {
                    walk(
                        &if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") },
                        x,
                        out,
                    )
                }),
                _ => out.push(prefix.to_owned()),
            }
        }
        walk("", &v, &mut leaves);
        for leaf in leaves {
            assert!(
                mapped.contains(&leaf) || leaf.starts_with("wirebeat.stats."),
                "{leaf} is not mapped"
            );
        }
        // Every counter is there once, under a distinct name.
        let names: std::collections::BTreeSet<String> =
            c.snapshot().iter().map(|(n, _)| stat_name(n)).collect();
        assert_eq!(names.len(), c.snapshot().len());
        // The same numbers as the endpoint's /stats, from the same snapshot.
        c.count_alert("port_scan");
        let snap = c.snapshot_consistent();
        let ev = health_event_of(&ctx, &snap, 0);
        let v: Value = serde_json::from_slice(&ev.json).unwrap();
        assert_eq!(v["wirebeat"]["stats"], snap.to_json()["stats"]);
        assert_eq!(v["wirebeat"]["stats"]["alerts_by_label"]["port_scan"], 1);
    }
}
