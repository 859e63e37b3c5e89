//! TCP stream reassembly, one direction.
//!
//! Delivers the payload in sequence order as [`Chunk::Data`]; retransmitted bytes are dropped
//! (counted), overlapping bytes are trimmed with the first-seen copy winning (counted),
//! out-of-order segments are held up to `max_pending_bytes` of *memory* (each segment costs its
//! bytes plus [`SEGMENT_OVERHEAD`], so a flood of 1-byte segments holds no more than the limit);
//! when that limit is hit, or the stream ends with a hole, the hole is delivered as
//! [`Chunk::Gap`] and counted. A stream picked up mid-way starts at the first segment seen.
//!
//! Window: a segment that starts further ahead than [`Reassembler::window`] (the out-of-order
//! limit, at least [`MIN_WINDOW`]) cannot have been in flight behind what we hold; random-sequence
//! junk lands there almost always. It is dropped and counted (`out_of_window_bytes`) unless the
//! next far segment continues it exactly, which is what a real capture loss larger than the
//! window looks like: then the stream resynchronises there. The gap bytes counted for one hole
//! are at most the window, so junk cannot inflate `gap_bytes` beyond what could be missing.

use std::collections::BTreeMap;

/// Memory an out-of-order segment costs beyond its bytes: its key and `Vec` in the map, the
/// allocator's header of its buffer (16 bytes with glibc) and its share of a B-tree node.
pub const SEGMENT_OVERHEAD: usize =
    std::mem::size_of::<u64>() + std::mem::size_of::<Vec<u8>>() + 16 + 16;

/// Smallest window a segment may start ahead of the delivered position (a default TCP window).
pub const MIN_WINDOW: u64 = 65_535;

/// What the parser receives, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// `len` bytes of sequence space are missing here; `counted` of them count as lost
    /// (`gap_bytes`): all of a hole inside the window, none of a resynchronisation beyond it.
    Gap {
        len: u64,
        counted: u64,
    },
}

crate::stats::local_counters! {
    pub struct StreamStats {
        retransmitted_bytes => tcp_retransmitted_bytes,
        overlap_bytes => tcp_overlap_bytes,
        out_of_order_segments => tcp_out_of_order,
        gaps => tcp_gaps,
        gap_bytes => tcp_gap_bytes,
        /// Bytes of segments that started beyond the window and were dropped.
        out_of_window_bytes => tcp_out_of_window_bytes,
        /// Times a stream resynchronised beyond the window after a loss larger than it.
        resyncs => tcp_resyncs,
        /// Holes given up because the peer acknowledged past them.
        holes_acked => tcp_holes_acked,
    }
}

pub struct Reassembler {
    /// Next sequence number expected; `None` until the first SYN or data segment.
    next: Option<u32>,
    /// Held segments by their offset from `next` at insertion time, stored as absolute seq.
    pending: BTreeMap<u64, Vec<u8>>,
    /// Memory held by `pending` (bytes plus [`SEGMENT_OVERHEAD`] each) and `far`.
    pending_bytes: usize,
    max_pending_bytes: usize,
    /// The last segment seen beyond the window (offset, bytes): if the next one continues it,
    /// the stream resynchronises there.
    far: Option<(u64, Vec<u8>)>,
    /// Sequence numbers are tracked as 64-bit offsets from `base` to survive wrap-around.
    base: u32,
    /// The start another SYN of this direction gave (before any data), kept until data
    /// comes: the peer's acknowledgement tells which of the two the stream uses.
    other_start: Option<u32>,
    delivered: u64,
    fin: bool,
    pub stats: StreamStats,
}

impl Reassembler {
    pub fn new(max_pending_bytes: usize) -> Self {
        Reassembler {
            next: None,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            max_pending_bytes,
            far: None,
            base: 0,
            other_start: None,
            delivered: 0,
            fin: false,
            stats: StreamStats::default(),
        }
    }

    /// Memory held for out-of-order segments: at most the limit after every call.
    pub fn held_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// No byte of this direction seen yet (SYNs only).
    fn fresh(&self) -> bool {
        self.delivered == 0 && self.pending.is_empty() && self.far.is_none()
    }

    /// How far ahead of the delivered position a segment may start.
    pub fn window(&self) -> u64 {
        (self.max_pending_bytes as u64).max(MIN_WINDOW)
    }

