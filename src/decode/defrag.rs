//! IPv4 and IPv6 fragment reassembly in a bounded cache.
//!
//! Limits (all counted by the caller): at most `capacity` datagrams pending (the oldest is
//! evicted to make room), at most `max_bytes` held per datagram (beyond: dropped), and
//! `timeout_ns` from the first fragment (then expired). "Held" is memory, not payload: each
//! stored piece costs its bytes plus [`PIECE_OVERHEAD`], and a datagram may hold `max_bytes`
//! plus an eighth for that overhead (room for a largest datagram cut into 576-byte fragments),
//! so a train of tiny or overlapping fragments cannot hold more either. Overlap policy: first seen wins, as in BSD;
//! every fragment overlapping bytes already held is counted, and one whose bytes are all held
//! already (a duplicate) is not stored at all: under first-seen-wins it could never change the
//! result, and storing copies let 100,000 duplicates of one fragment take 260 MB. Evicted and
//! expired datagrams are handed back so their frames still count in a (port-less) flow: nothing
//! is lost silently.

use super::{Packet, PacketContext};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

/// Memory a stored piece costs beyond its bytes: its `(offset, Vec)` slot, its entry in the
/// covered ranges, and the allocator's header of its buffer (16 bytes with glibc).
pub const PIECE_OVERHEAD: usize =
    std::mem::size_of::<(usize, Vec<u8>)>() + std::mem::size_of::<(usize, usize)>() + 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FragmentKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub id: u32,
    pub vlan: [Option<u16>; 2],
    pub tunnel_id: u32,
}

/// A datagram under reassembly (or complete).
pub struct Datagram {
    pub key: FragmentKey,
    pub first_ts: i64,
    pub last_ts: i64,
    pub frames: u32,
    pub wire_bytes: u64,
    pub truncated: bool,
    pub overlaps: u32,
    pub ctx: PacketContext,
    /// Pieces in arrival order: (offset, bytes).
    pieces: Vec<(usize, Vec<u8>)>,
    /// Covered byte ranges, sorted and merged.
    covered: Vec<(usize, usize)>,
    /// Total length, known once the last fragment (MF=0) arrived.
    total: Option<usize>,
    /// Memory held by `pieces`: their bytes plus [`PIECE_OVERHEAD`] each.
    held: usize,
    /// The reassembled payload (only on completion).
    pub data: Vec<u8>,
}

impl Datagram {
    /// A port-less packet that carries the frames of an incomplete datagram to the flow table.
    pub fn as_packet(&self) -> Packet<'static> {
        Packet {
            ts_ns: self.last_ts,
            frames: self.frames,
            wire_bytes: self.wire_bytes,
            truncated: self.truncated,
            link: self.ctx.link,
            tunnel: self.ctx.tunnel,
            src: self.key.src,
            dst: self.key.dst,
            proto: self.key.proto,
            ports: None,
            tcp: None,
            payload: &[],
            fragmented: super::Fragmented::Incomplete,
            ext_headers: self.ctx.ext_headers,
        }
    }

    /// Adds a range; returns true when it overlapped bytes already held.
    fn cover(&mut self, start: usize, end: usize) -> bool {
        let overlap = self.covered.iter().any(|&(s, e)| start < e && s < end);
        self.covered.push((start, end));
        self.covered.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.covered.len());
        for &(s, e) in &self.covered {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.covered = merged;
        overlap
    }

    /// Whether `start..end` lies entirely within bytes already held.
    fn covers(&self, start: usize, end: usize) -> bool {
        self.covered.iter().any(|&(s, e)| s <= start && end <= e)
    }

    fn complete(&self) -> bool {
        match self.total {
            Some(t) => matches!(self.covered.as_slice(), [(0, end)] if *end >= t),
            None => false,
        }
    }

    fn assemble(&mut self) {
        let total = self.total.unwrap_or(0);
        let mut buf = vec![0u8; total];
        // Later pieces first, so earlier ones overwrite them: first seen wins.
        for (off, bytes) in self.pieces.iter().rev() {
            let end = (off + bytes.len()).min(total);
            let n = end.saturating_sub(*off);
            if let (Some(to), Some(from)) = (buf.get_mut(*off..end), bytes.get(..n)) {
                to.copy_from_slice(from);
            }
        }
        self.data = buf;
        self.pieces.clear();
        self.held = 0;
    }
}

