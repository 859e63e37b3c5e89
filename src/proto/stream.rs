//! TCP stream reassembly, one direction.
//!
//! Delivers the payload in sequence order as [`Chunk::Data`]; retransmitted bytes are dropped
//! (counted), overlapping bytes are trimmed with the first-seen copy winning (counted),
//! out-of-order segments are held up to `max_pending_bytes`; when that limit is hit, or the
//! stream ends with a hole, the hole is delivered as [`Chunk::Gap`] and counted. A stream picked
//! up mid-way starts at the first segment seen.

use std::collections::BTreeMap;

/// What the parser receives, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// This many bytes are missing here.
    Gap(u64),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub retransmitted_bytes: u64,
    pub overlap_bytes: u64,
    pub out_of_order_segments: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
}

impl StreamStats {
    pub fn add(&mut self, o: &StreamStats) {
        self.retransmitted_bytes += o.retransmitted_bytes;
        self.overlap_bytes += o.overlap_bytes;
        self.out_of_order_segments += o.out_of_order_segments;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
    }
}

pub struct Reassembler {
    /// Next sequence number expected; `None` until the first SYN or data segment.
    next: Option<u32>,
    /// Held segments by their offset from `next` at insertion time, stored as absolute seq.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    max_pending_bytes: usize,
    /// Sequence numbers are tracked as 64-bit offsets from `base` to survive wrap-around.
    base: u32,
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
            base: 0,
            delivered: 0,
            fin: false,
            stats: StreamStats::default(),
        }
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
            if self.next.is_none() {
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
        } else {
            self.stats.out_of_order_segments += 1;
            if !self.pending.contains_key(&start) {
                self.pending_bytes += data.len();
                self.pending.insert(start, data.to_vec());
            }
            if self.pending_bytes > self.max_pending_bytes {
                self.skip_hole(out);
            }
        }
    }

    /// Delivers held segments that are now in order (trimming overlaps).
    fn drain(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some((&start, _)) = self.pending.iter().next() {
            if start > self.delivered {
                break;
            }
            let Some(data) = self.pending.remove(&start) else { break };
            self.pending_bytes -= data.len();
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
            if start > self.delivered {
                let len = start - self.delivered;
                self.stats.gaps += 1;
                self.stats.gap_bytes += len;
                self.delivered = start;
                out(Chunk::Gap(len));
            }
            self.drain(out);
        }
    }

    /// End of the stream: deliver everything held, with gaps for the holes.
    pub fn flush(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.skip_hole(out);
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
                    Chunk::Gap(n) => format!("<gap {n}>"),
                })
            });
        }
        r.flush(&mut |c| {
            got.push(match c {
                Chunk::Data(d) => String::from_utf8_lossy(d).into_owned(),
                Chunk::Gap(n) => format!("<gap {n}>"),
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
}
