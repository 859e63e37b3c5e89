//! Counters of the whole pipeline: every place that can drop something has one here.
//!
//! One mechanism, two forms. Each stage keeps plain `u64` counters of its own, declared with
//! [`local_counters!`] (which also names the run counter each one feeds), and the worker
//! publishes them once per batch with [`Counters::publish`] (a few atomic adds per batch, none
//! per packet). The run's shared [`Counters`] are declared with `counters!`.
//!
//! One source of truth for every reader: [`Counters::snapshot_consistent`] ([`snapshot`]) is
//! what the end-of-run summary, the sensor-health events and the stats endpoint ([`http`]:
//! `/stats` JSON, `/metrics` Prometheus text) all read.
//!
//! Reconciliation (the invariants a snapshot satisfies, checked by tests/stats.rs):
//! - frames: `frames_read` = outcomes ([`snapshot::FRAME_OUTCOMES`]: `decoded` and each drop
//!   cause) + frames still inside the pipeline (`frames_in_flight` in worker channels,
//!   `fragment_frames_pending` held for reassembly). Kernel/interface drops are frames the
//!   capture never got: they are reported beside `frames_read`, not in it.
//! - events: `events_built` + `spool_replayed` = final outcomes ([`snapshot::EVENT_OUTCOMES`]:
//!   acknowledged, rejected, dropped by cause) + `queue_events` + `events_in_transit` (made by
//!   a worker, not yet in the queue) − `events_pending_ack` (a final outcome already counted
//!   while the batch is still in the queue, unacknowledged).
//!
//! A writer that moves a quantity from one counter to another does it inside a
//! [`Counters::section`]; the snapshot retries until no section ran while it read, so the
//! identities hold exactly in every snapshot, at any moment of a run, without a lock on the
//! data path (a section is two atomic adds).
//!
//! A leaf module: stages import it, it imports no stage.

pub mod http;
pub mod snapshot;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Mutex;

/// Plain counters a stage keeps for itself and publishes into the run's [`Counters`].
pub trait Publish {
    /// Calls `f` with the run counter's name and the value of every counter.
    fn each(&self, f: &mut dyn FnMut(&'static str, u64));
}

/// Declares a stage's local counters: `field => run_counter` entries (the run counter in
/// [`Counters`] it is added to), then optionally `; group: Type` entries of nested local
/// counters. Generates the struct (`u64` fields), `add` (merging another's counts) and
/// [`Publish`].
macro_rules! local_counters {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $($(#[$fm:meta])* $field:ident => $global:ident),* $(,)?
            $(; $($group:ident : $gty:ty),* $(,)?)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fm])* pub $field: u64,)*
            $($(pub $group: $gty,)*)?
        }

        impl $name {
            /// Adds another's counts to these.
            pub fn add(&mut self, o: &Self) {
                $(self.$field += o.$field;)*
                $($(self.$group.add(&o.$group);)*)?
            }
        }

        impl $crate::stats::Publish for $name {
            fn each(&self, f: &mut dyn FnMut(&'static str, u64)) {
                $(f(stringify!($global), self.$field);)*
                $($($crate::stats::Publish::each(&self.$group, f);)*)?
            }
        }
    };
}
pub(crate) use local_counters;

