//! The queue between the pipeline and the output: a bounded memory queue, or a disk spool
//! ([`spool`]) that survives restarts and SIGKILL.
//!
//! One producer (the pipeline's output feeder) pushes serialized events; one consumer (the
//! sender thread) takes batches from the head, hands them to the output, and acknowledges them
//! once every event of the batch has a final outcome (delivered, or rejected and counted). Only
//! an acknowledgement lets the queue forget an event, so an output that is down for minutes
//! loses nothing: with `when_full: block` the pipeline waits (a capture file is read more
//! slowly; a live capture drops frames at the worker channels, counted in
//! `dropped_channel_full`), with `when_full: drop_newest` the events that do not fit are dropped
//! and counted in `dropped_queue_full`.
//!
//! With `queue.disk` the spool replaces the memory queue (as in Beats): every event goes through
//! the spool, so what was not acknowledged when the process died is sent again at the next start
//! (counted in `spool_replayed`; the consumer may see those as duplicates — at-least-once).

mod config;
pub mod spool;

pub use crate::units::ByteSize;
pub use config::{Config, DiskConfig, MemConfig, WhenFull};

use crate::ecs::EncodedEvent;
use crate::stats::Counters;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue.disk {path}: {message}")]
    Spool { path: String, message: String },
}

/// What [`Queue::take`] found.
pub enum Taken {
    Batch(Vec<EncodedEvent>),
    /// Nothing arrived within the wait.
    Empty,
    /// Closed and everything was taken.
    Closed,
}

/// The queue, memory or disk.
pub struct Queue {
    state: Mutex<State>,
    /// Signalled when events arrive or the queue closes (the consumer waits on it).
    arrived: Condvar,
    /// Signalled when room is freed or the queue is aborted (a blocked producer waits on it).
    room: Condvar,
    counters: Arc<Counters>,
}

struct State {
    store: Store,
    /// Read times (wall-clock ns, 0: unknown) of the events not yet taken, as runs of
    /// (time, count) in queue order; then of those taken and not yet acknowledged. Kept in
    /// memory beside either store: events replayed from the spool at start have none.
    stamps: Stamps,
    taken: Stamps,
    closed: bool,
    aborted: bool,
    /// Aborted because the drain limit passed ([`Queue::abandon`]), not because the output failed.
    abandoned: bool,
}

enum Store {
    Mem(MemStore),
    Disk(Box<spool::Spool>),
}

struct MemStore {
    limit_events: usize,
    limit_bytes: u64,
    when_full: WhenFull,
    waiting: VecDeque<EncodedEvent>,
    /// Sizes of the events taken but not yet acknowledged.
    in_flight: VecDeque<u64>,
    events: usize,
    bytes: u64,
}

impl MemStore {
    /// Room for one more event (an empty queue takes any event, however large).
    fn fits(&self, ev: &EncodedEvent) -> bool {
        self.events == 0
            || (self.events < self.limit_events
                && self.bytes + ev.json.len() as u64 <= self.limit_bytes)
    }
}