/// Memory one datagram may hold: its largest size plus an eighth for the pieces' overhead.
pub fn held_limit(max_bytes: usize) -> usize {
    max_bytes.saturating_add(max_bytes / 8)
}

pub enum DefragOutcome {
    /// Held until the rest arrives; `overlap` when it overlapped bytes already held,
    /// `duplicate` when all its bytes were held already (then it was not stored).
    Held {
        overlap: bool,
        duplicate: bool,
        evicted_frames: u32,
    },
    /// Its bytes were refused (the datagram would hold more than the limit, or grow past the
    /// largest size); the frame still belongs to its datagram and is counted when it leaves.
    Dropped,
    /// Not placed in any datagram (cannot happen while the capacity is at least 1): the
    /// frame's outcome is this.
    Lost,
    Complete(Box<Datagram>),
}

pub struct Defragmenter {
    timeout_ns: i64,
    capacity: usize,
    max_bytes: usize,
    pending: FxHashMap<FragmentKey, Datagram>,
    /// Keys in order of first fragment, for eviction (may hold keys already gone).
    order: VecDeque<(FragmentKey, i64)>,
    last_expiry: i64,
    /// Memory held by the pieces of every pending datagram (see [`PIECE_OVERHEAD`]).
    held: usize,
    /// Frames of every pending datagram (each counts in an outcome when its datagram leaves).
    frames_pending: u64,
}

impl Defragmenter {
    pub fn new(timeout_ns: i64, capacity: usize, max_bytes: usize) -> Self {
        Defragmenter {
            timeout_ns: timeout_ns.max(1),
            capacity: capacity.max(1),
            max_bytes,
            pending: FxHashMap::default(),
            order: VecDeque::new(),
            last_expiry: i64::MIN,
            held: 0,
            frames_pending: 0,
        }
    }

    /// Frames held in pending datagrams now.
    pub fn frames_pending(&self) -> u64 {
        self.frames_pending
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Memory held by the pieces of all pending datagrams: at most `max_bytes` per datagram.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Forgets a pending datagram, releasing what it held.
    fn remove(&mut self, key: &FragmentKey) -> Option<Datagram> {
        let d = self.pending.remove(key)?;
        self.held -= d.held;
        self.frames_pending -= u64::from(d.frames);
        Some(d)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        key: FragmentKey,
        ts_ns: i64,
        wire_bytes: u64,
        truncated: bool,
        offset: usize,
        more: bool,
        bytes: &[u8],
        ctx: PacketContext,
        evicted: &mut dyn FnMut(&Datagram),
    ) -> DefragOutcome {
        let end = offset.saturating_add(bytes.len());
        let mut evicted_frames = 0;
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.capacity {
                let Some((old, _)) = self.order.pop_front() else {
                    break;
                };
                if let Some(d) = self.remove(&old) {
                    evicted_frames += d.frames;
                    evicted(&d);
                }
            }
            self.order.push_back((key, ts_ns));
            self.pending.insert(
                key,
                Datagram {
                    key,
                    first_ts: ts_ns,
                    last_ts: ts_ns,
                    frames: 0,
                    wire_bytes: 0,
                    truncated: false,
                    overlaps: 0,
                    ctx,
                    pieces: Vec::new(),
                    covered: Vec::new(),
                    total: None,
                    held: 0,
                    data: Vec::new(),
                },
            );
        }
        let Some(d) = self.pending.get_mut(&key) else {
            return DefragOutcome::Lost;
        };
        d.frames += 1;
        self.frames_pending += 1;
        d.wire_bytes += wire_bytes;
        d.last_ts = ts_ns;
        d.truncated |= truncated;
        if end > self.max_bytes {
            // Oversize (a classic evasion or a broken train): its frame still counts via the
            // datagram, which now can never complete and will expire.
            return DefragOutcome::Dropped;
        }
        if !more {
            match d.total {
                Some(t) if t != end => d.overlaps += 1, // conflicting ends: keep the first
                Some(_) => {}
                None => d.total = Some(end),
            }
        }
        let mut overlap = false;
        let mut duplicate = false;
        if !bytes.is_empty() {
            if d.covers(offset, end) {
                // Every byte is held already and the first copy wins: nothing to store.
                duplicate = true;
                overlap = true;
                d.overlaps += 1;
            } else {
                let cost = bytes.len() + PIECE_OVERHEAD;
                if d.held + cost > held_limit(self.max_bytes) {
                    return DefragOutcome::Dropped;
                }
                overlap = d.cover(offset, end);
                if overlap {
                    d.overlaps += 1;
                }
                d.pieces.push((offset, bytes.to_vec()));
                d.held += cost;
                self.held += cost;
            }
        }
        if d.complete() {
            if let Some(mut d) = self.remove(&key) {
                d.assemble();
                return DefragOutcome::Complete(Box::new(d));
            }
        }
        DefragOutcome::Held { overlap, duplicate, evicted_frames }
    }