macro_rules! counters {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default)]
        pub struct $name {
            $($(#[$fm])* pub $field: AtomicU64,)*
            /// Labelled counter families (events by dataset, alerts by rule).
            pub families: Families,
            /// Capture-to-acknowledgement latency.
            pub latency: Histogram,
            sections: Sections,
        }

        impl $name {
            /// Names of every counter, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field),)*];

            /// (name, value) of every counter, in declaration order (each read on its own:
            /// see [`Counters::snapshot_consistent`] for a snapshot whose sums add up).
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field.load(Relaxed)),)*]
            }

            /// The counter called `name`.
            pub fn by_name(&self, name: &str) -> Option<&AtomicU64> {
                match name {
                    $(stringify!($field) => Some(&self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

counters!(
    /// Shared counters of one run.
    Counters {
        /// Frames read from capture files or interfaces.
        frames_read,
        /// Bytes of those frames as on the wire.
        wire_bytes_read,
        /// Frames dropped because a worker's channel was full (live capture only; `read`
        /// blocks instead).
        dropped_channel_full,
        /// Frames the kernel or libpcap dropped (from pcap_stats).
        dropped_kernel,
        /// Frames dropped by the interface driver (from pcap_stats).
        dropped_interface,
        /// Capture files that could not be opened or were cut short.
        capture_file_errors,
        /// Frames whose timestamp jumped too far ahead to move the packet clock.
        clock_jumps_ignored,
        /// Frames handed to a worker and not yet processed (gauge).
        frames_in_flight,
        /// Frames held by the defragmenters, waiting for the rest of their datagram (gauge).
        fragment_frames_pending,
        /// Frames skipped unprocessed because the drain limit passed (their worker was told
        /// to stop).
        dropped_unprocessed,
        /// Frame outcomes of the decoder (`decode::DecodeStats`): a frame that reached the
        /// flow table (alone, or as one of the N frames of a datagram, counted N).
        decoded,
        /// Frames put on hold for reassembly (informational: each is counted again in an
        /// outcome once its datagram completes, expires or is evicted).
        fragment_held,
        non_ip,
        unsupported_linktype,
        malformed,
        /// Fragments whose bytes the defragmenter refused (cache limits, oversize, bad
        /// geometry); informational: their frames still count through their datagram.
        fragment_dropped,
        /// Fragments that could not be placed in any datagram (an outcome: lost).
        fragment_lost,
        tunnel_too_deep,
        truncated,
        tunnelled,
        fragments,
        reassembled,
        fragment_overlaps,
        fragments_timed_out,
        fragments_evicted,
        fragment_duplicates,
        flows_created,
        flows_ended,
        flows_evicted,
        flow_reports,
        /// Application layer: transactions published, protocol chosen by port / by content.
        transactions,
        app_by_port,
        app_by_content,
        /// Flows whose port-chosen protocol rejected the first bytes and content chose
        /// another; streams handed on to another protocol (CONNECT, 101, STARTTLS).
        app_content_overrides,
        app_handoffs,
        /// Parser messages, malformed messages, limit hits, unmatched responses.
        app_messages,
        app_malformed,
        app_limit_hits,
        app_unmatched,
        /// TCP reassembly: retransmitted and overlapping bytes dropped, out-of-order segments,
        /// gaps given up and their bytes.
        tcp_retransmitted_bytes,
        tcp_overlap_bytes,
        tcp_out_of_order,
        tcp_gaps,
        tcp_gap_bytes,
        /// TCP bytes of segments too far ahead of the stream to have been in flight (dropped).
        tcp_out_of_window_bytes,
        /// TCP streams resynchronised beyond the window after a loss larger than it (a gap
        /// whose bytes are not counted), and holes given up because the peer acknowledged past
        /// them.
        tcp_resyncs,
        tcp_holes_acked,
        /// Events made by the pipeline (flow reports, transactions, alerts, health events).
        events_built,
        /// Events made by a worker that are not in the queue yet (gauge).
        events_in_transit,
        /// Events with a final outcome already counted whose batch the queue has not been
        /// told yet (gauge; the batch is acknowledged when all of it has one).
        events_pending_ack,
        /// Events handed to the output.
        events_published,
        /// Events the output confirmed.
        events_acked,
        /// Events the output refused for good (counted, logged).
        events_rejected,
        /// Of the rejected events, those written to the output's dead-letter file.
        events_dead_lettered,
        /// Events the output already had (Elasticsearch 409 on `create`): delivered before.
        events_duplicate,
        /// Sends of an event that had to be repeated (output busy or down).
        events_retried,
        /// Events in the queue now, including those being sent (gauge), and their JSON bytes.
        queue_events,
        queue_bytes,
        /// Pushes that had to wait for room (`when_full: block`).
        queue_blocked,
        /// Events dropped because the queue was full (`when_full: drop_newest`).
        dropped_queue_full,
        /// Events dropped because the output failed for good (memory queue only).
        dropped_output_failed,
        /// Events dropped because the drain limit (`wirebeat.shutdown_timeout`) passed before
        /// they were delivered (memory queue only; the spool keeps them for the next start).
        dropped_shutdown,
        /// Events dropped after the output's `max_retries` resends all failed (memory queue
        /// only; with the spool they are retried until delivered).
        dropped_retries_exhausted,
        /// Events dropped because the spool could not write them.
        dropped_spool_error,
        /// Bytes of the spool's segments on disk (gauge).
        spool_bytes,
        /// Events found unconfirmed in the spool at start and sent again.
        spool_replayed,
        /// Records cut short by a stop while writing, removed at start.
        spool_torn_records,
        /// Records failing their checksum at start (the rest of their segment is cut).
        spool_corrupt_records,
        /// Acknowledgements found pointing past the spool's data at start (not trusted: the
        /// records are sent again).
        spool_ack_beyond_data,
        /// Spool read/write/acknowledgement failures (logged).
        spool_errors,
        /// Flow and transaction events not written because of `wirebeat.detect.alerts_only`
        /// (made and tracked, filtered by choice: not a drop).
        events_filtered_alerts_only,
        /// Events a `drop_event` processor dropped (made, not written: by choice, not a
        /// loss; like `events_filtered_alerts_only`, not in `events_built`).
        events_dropped_processor,
        /// Fields a `drop_fields` processor was asked to drop that the event did not have
        /// (without `ignore_missing`; the event goes on).
        processor_field_errors,
        /// `wirebeat.detect.evidence`: files made, files deleted by rotation, frames written,
        /// frames a worker's ring did not keep (their source held its share), frames refused
        /// (file or directory full, other link type), file errors (logged).
        evidence_files,
        evidence_files_deleted,
        evidence_frames_written,
        evidence_frames_not_kept,
        evidence_frames_refused,
        evidence_errors,
    }
);

impl Counters {
    /// A stretch of updates that moves counts between counters: snapshots never see half of
    /// it. Keep it short and never block inside one.
    pub fn section(&self) -> Section<'_> {
        self.sections.active.fetch_add(1, SeqCst);
        Section(&self.sections)
    }

    /// Subtracts from a gauge.
    pub fn sub(c: &AtomicU64, v: u64) {
        c.fetch_sub(v, Relaxed);
    }

    /// Counts `n` events of `dataset` made by the pipeline (the `events_built` family).
    pub fn count_events(&self, dataset: &'static str, n: u64) {
        self.families.count(&self.families.events_by_dataset, dataset, n);
    }

    /// Counts one alert of `rule` (`rule.name`): the detection stage calls this for every
    /// alert it emits; the endpoint shows `alerts_by_rule`, the summary a line per rule.
    pub fn count_alert(&self, rule: &str) {
        self.families.count(&self.families.alerts_by_rule, rule, 1);
    }

    /// Adds a stage's local counters to the run's (only those that are not zero).
    pub fn publish(&self, local: &impl Publish) {
        local.each(&mut |name, v| {
            if v != 0 {
                match self.by_name(name) {
                    Some(c) => {
                        c.fetch_add(v, Relaxed);
                    }
                    None => debug_assert!(false, "local counter feeds unknown run counter {name}"),
                }
            }
        });
    }

    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Relaxed)
    }

    pub fn add(c: &AtomicU64, v: u64) {
        c.fetch_add(v, Relaxed);
    }

    pub fn set(c: &AtomicU64, v: u64) {
        c.store(v, Relaxed);
    }
}

/// Wall-clock nanoseconds since the Unix epoch: the latency histogram's stamps (read once per
/// epoch at the capture boundary and at acknowledgement, never per packet).
pub fn wall_clock_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Writers inside a section now, and sections ended so far ([`Counters::section`]).
#[derive(Debug, Default)]
struct Sections {
    active: AtomicU64,
    ended: AtomicU64,
}

/// An open [`Counters::section`]; ends when dropped.
pub struct Section<'a>(&'a Sections);