impl Queue {
    /// Opens the queue the configuration asks for (the spool is recovered from disk).
    pub fn open(cfg: &Config, counters: Arc<Counters>) -> Result<Queue, QueueError> {
        let store = match cfg.disk.as_ref().filter(|d| d.enabled) {
            Some(d) => Store::Disk(Box::new(spool::Spool::open(d, &counters)?)),
            None => Store::Mem(MemStore {
                limit_events: cfg.mem.events.max(1),
                limit_bytes: cfg.mem.bytes.0.max(1),
                when_full: cfg.mem.when_full,
                waiting: VecDeque::new(),
                in_flight: VecDeque::new(),
                events: 0,
                bytes: 0,
            }),
        };
        let mut stamps = Stamps::default();
        if let Store::Disk(s) = &store {
            stamps.push(0, s.events());
        }
        let q = Queue {
            state: Mutex::new(State {
                store,
                stamps,
                taken: Stamps::default(),
                closed: false,
                aborted: false,
                abandoned: false,
            }),
            arrived: Condvar::new(),
            room: Condvar::new(),
            counters,
        };
        q.publish_depth(&q.lock());
        Ok(q)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds events at the tail; blocks or drops as `when_full` says. Errors (the spool's disk
    /// failing) are counted and logged, and the events that could not be stored are dropped.
    /// After [`Queue::abort`] a memory queue drops (counted); the spool still keeps what fits,
    /// for the next start.
    pub fn push(&self, events: Vec<EncodedEvent>) {
        let n = events.len() as u32;
        self.push_inner(events, &[(0, n)], false);
    }

    /// [`Queue::push`] of events the pipeline counted in `events_in_transit`: they leave it as
    /// they are stored or dropped, in the same [`Counters::section`]. `stamps` are the events'
    /// read times as runs of (wall-clock ns, count) in order, the start of the
    /// capture-to-acknowledgement latency measured at [`Queue::ack_settled`].
    pub fn push_built(&self, events: Vec<EncodedEvent>, stamps: &[(i64, u32)]) {
        self.push_inner(events, stamps, true);
    }

    fn push_inner(&self, events: Vec<EncodedEvent>, stamps: &[(i64, u32)], built: bool) {
        let mut st = self.lock();
        // Per-event stamps, walked beside the events.
        let mut runs = stamps.iter().flat_map(|&(t, n)| std::iter::repeat_n(t, n as usize));
        // Counts since the last publication, applied with the depth in one section.
        let mut tally = Tally::default();
        let mut blocked = false;
        let durable = matches!(st.store, Store::Disk(_));
        for ev in events {
            let stamp = runs.next().unwrap_or(0);
            loop {
                if st.aborted && !durable {
                    break;
                }
                let (fits, when_full) = match &st.store {
                    Store::Mem(m) => (m.fits(&ev), m.when_full),
                    Store::Disk(s) => (s.fits(&ev), s.when_full()),
                };
                if fits || when_full == WhenFull::DropNewest || st.aborted {
                    break;
                }
                if !blocked {
                    blocked = true;
                    Counters::add(&self.counters.queue_blocked, 1);
                }
                // What this push stored so far must be readable while we wait.
                self.flush_spool(&mut st);
                self.publish_tally(&st, &mut tally, built);
                self.arrived.notify_all();
                st = self.room.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            let aborted = st.aborted;
            let stored = match &mut st.store {
                Store::Mem(_) if aborted => false,
                Store::Mem(m) => {
                    m.fits(&ev) && {
                        m.events += 1;
                        m.bytes += ev.json.len() as u64;
                        m.waiting.push_back(ev);
                        true
                    }
                }
                Store::Disk(s) => {
                    if s.fits(&ev) {
                        if let Err(e) = s.append(&ev) {
                            crate::logging::error_limited!(error = %e, "spool write failed, event dropped");
                            tally.spool_error += 1;
                            tally.settled += 1;
                            continue;
                        }
                        true
                    } else {
                        false
                    }
                }
            };
            // Out of transit only now: while this push waits for room above, the event
            // waiting is still in transit.
            tally.settled += 1;
            if stored {
                st.stamps.push(stamp, 1);
            } else if st.abandoned {
                tally.shutdown += 1;
            } else if aborted {
                tally.output_failed += 1;
            } else {
                tally.queue_full += 1;
            }
        }
        self.flush_spool(&mut st);
        self.publish_tally(&st, &mut tally, built);
        drop(st);
        self.arrived.notify_all();
    }

    /// Applies a push's drops and depth, and takes its events out of transit, at once.
    fn publish_tally(&self, st: &State, t: &mut Tally, built: bool) {
        let c = &self.counters;
        let _s = c.section();
        Counters::add(&c.dropped_shutdown, t.shutdown);
        Counters::add(&c.dropped_output_failed, t.output_failed);
        Counters::add(&c.dropped_queue_full, t.queue_full);
        Counters::add(&c.dropped_spool_error, t.spool_error);
        if built {
            Counters::sub(&c.events_in_transit, t.settled);
        }
        self.publish_depth(st);
        *t = Tally::default();
    }

    fn flush_spool(&self, st: &mut State) {
        if let Store::Disk(s) = &mut st.store {
            if let Err(e) = s.flush() {
                crate::logging::error_limited!(error = %e, "spool flush failed");
                Counters::add(&self.counters.spool_errors, 1);
            }
        }
    }

    /// No more pushes: the consumer gets [`Taken::Closed`] once it has taken everything.
    pub fn close(&self) {
        self.lock().closed = true;
        self.arrived.notify_all();
    }

    /// The output failed for good: pushes stop blocking and drop (counted in
    /// `dropped_output_failed`; a spool keeps what it already holds for the next start).
    pub fn abort(&self) {
        self.give_up(false);
    }

    /// The drain limit passed at shutdown: as [`Queue::abort`], but what a memory queue drops
    /// is counted in `dropped_shutdown`.
    pub fn abandon(&self) {
        self.give_up(true);
    }

    fn give_up(&self, abandoned: bool) {
        let mut st = self.lock();
        st.aborted = true;
        st.abandoned |= abandoned;
        let left = match &mut st.store {
            Store::Mem(m) => {
                let n = m.waiting.len() as u64;
                m.events -= m.waiting.len();
                m.bytes -= m.waiting.iter().map(|e| e.json.len() as u64).sum::<u64>();
                m.waiting.clear();
                n
            }
            Store::Disk(_) => 0,
        };
        if left > 0 {
            st.stamps = Stamps::default();
        }
        let cause = if st.abandoned {
            &self.counters.dropped_shutdown
        } else {
            &self.counters.dropped_output_failed
        };
        let _s = self.counters.section();
        Counters::add(cause, left);
        self.publish_depth(&st);
        drop(_s);
        drop(st);
        self.room.notify_all();
        self.arrived.notify_all();
    }

    /// Takes up to `max` events from the head (waiting at most `wait` for the first one).
    /// They stay counted in the queue until [`Queue::ack`].
    pub fn take(&self, max: usize, wait: Duration) -> Taken {
        let mut st = self.lock();
        let deadline = std::time::Instant::now() + wait;
        loop {
            if st.aborted {
                return Taken::Closed;
            }
            let batch = match &mut st.store {
                Store::Mem(m) => {
                    let n = m.waiting.len().min(max);
                    let batch: Vec<EncodedEvent> = m.waiting.drain(..n).collect();
                    m.in_flight.extend(batch.iter().map(|e| e.json.len() as u64));
                    batch
                }
                Store::Disk(s) => match s.take(max) {
                    Ok(b) => b,
                    Err(e) => {
                        crate::logging::error_limited!(error = %e, "spool read failed");
                        Counters::add(&self.counters.spool_errors, 1);
                        Vec::new()
                    }
                },
            };
            if !batch.is_empty() {
                let st = &mut *st;
                st.stamps.move_to(&mut st.taken, batch.len() as u64);
                return Taken::Batch(batch);
            }
            if st.closed {
                return Taken::Closed;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Taken::Empty;
            }
            st = match self.arrived.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// The oldest `n` taken events have a final outcome: forget them.
    pub fn ack(&self, n: usize) {
        self.ack_inner(n, false);
    }

    /// [`Queue::ack`] from the output thread, which counted each event's outcome in
    /// `events_pending_ack` as it came: they leave it with the queue's depth in one section.
    /// Records each event's capture-to-acknowledgement latency (events with a read time).
    pub fn ack_settled(&self, n: usize) {
        self.ack_inner(n, true);
    }

    fn ack_inner(&self, n: usize, settled: bool) {
        let c = &self.counters;
        let _s = settled.then(|| c.section());
        let mut st = self.lock();
        let now = crate::stats::wall_clock_ns();
        for (t, k) in st.taken.pop(n as u64) {
            if t > 0 {
                c.latency.observe(u64::try_from(now.saturating_sub(t)).unwrap_or(0), k);
            }
        }
        if settled {
            Counters::sub(&c.events_pending_ack, n as u64);
        }
        match &mut st.store {
            Store::Mem(m) => {
                for _ in 0..n {
                    if let Some(b) = m.in_flight.pop_front() {
                        m.events -= 1;
                        m.bytes -= b;
                    }
                }
            }
            Store::Disk(s) => {
                if let Err(e) = s.ack(n) {
                    crate::logging::error_limited!(error = %e, "spool acknowledgement not saved");
                    Counters::add(&self.counters.spool_errors, 1);
                }
            }
        }
        self.publish_depth(&st);
        drop(st);
        self.room.notify_all();
    }

    /// Whether events survive a restart (the disk spool).
    pub fn durable(&self) -> bool {
        matches!(self.lock().store, Store::Disk(_))
    }

    fn publish_depth(&self, st: &State) {
        let (events, bytes) = match &st.store {
            Store::Mem(m) => (m.events as u64, m.bytes),
            Store::Disk(s) => {
                Counters::set(&self.counters.spool_bytes, s.disk_bytes());
                (s.events(), s.event_bytes())
            }
        };
        Counters::set(&self.counters.queue_events, events);
        Counters::set(&self.counters.queue_bytes, bytes);
    }
}

/// Drops and settled events of a push not yet published ([`Queue::publish_tally`]).
#[derive(Default)]
struct Tally {
    settled: u64,
    shutdown: u64,
    output_failed: u64,
    queue_full: u64,
    spool_error: u64,
}

/// Runs of (read time, count) in queue order.
#[derive(Default)]
struct Stamps(VecDeque<(i64, u64)>);

impl Stamps {
    fn push(&mut self, t: i64, n: u64) {
        if n == 0 {
            return;
        }
        match self.0.back_mut() {
            Some((last, k)) if *last == t => *k += n,
            _ => self.0.push_back((t, n)),
        }
    }

    /// Takes the oldest `n` (fewer when it has fewer: the spool skipped damaged records).
    fn pop(&mut self, mut n: u64) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        while n > 0 {
            let Some((t, k)) = self.0.front_mut() else { break };
            let take = (*k).min(n);
            out.push((*t, take));
            *k -= take;
            n -= take;
            if *k == 0 {
                self.0.pop_front();
            }
        }
        out
    }

    fn move_to(&mut self, other: &mut Stamps, n: u64) {
        for (t, k) in self.pop(n) {
            other.push(t, k);
        }
    }
}

#[cfg(test)]
impl Queue {
    /// A memory queue with default limits.
    fn memory(counters: Arc<Counters>) -> Queue {
        match Queue::open(&Config::default(), counters) {
            Ok(q) => q,
            Err(_) => unreachable!("a memory queue cannot fail to open"),
        }
    }
}

#[cfg(test)]
mod tests;
