//! Counters of the whole pipeline: every place that can drop something has one here.
//!
//! One mechanism, two forms. Each stage keeps plain `u64` counters of its own, declared with
//! [`local_counters!`] (which also names the run counter each one feeds), and the worker
//! publishes them once per batch with [`Counters::publish`] (a few atomic adds per batch, none
//! per packet). The run's shared [`Counters`] are declared with `counters!`. The summary
//! printed at exit and the sensor-health events read these.
//!
//! A leaf module: stages import it, it imports no stage.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
        pub struct $name { $($(#[$fm])* pub $field: AtomicU64,)* }

        impl $name {
            /// (name, value) of every counter, in declaration order.
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
        decoded,
        fragment_held,
        non_ip,
        unsupported_linktype,
        malformed,
        fragment_dropped,
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