impl Drop for Section<'_> {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, SeqCst);
        self.0.active.fetch_sub(1, SeqCst);
    }
}

impl Sections {
    /// Runs `read` until no section was open or ended while it ran (at most `tries` times);
    /// returns what it read and whether that read was undisturbed. A reader that saw no
    /// writer active at its start and, at its end, still none and the same count of ended
    /// sections, read between two sections: every section is in it whole or not at all.
    fn read<T>(&self, tries: usize, mut read: impl FnMut() -> T) -> (T, bool) {
        for _ in 1..tries {
            let before = self.ended.load(SeqCst);
            if self.active.load(SeqCst) == 0 {
                let v = read();
                if self.active.load(SeqCst) == 0 && self.ended.load(SeqCst) == before {
                    return (v, true);
                }
            }
            std::thread::yield_now();
        }
        (read(), false)
    }
}

/// Counter families with a label: few distinct labels (datasets, rule names), so a locked
/// map is cheap; counted once per part of events or per alert, never per packet.
#[derive(Debug, Default)]
pub struct Families {
    /// Events made, by `data_stream.dataset`.
    pub events_by_dataset: Mutex<BTreeMap<String, u64>>,
    /// Alerts emitted, by rule name.
    pub alerts_by_rule: Mutex<BTreeMap<String, u64>>,
}

