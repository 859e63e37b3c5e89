//! The one snapshot of the run's counters that every reader uses: the stats endpoint's `/stats`
//! (JSON) and `/metrics` (Prometheus text exposition 0.0.4), the sensor-health events and the
//! end-of-run summary. Taking it is cheap (a hundred atomic loads and two small maps) and
//! happens off the data path.
//!
//! The accounting lists ([`FRAME_OUTCOMES`], [`FRAMES_IN_PIPELINE`], [`EVENT_OUTCOMES`],
//! [`EVENTS_IN_PIPELINE`]) say once which counters reconcile with which; [`Snapshot::frames`]
//! and [`Snapshot::events`] add them up for `/stats`, the summary and the tests.

use super::{Counters, Families, LATENCY_BUCKETS};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every frame read ends in exactly one of these (`decoded` first, then the drop causes).
pub const FRAME_OUTCOMES: &[&str] = &[
    "decoded",
    "non_ip",
    "unsupported_linktype",
    "malformed",
    "tunnel_too_deep",
    "fragment_lost",
    "dropped_channel_full",
    "dropped_unprocessed",
];

/// Frames read that have no outcome yet (gauges).
pub const FRAMES_IN_PIPELINE: &[&str] = &["frames_in_flight", "fragment_frames_pending"];

/// Final outcomes of an event (delivered first, then refused and the drop causes).
pub const EVENT_OUTCOMES: &[&str] = &[
    "events_acked",
    "events_rejected",
    "dropped_queue_full",
    "dropped_output_failed",
    "dropped_shutdown",
    "dropped_retries_exhausted",
    "dropped_spool_error",
];

/// Counters that are gauges (a level now, not a count since start).
pub const GAUGES: &[&str] = &[
    "frames_in_flight",
    "fragment_frames_pending",
    "events_in_transit",
    "events_pending_ack",
    "queue_events",
    "queue_bytes",
    "spool_bytes",
];

/// The counters of one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every counter, in declaration order.
    pub counters: Vec<(&'static str, u64)>,
    pub events_by_dataset: BTreeMap<String, u64>,
    pub alerts_by_rule: BTreeMap<String, u64>,
    /// Cumulative bucket counts (last: `+Inf`), sum in seconds, count.
    pub latency: (Vec<u64>, f64, u64),
    /// No writer's [`Counters::section`] ran while it was taken: the identities hold exactly.
    pub consistent: bool,
}

