//! Sensor-health events (`data_stream.dataset: wirebeat.health`, `event.kind: metric`): every
//! counter of the run (cumulative since start) under `wirebeat.stats.*`, so dashboards and
//! alerting rules see drops by cause, queue and spool depth and delivery outcomes per sensor.
//! `run` publishes one every `wirebeat.health_period` of wall-clock time and one at the end.

use super::{EncodedEvent, EventContext};
use crate::stats::Counters;
use serde_json::{json, Map, Value};

pub const DATASET_HEALTH: &str = "wirebeat.health";

/// The dotted name under `wirebeat.stats` of one counter.
pub fn stat_name(counter: &str) -> String {
    let grouped = [
        ("dropped_", "dropped."),
        ("spool_", "spool."),
        ("events_", "output."),
        ("tcp_", "tcp."),
        ("app_", "app."),
        ("flows_", "flows."),
        ("fragments_", "fragments."),
    ];
    match counter {
        "frames_read" => return "packets_received".into(),
        "wire_bytes_read" => return "bytes_received".into(),
        "malformed" | "unsupported_linktype" | "fragment_dropped" | "tunnel_too_deep" => {
            return format!("dropped.{counter}")
        }
        "queue_events" => return "queue.depth".into(),
        "queue_bytes" => return "queue.bytes".into(),
        "queue_blocked" => return "queue.blocked".into(),
        _ => {}
    }
    for (prefix, group) in grouped {
        if let Some(rest) = counter.strip_prefix(prefix) {
            return format!("{group}{rest}");
        }
    }
    counter.to_owned()
}

/// One health event with the counters as they are now.
pub fn health_event(ctx: &EventContext, counters: &Counters, now_ns: i64) -> EncodedEvent {
    let mut stats = Map::new();
    for (name, value) in counters.snapshot() {
        let path = stat_name(name);
        let mut at = &mut stats;
        let mut parts = path.split('.').peekable();
        while let Some(p) = parts.next() {
            if parts.peek().is_none() {
                at.insert(p.to_owned(), json!(value));
            } else {
                let next = at.entry(p.to_owned()).or_insert_with(|| json!({}));
                match next {
                    Value::Object(m) => at = m,
                    _ => break,
                }
            }
        }
    }
    let ts = super::time::rfc3339(now_ns);
    let doc = json!({
        "@timestamp": ts,
        "ecs": {"version": super::ECS_VERSION},
        "data_stream": {"type": "logs", "dataset": DATASET_HEALTH, "namespace": ctx.namespace},
        "event": {"kind": "metric", "dataset": DATASET_HEALTH, "module": "wirebeat",
                  "category": ["host"], "type": ["info"]},
        "message": "wirebeat sensor health",
        "observer": ctx.observer,
        "agent": ctx.agent,
        "tags": ctx.tags,
        "wirebeat": {"stats": stats},
    });
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
    }
}
