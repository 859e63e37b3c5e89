//! IPv4 and IPv6 fragment reassembly in a bounded cache.
//!
//! Limits (all counted by the caller): at most `capacity` datagrams pending (the oldest is
//! evicted to make room), at most `max_bytes` per datagram (beyond: dropped), and `timeout_ns`
//! from the first fragment (then expired). Overlap policy: first seen wins, as in BSD; every
//! fragment overlapping bytes already held is counted. Evicted and expired datagrams are handed
//! back so their frames still count in a (port-less) flow: nothing is lost silently.

use super::{Packet, PacketContext};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::IpAddr;

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
    }
}

pub enum DefragOutcome {
    /// Held until the rest arrives; `overlap` when it overlapped bytes already held.
    Held {
        overlap: bool,
        evicted_frames: u32,
    },
    /// Refused: it would make the datagram larger than the limit, or has no bytes.
    Dropped,
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
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
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
                if let Some(d) = self.pending.remove(&old) {
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
                    data: Vec::new(),
                },
            );
        }
        let Some(d) = self.pending.get_mut(&key) else {
            return DefragOutcome::Dropped;
        };
        d.frames += 1;
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
        if !bytes.is_empty() {
            overlap = d.cover(offset, end);
            if overlap {
                d.overlaps += 1;
            }
            d.pieces.push((offset, bytes.to_vec()));
        }
        if d.complete() {
            if let Some(mut d) = self.pending.remove(&key) {
                d.assemble();
                return DefragOutcome::Complete(Box::new(d));
            }
        }
        DefragOutcome::Held { overlap, evicted_frames }
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
            if let Some(d) = self.pending.remove(&k) {
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