/// How the frames read add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameAccount {
    pub received: u64,
    /// `decoded` and each drop cause, in [`FRAME_OUTCOMES`] order.
    pub outcomes: Vec<(&'static str, u64)>,
    /// Frames without an outcome yet.
    pub in_pipeline: Vec<(&'static str, u64)>,
}

impl FrameAccount {
    pub fn balanced(&self) -> bool {
        let sum: u64 = self.outcomes.iter().chain(&self.in_pipeline).map(|(_, v)| v).sum();
        sum == self.received
    }
}

/// How the events made add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAccount {
    pub built: u64,
    /// Found unacknowledged in the spool at start (made by an earlier run).
    pub replayed: u64,
    /// Final outcomes, in [`EVENT_OUTCOMES`] order.
    pub outcomes: Vec<(&'static str, u64)>,
    pub queued: u64,
    pub in_transit: u64,
    /// Outcomes counted whose batch is still queued (counted in both).
    pub pending_ack: u64,
}

impl EventAccount {
    pub fn balanced(&self) -> bool {
        let out: u64 = self.outcomes.iter().map(|(_, v)| v).sum();
        self.built + self.replayed + self.pending_ack == out + self.queued + self.in_transit
    }
}

/// Tries of [`Counters::snapshot_consistent`] before it settles for a disturbed read.
const SNAPSHOT_TRIES: usize = 1000;

impl Counters {
    /// The snapshot every reader uses (see the module comment).
    pub fn snapshot_consistent(&self) -> Snapshot {
        let ((counters, events_by_dataset, alerts_by_rule), consistent) =
            self.sections.read(SNAPSHOT_TRIES, || {
                (
                    self.snapshot(),
                    Families::read(&self.families.events_by_dataset),
                    Families::read(&self.families.alerts_by_rule),
                )
            });
        Snapshot {
            counters,
            events_by_dataset,
            alerts_by_rule,
            latency: self.latency.read(),
            consistent,
        }
    }
}

impl Snapshot {
    /// The counter called `name` (0 for an unknown name).
    pub fn get(&self, name: &str) -> u64 {
        self.counters.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).unwrap_or(0)
    }

    fn pick(&self, names: &[&'static str]) -> Vec<(&'static str, u64)> {
        names.iter().map(|n| (*n, self.get(n))).collect()
    }

    pub fn frames(&self) -> FrameAccount {
        FrameAccount {
            received: self.get("frames_read"),
            outcomes: self.pick(FRAME_OUTCOMES),
            in_pipeline: self.pick(FRAMES_IN_PIPELINE),
        }
    }

    pub fn events(&self) -> EventAccount {
        EventAccount {
            built: self.get("events_built"),
            replayed: self.get("spool_replayed"),
            outcomes: self.pick(EVENT_OUTCOMES),
            queued: self.get("queue_events"),
            in_transit: self.get("events_in_transit"),
            pending_ack: self.get("events_pending_ack"),
        }
    }

    /// Flows open now: made and not yet ended.
    pub fn flows_active(&self) -> u64 {
        self.get("flows_created").saturating_sub(self.get("flows_ended"))
    }

    /// The counters as the tree under `wirebeat.stats` (dotted names of [`stat_name`]), the
    /// families and the latency's count and sum: the health event's and `/stats`'s body.
    pub fn stats_tree(&self) -> Map<String, Value> {
        let mut stats = Map::new();
        for (name, value) in &self.counters {
            insert_path(&mut stats, &stat_name(name), json!(value));
        }
        insert_path(&mut stats, "flows.active", json!(self.flows_active()));
        // Labels become keys: dots would nest them, so they are written with underscores.
        for (family, map) in [("events", &self.events_by_dataset), ("alerts", &self.alerts_by_rule)]
        {
            let mut m = Map::new();
            for (label, v) in map {
                m.insert(label.replace('.', "_"), json!(v));
            }
            insert_path(&mut stats, &format!("{family}_by_label"), Value::Object(m));
        }
        let (_, sum, count) = &self.latency;
        insert_path(&mut stats, "latency.count", json!(count));
        insert_path(&mut stats, "latency.sum_ms", json!((sum * 1e3) as u64));
        stats
    }

    /// `/stats`: the counter tree, the families with their labels as they are, the latency
    /// histogram and the reconciliation of frames and events.
    pub fn to_json(&self) -> Value {
        let f = self.frames();
        let e = self.events();
        let obj = |v: &[(&str, u64)]| -> Map<String, Value> {
            v.iter().map(|(k, n)| ((*k).to_owned(), json!(n))).collect()
        };
        let (buckets, sum, count) = &self.latency;
        let le: Vec<Value> = LATENCY_BUCKETS
            .iter()
            .map(|b| json!(b))
            .chain([json!("+Inf")])
            .zip(buckets)
            .map(|(le, n)| json!({"le": le, "count": n}))
            .collect();
        json!({
            "consistent": self.consistent,
            "stats": self.stats_tree(),
            "events_by_dataset": self.events_by_dataset,
            "alerts_by_rule": self.alerts_by_rule,
            "latency_seconds": {"buckets": le, "sum": sum, "count": count},
            "reconcile": {
                "frames": {
                    "received": f.received,
                    "outcomes": obj(&f.outcomes),
                    "in_pipeline": obj(&f.in_pipeline),
                    "kernel_dropped": self.get("dropped_kernel"),
                    "interface_dropped": self.get("dropped_interface"),
                    "balanced": f.balanced(),
                },
                "events": {
                    "built": e.built,
                    "replayed": e.replayed,
                    "outcomes": obj(&e.outcomes),
                    "queued": e.queued,
                    "in_transit": e.in_transit,
                    "pending_ack": e.pending_ack,
                    "balanced": e.balanced(),
                },
            },
        })
    }

    /// `/metrics`: Prometheus text exposition format 0.0.4. Counters are `wirebeat_<name>_total`,
    /// gauges `wirebeat_<name>`, the families `wirebeat_events_total{dataset}` and
    /// `wirebeat_alerts_total{rule}`, the latency `wirebeat_capture_to_ack_seconds`.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        for (name, v) in &self.counters {
            let gauge = GAUGES.contains(name);
            let metric =
                if gauge { format!("wirebeat_{name}") } else { format!("wirebeat_{name}_total") };
            let kind = if gauge { "gauge" } else { "counter" };
            let _ = writeln!(out, "# HELP {metric} {}", help(name));
            let _ = writeln!(out, "# TYPE {metric} {kind}");
            let _ = writeln!(out, "{metric} {v}");
        }
        let _ = writeln!(out, "# HELP wirebeat_flows_active Flows open now.");
        let _ = writeln!(out, "# TYPE wirebeat_flows_active gauge");
        let _ = writeln!(out, "wirebeat_flows_active {}", self.flows_active());
        for (metric, label, help, map) in [
            (
                "wirebeat_events",
                "dataset",
                "Events made, by data stream dataset.",
                &self.events_by_dataset,
            ),
            ("wirebeat_alerts", "rule", "Alerts emitted, by rule name.", &self.alerts_by_rule),
        ] {
            let _ = writeln!(out, "# HELP {metric}_total {help}");
            let _ = writeln!(out, "# TYPE {metric}_total counter");
            for (l, v) in map {
                let _ = writeln!(out, "{metric}_total{{{label}=\"{}\"}} {v}", escape_label(l));
            }
        }
        let m = "wirebeat_capture_to_ack_seconds";
        let (buckets, sum, _) = &self.latency;
        let _ = writeln!(
            out,
            "# HELP {m} Time from reading the frames to the output's acknowledgement of the \
             events they made (events in memory only)."
        );
        let _ = writeln!(out, "# TYPE {m} histogram");
        for (b, n) in LATENCY_BUCKETS.iter().zip(buckets) {
            let _ = writeln!(out, "{m}_bucket{{le=\"{b}\"}} {n}");
        }
        let total = buckets.last().copied().unwrap_or(0);
        let _ = writeln!(out, "{m}_bucket{{le=\"+Inf\"}} {total}");
        let _ = writeln!(out, "{m}_sum {sum}");
        let _ = writeln!(out, "{m}_count {total}");
        out
    }
}