    /// Hands out and forgets every datagram whose first fragment is older than the timeout.
    pub fn expire(&mut self, now_ns: i64, out: &mut dyn FnMut(&Datagram)) {
        if self.pending.is_empty() {
            return;
        }
        // Scanning costs O(pending): do it at most once per second of packet time.
        if now_ns != i64::MAX && now_ns.saturating_sub(self.last_expiry) < 1_000_000_000 {
            return;
        }
        self.last_expiry = now_ns;
        let deadline = now_ns.saturating_sub(self.timeout_ns);
        let mut expired: Vec<(i64, FragmentKey)> = self
            .pending
            .iter()
            .filter(|(_, d)| d.first_ts <= deadline || now_ns == i64::MAX)
            .map(|(k, d)| (d.first_ts, *k))
            .collect();
        // Deterministic order: by first fragment time, then key.
        expired.sort_unstable();
        for (_, k) in expired {
            if let Some(d) = self.remove(&k) {
                out(&d);
            }
        }
        if self.pending.is_empty() {
            self.order.clear();
        } else {
            let pending = &self.pending;
            self.order.retain(|(k, _)| pending.contains_key(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FragmentKey {
        FragmentKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            id: 7,
            vlan: [None, None],
            tunnel_id: 0,
        }
    }

    fn insert(d: &mut Defragmenter, offset: usize, more: bool, bytes: &[u8]) -> DefragOutcome {
        let ctx = PacketContext { link: Default::default(), tunnel: None, ext_headers: 0 };
        d.insert(key(), 0, 100, false, offset, more, bytes, ctx, &mut |_| {})
    }

    #[test]
    fn duplicate_copies_of_a_fragment_are_not_stored() {
        let max = 65_575;
        let mut d = Defragmenter::new(30_000_000_000, 16, max);
        let mut duplicates = 0;
        for _ in 0..100_000 {
            match insert(&mut d, 0, true, &[0xab; 1480]) {
                DefragOutcome::Held { duplicate: true, .. } => duplicates += 1,
                DefragOutcome::Held { .. } => {}
                _ => panic!("a copy of a held fragment is held (its frame counts)"),
            }
            assert!(d.held_bytes() <= max);
        }
        assert_eq!(duplicates, 99_999);
        assert_eq!(d.held_bytes(), 1480 + PIECE_OVERHEAD);
        assert_eq!(d.pending(), 1);
    }

    #[test]
    fn overlapping_and_tiny_fragments_count_their_overhead() {
        let max = 65_575;
        let mut d = Defragmenter::new(30_000_000_000, 16, max);
        let mut dropped = 0;
        // Each new fragment overlaps the last by 8 bytes and adds 8: never a duplicate.
        for i in 0..100_000usize {
            if let DefragOutcome::Dropped = insert(&mut d, i * 8, true, &[1; 16]) {
                dropped += 1;
            }
            assert!(d.held_bytes() <= held_limit(max), "held {}", d.held_bytes());
        }
        assert!(dropped > 90_000, "most are refused once the datagram holds its limit");
    }

    #[test]
    fn a_largest_datagram_in_small_fragments_still_reassembles() {
        let mut d = Defragmenter::new(30_000_000_000, 16, 65_575);
        let total = 65_535;
        let mut off = 0;
        let mut done = false;
        while off < total {
            let n = 552.min(total - off);
            let last = off + n == total;
            if let DefragOutcome::Complete(dg) = insert(&mut d, off, !last, &vec![2; n]) {
                assert_eq!(dg.data.len(), total);
                done = true;
            }
            off += n;
        }
        assert!(done);
        assert_eq!(d.held_bytes(), 0);
    }
}
