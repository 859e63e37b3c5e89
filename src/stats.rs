//! Counters of the whole pipeline: every place that can drop something has one here.
//!
//! Workers keep plain local counters and publish them once per batch (a few atomic adds per
//! batch, none per packet). The summary printed at exit and, later, the stats endpoint and the
//! sensor-health events read these.

use crate::decode::DecodeStats;
use crate::flow::FlowStats;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    }
);

impl Counters {
    pub fn add_decode(&self, d: &DecodeStats) {
        let pairs = [
            (&self.decoded, d.decoded),
            (&self.fragment_held, d.fragment_held),
            (&self.non_ip, d.non_ip),
            (&self.unsupported_linktype, d.unsupported_linktype),
            (&self.malformed, d.malformed),
            (&self.fragment_dropped, d.fragment_dropped),
            (&self.tunnel_too_deep, d.tunnel_too_deep),
            (&self.truncated, d.truncated),
            (&self.tunnelled, d.tunnelled),
            (&self.fragments, d.fragments),
            (&self.reassembled, d.reassembled),
            (&self.fragment_overlaps, d.fragment_overlaps),
            (&self.fragments_timed_out, d.fragments_timed_out),
            (&self.fragments_evicted, d.fragments_evicted),
            (&self.fragment_duplicates, d.fragment_duplicates),
        ];
        for (c, v) in pairs {
            if v != 0 {
                c.fetch_add(v, Relaxed);
            }
        }
    }

    pub fn add_flows(&self, f: &FlowStats) {
        for (c, v) in [
            (&self.flows_created, f.created),
            (&self.flows_ended, f.ended),
            (&self.flows_evicted, f.evicted),
            (&self.flow_reports, f.reports),
        ] {
            if v != 0 {
                c.fetch_add(v, Relaxed);
            }
        }
    }

    pub fn add_app(&self, a: &crate::flow::app::AppStats) {
        for (c, v) in [
            (&self.transactions, a.transactions),
            (&self.app_by_port, a.by_port),
            (&self.app_by_content, a.by_content),
            (&self.app_messages, a.parsers.messages),
            (&self.app_malformed, a.parsers.malformed),
            (&self.app_limit_hits, a.parsers.limit_hits),
            (&self.app_unmatched, a.parsers.unmatched),
            (&self.tcp_retransmitted_bytes, a.streams.retransmitted_bytes),
            (&self.tcp_overlap_bytes, a.streams.overlap_bytes),
            (&self.tcp_out_of_order, a.streams.out_of_order_segments),
            (&self.tcp_gaps, a.streams.gaps),
            (&self.tcp_gap_bytes, a.streams.gap_bytes),
            (&self.tcp_out_of_window_bytes, a.streams.out_of_window_bytes),
        ] {
            if v != 0 {
                c.fetch_add(v, Relaxed);
            }
        }
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