/// A label value as the exposition format writes it.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `# HELP` text of a counter.
fn help(name: &str) -> String {
    let known = match name {
        "frames_read" => "Frames read from capture files or interfaces.",
        "dropped_kernel" => "Frames the kernel or libpcap dropped (pcap_stats).",
        "dropped_interface" => "Frames the interface driver dropped (pcap_stats).",
        "decoded" => "Frames that reached the flow table (a datagram of N frames counts N).",
        "frames_in_flight" => "Frames handed to a worker and not yet processed.",
        "fragment_frames_pending" => "Frames held for reassembly now.",
        "events_built" => "Events made by the pipeline.",
        "events_acked" => "Events the output acknowledged.",
        "events_retried" => "Event sends that had to be repeated.",
        "events_rejected" => "Events the output refused for good.",
        "events_dead_lettered" => "Refused events written to the dead-letter file.",
        "queue_events" => "Events in the queue, including those being sent.",
        "queue_bytes" => "JSON bytes of the events in the queue.",
        "spool_bytes" => "Bytes of the disk spool's segments.",
        _ => "",
    };
    if known.is_empty() {
        format!("wirebeat counter {name} (README, Monitoring).")
    } else {
        known.to_owned()
    }
}

/// Inserts `value` at the dotted `path` of `tree`.
fn insert_path(tree: &mut Map<String, Value>, path: &str, value: Value) {
    let mut at = tree;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            at.insert(p.to_owned(), value);
            return;
        }
        let next = at.entry(p.to_owned()).or_insert_with(|| json!({}));
        match next {
            Value::Object(m) => at = m,
            _ => return,
        }
    }
}

