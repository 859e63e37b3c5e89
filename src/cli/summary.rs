//! The end-of-run summary on stderr: a few grouped lines (capture, decode, flows and
//! transactions, delivery, then alerts by rule), each starting `wirebeat summary <group>:`, read
//! from the same snapshot as the stats endpoint and the health events.
//!
//! Zero counters are hidden so the lines say what happened; `--all-counters` (or
//! `WIREBEAT_ALL_COUNTERS=1`) shows every one. A few are always shown, being the answer to "did
//! it work": frames read, decoded, events written of those handed to the output. Every entry is
//! `name=value` with a name unique across the lines, so scripts and tests can pick one out.

use crate::pipeline::RunResult;
use crate::stats::snapshot::Snapshot;
use crate::stats::Counters;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--all-counters` was given.
static ALL: AtomicBool = AtomicBool::new(false);

/// Show zero counters too (`--all-counters`).
pub fn show_all(all: bool) {
    ALL.store(all, Ordering::Relaxed);
}

fn all_counters() -> bool {
    ALL.load(Ordering::Relaxed)
        || std::env::var("WIREBEAT_ALL_COUNTERS").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[allow(clippy::print_stderr)]
pub fn print(c: &Counters, result: &RunResult) {
    for line in lines(&c.snapshot_consistent(), result, all_counters()) {
        eprintln!("{line}");
    }
}

/// One group's line: `always` entries shown whatever their value, the others when not zero
/// (or `all`). Entries are (name, value); a name with a space is written `name value`
/// (e.g. `written=3 of 5` is the entry ("written", …) followed by ("of", …)).
struct Line {
    group: &'static str,
    parts: Vec<String>,
    all: bool,
}

impl Line {
    fn new(group: &'static str, all: bool) -> Self {
        Line { group, parts: Vec::new(), all }
    }

    fn always(&mut self, name: &str, v: u64) -> &mut Self {
        self.parts.push(format!("{name}={v}"));
        self
    }

    fn some(&mut self, name: &str, v: u64) -> &mut Self {
        if v != 0 || self.all {
            self.parts.push(format!("{name}={v}"));
        }
        self
    }

    /// A labelled sub-list (`dropped: a=1 b=2`), shown when one of them is.
    fn list(&mut self, label: &str, items: &[(&str, u64)]) -> &mut Self {
        let shown: Vec<String> = items
            .iter()
            .filter(|(_, v)| *v != 0 || self.all)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !shown.is_empty() {
            self.parts.push(format!("{label}: {}", shown.join(" ")));
        }
        self
    }

    fn text(&self) -> Option<String> {
        (!self.parts.is_empty())
            .then(|| format!("wirebeat summary {}: {}", self.group, self.parts.join("; ")))
    }
}

/// The summary's lines.
pub fn lines(s: &Snapshot, result: &RunResult, all: bool) -> Vec<String> {
    let g = |n: &str| s.get(n);
    let mut capture = Line::new("capture", all);
    capture.always("read", g("frames_read")).some("bytes", g("wire_bytes_read")).list(
        "dropped before decoding",
        &[
            ("kernel", g("dropped_kernel")),
            ("interface", g("dropped_interface")),
            ("channel_full", g("dropped_channel_full")),
            ("unprocessed", g("dropped_unprocessed")),
        ],
    );
    capture.some("capture_file_errors", g("capture_file_errors"));
    capture.some("clock_jumps_ignored", g("clock_jumps_ignored"));

    let mut decode = Line::new("decode", all);
    decode.always("decoded", g("decoded")).list(
        "dropped",
        &[
            ("non_ip", g("non_ip")),
            ("malformed", g("malformed")),
            ("unsupported_linktype", g("unsupported_linktype")),
            ("tunnel_too_deep", g("tunnel_too_deep")),
            ("fragment_lost", g("fragment_lost")),
        ],
    );
    decode.list(
        "pending",
        &[("in_flight", g("frames_in_flight")), ("fragments_held", g("fragment_frames_pending"))],
    );
    decode.list(
        "also counted",
        &[
            ("truncated", g("truncated")),
            ("tunnelled", g("tunnelled")),
            ("fragments", g("fragments")),
            ("reassembled", g("reassembled")),
            ("fragments_refused", g("fragment_dropped")),
            ("fragments_timed_out", g("fragments_timed_out")),
            ("fragments_evicted", g("fragments_evicted")),
            ("fragment_overlaps", g("fragment_overlaps")),
            ("fragment_duplicates", g("fragment_duplicates")),
        ],
    );
    let f = s.frames();
    if !f.balanced() {
        let sum: u64 = f.outcomes.iter().chain(&f.in_pipeline).map(|(_, v)| v).sum();
        decode.always("unaccounted", f.received.wrapping_sub(sum));
    }

    let mut flows = Line::new("flows", all);
    flows
        .some("flows", g("flows_created"))
        .some("flows_evicted", g("flows_evicted"))
        .some("flows_active", s.flows_active())
        .some("transactions", g("transactions"))
        .list(
            "messages",
            &[
                ("malformed_messages", g("app_malformed")),
                ("limit_hits", g("app_limit_hits")),
                ("unmatched", g("app_unmatched")),
                ("content_overrides", g("app_content_overrides")),
                ("handoffs", g("app_handoffs")),
            ],
        )
        .list(
            "tcp",
            &[
                ("out_of_order", g("tcp_out_of_order")),
                ("gaps", g("tcp_gaps")),
                ("gap_bytes", g("tcp_gap_bytes")),
                ("retransmitted_bytes", g("tcp_retransmitted_bytes")),
                ("overlap_bytes", g("tcp_overlap_bytes")),
                ("out_of_window_bytes", g("tcp_out_of_window_bytes")),
                ("resyncs", g("tcp_resyncs")),
                ("holes_acked", g("tcp_holes_acked")),
            ],
        );

    let mut delivery = Line::new("delivery", all);
    delivery
        .some("built", g("events_built"))
        .some("dropped_by_processors", g("events_dropped_processor"))
        .some("processor_field_errors", g("processor_field_errors"));
    delivery.parts.push(format!("written={} of {}", g("events_acked"), g("events_published")));
    delivery
        .some("rejected", g("events_rejected"))
        .some("dead_lettered", g("events_dead_lettered"))
        .some("retried", g("events_retried"))
        .some("duplicate", g("events_duplicate"))
        .list(
            "dropped",
            &[
                ("queue_full", g("dropped_queue_full")),
                ("output_failed", g("dropped_output_failed")),
                ("shutdown", g("dropped_shutdown")),
                ("retries_exhausted", g("dropped_retries_exhausted")),
                ("spool_error", g("dropped_spool_error")),
            ],
        )
        .list(
            "queue",
            &[
                ("queued", g("queue_events")),
                ("queue_bytes", g("queue_bytes")),
                ("blocked", g("queue_blocked")),
            ],
        )
        .list(
            "spool",
            &[
                ("spool_bytes", g("spool_bytes")),
                ("replayed", g("spool_replayed")),
                ("torn", g("spool_torn_records")),
                ("corrupt", g("spool_corrupt_records")),
                ("ack_beyond_data", g("spool_ack_beyond_data")),
                ("spool_errors", g("spool_errors")),
            ],
        );
    if let Some(e) = &result.output_error {
        delivery.parts.push(format!("output error: {e}"));
    }

    // Detection: what `alerts_only` kept back and the evidence files, then a line per rule
    // that fired (the alerts-by-rule family).
    let mut detection = Line::new("detection", all);
    detection.some("not_written_alerts_only", g("events_filtered_alerts_only")).list(
        "evidence",
        &[
            ("evidence_files", g("evidence_files")),
            ("evidence_files_deleted", g("evidence_files_deleted")),
            ("evidence_frames_written", g("evidence_frames_written")),
            ("evidence_frames_not_kept", g("evidence_frames_not_kept")),
            ("evidence_frames_refused", g("evidence_frames_refused")),
            ("evidence_errors", g("evidence_errors")),
        ],
    );
    let mut alerts = Line::new("alerts", all);
    for (rule, n) in &s.alerts_by_rule {
        alerts.always(rule, *n);
    }

    [capture, decode, flows, delivery, detection, alerts].iter().filter_map(Line::text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: &Counters, all: bool) -> String {
        lines(&c.snapshot_consistent(), &RunResult::default(), all).join("\n")
    }

    // Regression (issue 15): fragment evictions were missing from the `read` summary.
    #[test]
    fn summary_shows_fragment_evictions_and_duplicates() {
        let c = Counters::default();
        Counters::add(&c.fragments_evicted, 7);
        Counters::add(&c.fragment_duplicates, 99_999);
        let t = text(&c, false);
        assert!(t.contains(" fragments_evicted=7 "), "{t}");
        assert!(t.contains(" fragment_duplicates=99999"), "{t}");
    }

    #[test]
    fn groups_hide_zeros_unless_asked_and_names_are_unique() {
        let c = Counters::default();
        Counters::add(&c.frames_read, 2);
        Counters::add(&c.non_ip, 1);
        Counters::add(&c.malformed, 1);
        Counters::add(&c.truncated, 1);
        c.count_alert("port_scan");
        c.count_alert("port_scan");
        let t = text(&c, false);
        assert_eq!(
            t,
            "wirebeat summary capture: read=2\n\
             wirebeat summary decode: decoded=0; dropped: non_ip=1 malformed=1; also counted: \
             truncated=1\n\
             wirebeat summary delivery: written=0 of 0\n\
             wirebeat summary alerts: port_scan=2"
        );
        let all = text(&c, true);
        assert!(all.contains(" kernel=0 ") && all.contains(" spool_errors=0"), "{all}");
        // Every name once, so `name=` picks one number.
        let names: Vec<&str> =
            all.split([' ', '\n']).filter_map(|w| w.split_once('=').map(|(k, _)| k)).collect();
        let set: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(set.len(), names.len(), "{all}");
    }

    #[test]
    fn frames_that_do_not_add_up_are_said() {
        let c = Counters::default();
        Counters::add(&c.frames_read, 3);
        Counters::add(&c.decoded, 1);
        assert!(text(&c, false).contains(" unaccounted=2"));
    }
}