impl Families {
    fn count(&self, family: &Mutex<BTreeMap<String, u64>>, label: &str, n: u64) {
        let mut m = family.lock().unwrap_or_else(|p| p.into_inner());
        match m.get_mut(label) {
            Some(v) => *v += n,
            None => {
                m.insert(label.to_owned(), n);
            }
        }
    }

    fn read(family: &Mutex<BTreeMap<String, u64>>) -> BTreeMap<String, u64> {
        family.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Upper bounds (seconds) of the latency histogram's buckets; `+Inf` follows.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A fixed-bucket histogram of durations (Prometheus style: counts per upper bound).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Non-cumulative counts: `buckets[i]` for `LATENCY_BUCKETS[i]`, the last for `+Inf`.
    buckets: [AtomicU64; 15],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// Records `n` observations of `ns` nanoseconds.
    pub fn observe(&self, ns: u64, n: u64) {
        let secs = ns as f64 / 1e9;
        let i = LATENCY_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(LATENCY_BUCKETS.len());
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(n, Relaxed);
        }
        self.sum_ns.fetch_add(ns.saturating_mul(n), Relaxed);
        self.count.fetch_add(n, Relaxed);
    }

    /// Cumulative counts per bucket (the last is `+Inf`, equal to the count), sum (seconds),
    /// count.
    pub fn read(&self) -> (Vec<u64>, f64, u64) {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Relaxed);
                acc
            })
            .collect();
        (cumulative, self.sum_ns.load(Relaxed) as f64 / 1e9, self.count.load(Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run counters a local counter struct names.
    fn names(local: &impl Publish) -> Vec<&'static str> {
        let mut v = Vec::new();
        local.each(&mut |name, _| v.push(name));
        v
    }

    #[test]
    fn every_local_counter_feeds_a_run_counter() {
        let run = Counters::default();
        let locals = [
            names(&crate::decode::DecodeStats::default()),
            names(&crate::flow::FlowStats::default()),
            names(&crate::flow::app::AppStats::default()),
        ];
        for name in locals.concat() {
            assert!(run.by_name(name).is_some(), "{name} is not a run counter");
        }
        // AppStats carries the parser and stream counters through its groups.
        let app = names(&crate::flow::app::AppStats::default());
        assert!(app.contains(&"app_limit_hits") && app.contains(&"tcp_gap_bytes"));
    }

    #[test]
    fn publish_adds_only_what_was_counted() {
        let run = Counters::default();
        let mut d = crate::decode::DecodeStats { decoded: 3, ..Default::default() };
        d.add(&crate::decode::DecodeStats { decoded: 2, malformed: 1, ..Default::default() });
        run.publish(&d);
        run.publish(&d);
        assert_eq!(run.get(&run.decoded), 10);
        assert_eq!(run.get(&run.malformed), 2);
        let mut app = crate::flow::app::AppStats::default();
        app.streams.gaps = 4;
        app.parsers.messages = 7;
        run.publish(&app);
        assert_eq!((run.get(&run.tcp_gaps), run.get(&run.app_messages)), (4, 7));
    }
}