/// The dotted name under `wirebeat.stats` of one counter (the health events' and `/stats`'s).
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
        "malformed"
        | "unsupported_linktype"
        | "fragment_dropped"
        | "tunnel_too_deep"
        | "fragment_lost" => return format!("dropped.{counter}"),
        "queue_events" => return "queue.depth".into(),
        "queue_bytes" => return "queue.bytes".into(),
        "queue_blocked" => return "queue.blocked".into(),
        "events_built" => return "events.built".into(),
        "events_in_transit" => return "events.in_transit".into(),
        "events_pending_ack" => return "output.pending_ack".into(),
        _ => {}
    }
    for (prefix, group) in grouped {
        if let Some(rest) = counter.strip_prefix(prefix) {
            return format!("{group}{rest}");
        }
    }
    counter.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_add_up_and_name_every_cause() {
        let c = Counters::default();
        Counters::add(&c.frames_read, 10);
        Counters::add(&c.decoded, 6);
        Counters::add(&c.non_ip, 1);
        Counters::add(&c.dropped_channel_full, 1);
        Counters::add(&c.fragment_frames_pending, 2);
        let s = c.snapshot_consistent();
        assert!(s.consistent);
        assert!(s.frames().balanced(), "{:?}", s.frames());
        Counters::add(&c.frames_read, 1);
        assert!(!c.snapshot_consistent().frames().balanced());
        // Every name in the lists is a counter.
        for n in [FRAME_OUTCOMES, FRAMES_IN_PIPELINE, EVENT_OUTCOMES, GAUGES].concat() {
            assert!(c.by_name(n).is_some(), "{n}");
        }
        Counters::add(&c.events_built, 5);
        Counters::add(&c.events_acked, 3);
        Counters::add(&c.events_pending_ack, 1);
        Counters::set(&c.queue_events, 2);
        Counters::add(&c.dropped_queue_full, 1);
        assert!(c.snapshot_consistent().events().balanced());
    }

    #[test]
    fn a_snapshot_never_sees_half_a_section() {
        let c = std::sync::Arc::new(Counters::default());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = {
            let (c, stop) = (c.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _s = c.section();
                    Counters::add(&c.frames_read, 3);
                    Counters::add(&c.frames_in_flight, 3);
                    drop(_s);
                    let _s = c.section();
                    Counters::sub(&c.frames_in_flight, 3);
                    Counters::add(&c.decoded, 3);
                }
            })
        };
        let mut consistent = 0;
        for _ in 0..2000 {
            let s = c.snapshot_consistent();
            if s.consistent {
                consistent += 1;
                assert!(s.frames().balanced(), "{:?}", s.frames());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        w.join().unwrap();
        assert!(consistent > 0);
    }

    #[test]
    fn prometheus_text_has_help_type_and_a_histogram() {
        let c = Counters::default();
        Counters::add(&c.frames_read, 7);
        c.count_alert("port \"scan\"");
        c.count_events("network_traffic.flow", 4);
        c.latency.observe(3_000_000, 2);
        let text = c.snapshot_consistent().to_prometheus();
        assert!(text
            .contains("# TYPE wirebeat_frames_read_total counter\nwirebeat_frames_read_total 7\n"));
        assert!(text.contains("# TYPE wirebeat_queue_events gauge\n"));
        assert!(text.contains("wirebeat_alerts_total{rule=\"port \\\"scan\\\"\"} 1\n"), "{text}");
        assert!(text.contains("wirebeat_events_total{dataset=\"network_traffic.flow\"} 4\n"));
        assert!(text.contains("wirebeat_capture_to_ack_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("wirebeat_capture_to_ack_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("wirebeat_capture_to_ack_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("wirebeat_capture_to_ack_seconds_count 2\n"));
    }
}