    /// Whether a FIN was seen in this direction.
    pub fn finished(&self) -> bool {
        self.fin
    }

    /// Offset of a sequence number relative to the stream start, near the delivered position.
    fn offset(&self, seq: u32) -> u64 {
        let rel = seq.wrapping_sub(self.base);
        let cur = self.delivered;
        // Choose the 2^32 window closest to what was delivered so far.
        let hi = cur & !0xffff_ffff;
        let cands = [hi.wrapping_sub(1 << 32), hi, hi + (1 << 32)];
        let mut best = hi + u64::from(rel);
        let mut best_d = u64::MAX;
        for c in cands {
            let v = c.wrapping_add(u64::from(rel));
            let d = v.abs_diff(cur);
            if d < best_d {
                best_d = d;
                best = v;
            }
        }
        best
    }

    /// Feeds one segment. `syn` marks the SYN (its sequence number is the ISN).
    pub fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if syn {
            // The first SYN sets the stream's start; a later SYN with another ISN before any
            // byte of this direction was seen restarts it (a middlebox or a new attempt chose
            // another ISN: the data that follows continues the last one, not the first).
            if self.next.is_none() {
                self.base = seq.wrapping_add(1);
                self.next = Some(self.base);
            } else if self.fresh() && self.next != Some(seq.wrapping_add(1)) {
                self.other_start = self.next;
                self.base = seq.wrapping_add(1);
                self.next = Some(self.base);
            }
            // Data on a SYN (TCP fast open) follows the ISN.
            if !payload.is_empty() {
                self.insert(seq.wrapping_add(1), payload, out);
            }
        } else if !payload.is_empty() {
            if self.next.is_none() {
                self.base = seq;
                self.next = Some(seq);
            }
            self.insert(seq, payload, out);
        }
        if fin {
            self.fin = true;
        }
    }

    fn insert(&mut self, seq: u32, payload: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        let start = self.offset(seq);
        let end = start + payload.len() as u64;
        if end <= self.delivered {
            self.stats.retransmitted_bytes += payload.len() as u64;
            return;
        }
        let mut data = payload;
        let mut start = start;
        if start < self.delivered {
            let skip = (self.delivered - start) as usize;
            self.stats.overlap_bytes += skip as u64;
            data = &data[skip..];
            start = self.delivered;
        }
        if start == self.delivered {
            self.delivered += data.len() as u64;
            out(Chunk::Data(data));
            self.drain(out);
        } else if start - self.delivered > self.window() {
            self.beyond_window(start, data, out);
        } else {
            self.stats.out_of_order_segments += 1;
            if !self.pending.contains_key(&start) {
                self.pending_bytes += data.len() + SEGMENT_OVERHEAD;
                self.pending.insert(start, data.to_vec());
            }
            while self.pending_bytes > self.max_pending_bytes && !self.pending.is_empty() {
                self.skip_hole(out);
            }
        }
    }

    /// A segment too far ahead to have been in flight: junk, or the stream after a capture loss
    /// larger than the window. Only a segment that continues the previous far one is taken.
    fn beyond_window(&mut self, start: u64, data: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        let continues = self.far.as_ref().is_some_and(|(s, d)| s + d.len() as u64 == start);
        if !continues {
            if let Some((_, old)) = self.far.take() {
                self.pending_bytes -= old.len() + SEGMENT_OVERHEAD;
                self.stats.out_of_window_bytes += old.len() as u64;
            }
            if data.len() + SEGMENT_OVERHEAD
                <= self.max_pending_bytes.saturating_sub(self.pending_bytes)
            {
                self.pending_bytes += data.len() + SEGMENT_OVERHEAD;
                self.far = Some((start, data.to_vec()));
            } else {
                self.stats.out_of_window_bytes += data.len() as u64;
            }
            return;
        }
        // Resynchronise: what is held before the far segment is delivered with its holes, then
        // the far segment and this one.
        let Some((far_start, far_data)) = self.far.take() else { return };
        self.pending_bytes -= far_data.len() + SEGMENT_OVERHEAD;
        self.flush(out);
        // How much was skipped beyond the window is unknown (sequence space, not bytes seen
        // missing): the gap is counted, its bytes are not.
        self.stats.resyncs += 1;
        self.gap_to(far_start, false, out);
        self.delivered = far_start + far_data.len() as u64;
        out(Chunk::Data(&far_data));
        self.delivered += data.len() as u64;
        out(Chunk::Data(data));
    }

    /// Gives up the bytes from the delivered position to `start`: a gap. Its bytes count in
    /// `gap_bytes` when `within` (a hole inside the window, which is sequence space really
    /// skipped), not when the stream resynchronised beyond the window.
    fn gap_to(&mut self, start: u64, within: bool, out: &mut dyn FnMut(Chunk<'_>)) {
        if start > self.delivered {
            let len = start - self.delivered;
            self.stats.gaps += 1;
            let counted = if within { len.min(self.window()) } else { 0 };
            self.stats.gap_bytes += counted;
            self.delivered = start;
            out(Chunk::Gap { len, counted });
        }
    }

    /// The peer acknowledged `ack` (a sequence number of this direction): it has every byte
    /// before it. A hole below it, with data held after it, will not be filled by the capture
    /// (the sender does not retransmit what was acknowledged), so it is given up at once as a
    /// gap instead of waiting for the out-of-order limit or the end of the flow. An
    /// acknowledgement beyond the window or for bytes already delivered changes nothing.
    pub fn acked(&mut self, ack: u32, out: &mut dyn FnMut(Chunk<'_>)) {
        // SYNs with two ISNs, retransmitted in turns: the one the peer acknowledges is the
        // stream's.
        if self.fresh() && self.other_start == Some(ack) {
            self.other_start = self.next;
            self.base = ack;
            self.next = Some(ack);
            return;
        }
        if self.next.is_none() || self.pending.is_empty() {
            return;
        }
        let at = self.offset(ack);
        if at <= self.delivered || at - self.delivered > self.window() {
            return;
        }
        let before = self.stats.gaps;
        while let Some((&start, _)) = self.pending.iter().next() {
            if start > self.delivered && start >= at {
                // Only the acknowledged part of this hole is lost; the rest may still come.
                self.gap_to(at, true, out);
                break;
            }
            self.skip_hole(out);
        }
        self.stats.holes_acked += self.stats.gaps - before;
    }

    /// Delivers held segments that are now in order (trimming overlaps).
    fn drain(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some((&start, _)) = self.pending.iter().next() {
            if start > self.delivered {
                break;
            }
            let Some(data) = self.pending.remove(&start) else { break };
            self.pending_bytes -= data.len() + SEGMENT_OVERHEAD;
            let end = start + data.len() as u64;
            if end <= self.delivered {
                self.stats.retransmitted_bytes += data.len() as u64;
                continue;
            }
            let skip = (self.delivered - start) as usize;
            self.stats.overlap_bytes += skip as u64;
            self.delivered = end;
            out(Chunk::Data(&data[skip..]));
        }
    }

    /// Gives up on the hole before the first held segment: a gap, then what follows.
    fn skip_hole(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        if let Some((&start, _)) = self.pending.iter().next() {
            self.gap_to(start, true, out);
            self.drain(out);
        }
    }

    /// End of the stream: deliver everything held, with gaps for the holes. A lone segment
    /// beyond the window is dropped as such (counted): nothing showed it belongs to the stream.
    pub fn flush(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.skip_hole(out);
        }
        if let Some((_, old)) = self.far.take() {
            self.pending_bytes -= old.len() + SEGMENT_OVERHEAD;
            self.stats.out_of_window_bytes += old.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Reassembler, segs: &[(u32, &[u8])]) -> Vec<String> {
        let mut got = Vec::new();
        for (seq, data) in segs {
            r.segment(*seq, false, false, data, &mut |c| {
                got.push(match c {
                    Chunk::Data(d) => String::from_utf8_lossy(d).into_owned(),
                    Chunk::Gap { len, .. } => format!("<gap {len}>"),
                })
            });
        }
        r.flush(&mut |c| {
            got.push(match c {
                Chunk::Data(d) => String::from_utf8_lossy(d).into_owned(),
                Chunk::Gap { len, .. } => format!("<gap {len}>"),
            })
        });
        got
    }

    #[test]
    fn in_order_out_of_order_and_retransmission() {
        let mut r = Reassembler::new(1 << 16);
        r.segment(99, true, false, b"", &mut |_| {});
        let got = run(&mut r, &[(100, b"abc"), (106, b"ghi"), (103, b"def"), (100, b"abc")]);
        assert_eq!(got, ["abc", "def", "ghi"]);
        assert_eq!(r.stats.out_of_order_segments, 1);
        assert_eq!(r.stats.retransmitted_bytes, 3);
    }

    #[test]
    fn overlap_first_seen_wins() {
        let mut r = Reassembler::new(1 << 16);
        let got = run(&mut r, &[(0, b"abcd"), (2, b"XXef")]);
        assert_eq!(got, ["abcd", "ef"]);
        assert_eq!(r.stats.overlap_bytes, 2);
    }

    #[test]
    fn hole_becomes_a_gap_at_the_limit_and_at_the_end() {
        let mut r = Reassembler::new(4);
        let got = run(&mut r, &[(0, b"ab"), (5, b"fgh"), (9, b"jk")]);
        assert_eq!(got, ["ab", "<gap 3>", "fgh", "<gap 1>", "jk"]);
        assert_eq!(r.stats.gaps, 2);
        assert_eq!(r.stats.gap_bytes, 4);
    }

    #[test]
    fn sequence_wraps_around() {
        let mut r = Reassembler::new(1 << 16);
        let got = run(&mut r, &[(u32::MAX - 1, b"ab"), (0, b"cd")]);
        assert_eq!(got, ["ab", "cd"]);
    }

    #[test]
    fn data_on_syn_is_delivered() {
        let mut r = Reassembler::new(1 << 16);
        let mut got = Vec::new();
        r.segment(10, true, false, b"hello", &mut |c| got.push(format!("{c:?}")));
        r.segment(16, false, false, b"!", &mut |c| got.push(format!("{c:?}")));
        assert_eq!(got.len(), 2);
    }

    // Regression (issue 15): the limit counted payload bytes, so 1-byte segments held ~100 MB
    // per flow under a 1 MiB limit.
    #[test]
    fn one_byte_segments_hold_no_more_memory_than_the_limit() {
        let limit = 1 << 20;
        let mut r = Reassembler::new(limit);
        r.segment(0, true, false, b"", &mut |_| {});
        let mut delivered = 0u64;
        // Every other byte: each segment is out of order and never fills its hole.
        for i in 0..200_000u32 {
            r.segment(2 + 2 * i, false, false, b"x", &mut |c| {
                if let Chunk::Data(d) = c {
                    delivered += d.len() as u64;
                }
            });
            assert!(r.held_bytes() <= limit, "held {} after {i}", r.held_bytes());
        }
        assert!(r.held_bytes() > limit / 2, "the limit is used, not wasted");
        assert!(delivered > 150_000, "what does not fit is given up as gaps and delivered");
    }

    // Regression (issue 15): random-sequence junk inflated `gap_bytes` to terabytes.
    #[test]
    fn random_sequence_junk_counts_no_more_gap_than_the_window() {
        let mut r = Reassembler::new(1 << 20);
        r.segment(999, true, false, b"", &mut |_| {});
        r.segment(1000, false, false, b"hello", &mut |_| {});
        let mut x: u32 = 0x1234_5678;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            r.segment(x, false, false, &[0u8; 1400], &mut |_| {});
        }
        r.flush(&mut |_| {});
        // About one junk segment in 3,000 lands within the 1 MiB window.
        assert!(r.stats.gap_bytes < 200 << 20, "gap bytes {}", r.stats.gap_bytes);
        assert!(r.stats.out_of_window_bytes > 100_000 * 1400 * 9 / 10 / 2);
        assert!(r.held_bytes() == 0);
    }

    #[test]
    fn a_loss_larger_than_the_window_resynchronises_on_continuing_segments() {
        let mut r = Reassembler::new(1 << 16);
        let far = 10 << 20;
        let got = run(
            &mut r,
            &[
                (0, b"ab"),
                (far, b"cd"),
                (far + 2, b"ef"),
                (far + 4, b"gh"),
                (far + (1 << 20), b"x"),
            ],
        );
        assert_eq!(got, ["ab", format!("<gap {}>", far - 2).as_str(), "cd", "ef", "gh"]);
        assert_eq!(r.stats.gaps, 1);
        assert_eq!(r.stats.resyncs, 1);
        assert_eq!(r.stats.gap_bytes, 0, "sequence space beyond the window is not counted as lost");
        assert_eq!(r.stats.out_of_window_bytes, 1, "a lone far segment is dropped at the end");
    }

    fn collect(got: &mut Vec<String>) -> impl FnMut(Chunk<'_>) + '_ {
        |c| {
            got.push(match c {
                Chunk::Data(d) => String::from_utf8_lossy(d).into_owned(),
                Chunk::Gap { len, counted } => format!("<gap {len}/{counted}>"),
            })
        }
    }

    // A SYN answered twice with two ISNs (seen on a real capture: a middlebox's SYN-ACK then
    // the server's): the data follows the last ISN, and nothing is lost.
    #[test]
    fn a_later_syn_with_another_isn_restarts_a_direction_without_data() {
        let mut r = Reassembler::new(1 << 20);
        let mut got = Vec::new();
        r.segment(3_212_050_950, true, false, b"", &mut collect(&mut got));
        r.segment(97_572_840, true, false, b"", &mut collect(&mut got));
        r.segment(97_572_841, false, false, b"hello", &mut collect(&mut got));
        r.flush(&mut collect(&mut got));
        assert_eq!(got, ["hello"]);
        assert_eq!((r.stats.gaps, r.stats.out_of_window_bytes), (0, 0));
    }

    // The same capture: the two SYN-ACKs are retransmitted in turns; the client acknowledges
    // the second ISN, and its data follows.
    #[test]
    fn of_two_isns_retransmitted_in_turns_the_acknowledged_one_wins() {
        let mut r = Reassembler::new(1 << 20);
        let mut got = Vec::new();
        for isn in [3_212_050_950u32, 97_572_840, 3_212_050_950] {
            r.segment(isn, true, false, b"", &mut collect(&mut got));
        }
        r.acked(97_572_841, &mut collect(&mut got));
        r.segment(3_212_050_950, true, false, b"", &mut collect(&mut got));
        r.acked(97_572_841, &mut collect(&mut got));
        r.segment(97_572_841, false, false, b"hello", &mut collect(&mut got));
        r.flush(&mut collect(&mut got));
        assert_eq!(got, ["hello"]);
        assert_eq!((r.stats.gaps, r.stats.resyncs, r.stats.out_of_window_bytes), (0, 0, 0));
    }

    #[test]
    fn a_syn_after_data_changes_nothing() {
        let mut r = Reassembler::new(1 << 20);
        let mut got = Vec::new();
        r.segment(99, true, false, b"", &mut collect(&mut got));
        r.segment(100, false, false, b"ab", &mut collect(&mut got));
        r.segment(5_000_000, true, false, b"", &mut collect(&mut got));
        r.segment(102, false, false, b"cd", &mut collect(&mut got));
        assert_eq!(got, ["ab", "cd"]);
    }

    #[test]
    fn an_acknowledgement_past_a_hole_gives_it_up_at_once() {
        let mut r = Reassembler::new(1 << 20);
        let mut got = Vec::new();
        r.segment(99, true, false, b"", &mut collect(&mut got));
        r.segment(100, false, false, b"ab", &mut collect(&mut got));
        r.segment(105, false, false, b"fg", &mut collect(&mut got));
        assert_eq!(got, ["ab"], "held while the hole may still be filled");
        // The peer acknowledged up to 104: bytes 102..104 were received, so lost to us, but
        // 104 may still come.
        r.acked(104, &mut collect(&mut got));
        assert_eq!(got, ["ab", "<gap 2/2>"]);
        r.segment(104, false, false, b"e", &mut collect(&mut got));
        assert_eq!(got, ["ab", "<gap 2/2>", "e", "fg"]);
        // A hole wholly acknowledged goes with what follows it.
        r.segment(110, false, false, b"kl", &mut collect(&mut got));
        r.acked(112, &mut collect(&mut got));
        assert_eq!(got[4..], ["<gap 3/3>", "kl"]);
        assert_eq!((r.stats.gaps, r.stats.gap_bytes, r.stats.holes_acked), (2, 5, 2));
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn acknowledgements_of_delivered_or_far_bytes_change_nothing() {
        let mut r = Reassembler::new(1 << 16);
        let mut got = Vec::new();
        r.segment(99, true, false, b"", &mut collect(&mut got));
        r.segment(100, false, false, b"ab", &mut collect(&mut got));
        r.segment(105, false, false, b"fg", &mut collect(&mut got));
        r.acked(101, &mut collect(&mut got));
        r.acked(100 + (1 << 24), &mut collect(&mut got));
        assert_eq!(got, ["ab"]);
        assert_eq!(r.stats.gaps, 0);
    }
}
