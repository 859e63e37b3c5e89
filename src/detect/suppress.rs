//! Suppression: repeats of one rule for the same source and target within
//! `wirebeat.detect.suppress_window` are merged, not repeated.
//!
//! The first alert of a (rule, source, target) key goes out at once (an analyst must not wait
//! for the window). Repeats inside the window are only counted; when the window closes (on
//! packet time) one more alert goes out that stands for them: its `wirebeat.alert.count` is the
//! number of repeats, its `event.start`/`event.end` the window they fell in, its message the
//! last repeat's with "(N similar alerts merged)". The number of keys held is bounded; a key
//! that does not fit is not suppressed (the alert goes out: losing a detection is worse than a
//! repeat), and counted.

use super::state::Bounded;
use super::Alert;
use std::net::IpAddr;

type Key = (&'static str, Option<IpAddr>, Option<IpAddr>);

/// Most suppression keys held at once.
pub const MAX_KEYS: usize = 100_000;

struct Held {
    /// Packet time the window of this key ends.
    until_ns: i64,
    /// Repeats since the first alert, merged into `last`.
    repeats: u64,
    first_repeat_ns: i64,
    last: Option<Alert>,
}

pub struct Suppressor {
    window_ns: i64,
    held: Bounded<Key, Held>,
    /// Alerts merged into another instead of sent.
    pub merged: u64,
}

impl Suppressor {
    pub fn new(window_ns: i64) -> Self {
        Suppressor { window_ns, held: Bounded::new(MAX_KEYS), merged: 0 }
    }

    /// Keys that did not fit (their alerts went out unsuppressed).
    pub fn refused(&self) -> u64 {
        self.held.refused
    }

    /// Whether `a` goes out now; a repeat is kept for the merged alert of its window.
    pub fn admit(&mut self, a: Alert, out: &mut Vec<Alert>) {
        if self.window_ns <= 0 {
            out.push(a);
            return;
        }
        let key = (a.rule.id, a.source.map(|e| e.ip), a.destination.map(|e| e.ip));
        if let Some(h) = self.held.get_mut(&key) {
            if h.repeats == 0 {
                h.first_repeat_ns = a.start_ns;
            }
            h.repeats += a.count;
            h.last = Some(a);
            self.merged += 1;
            return;
        }
        let until_ns = a.end_ns.saturating_add(self.window_ns);
        // A key that does not fit is not suppressed (counted in `refused`).
        let _ = self.held.get_or_insert_with(key, || Held {
            until_ns,
            repeats: 0,
            first_repeat_ns: 0,
            last: None,
        });
        out.push(a);
    }

    /// Closes the windows that ended by `now_ns`: their merged alerts go out.
    pub fn tick(&mut self, now_ns: i64, out: &mut Vec<Alert>) {
        let from = out.len();
        self.held.retain(|_, h| {
            if now_ns < h.until_ns {
                return true;
            }
            emit(h, out);
            false
        });
        sort(&mut out[from..]);
    }

    /// End of the run: every merged alert still held goes out.
    pub fn flush(&mut self, out: &mut Vec<Alert>) {
        let from = out.len();
        self.held.retain(|_, h| {
            emit(h, out);
            false
        });
        sort(&mut out[from..]);
    }
}

fn emit(h: &mut Held, out: &mut Vec<Alert>) {
    if let Some(mut a) = h.last.take() {
        a.count = h.repeats;
        a.start_ns = a.start_ns.min(h.first_repeat_ns);
        a.message = format!("{} ({} similar alerts merged)", a.message, h.repeats);
        out.push(a);
    }
}

/// Merged alerts leave in time order whatever the hash order of the keys.
fn sort(a: &mut [Alert]) {
    a.sort_by(|x, y| {
        (x.end_ns, x.rule.id, x.source.map(|e| e.ip), x.destination.map(|e| e.ip)).cmp(&(
            y.end_ns,
            y.rule.id,
            y.source.map(|e| e.ip),
            y.destination.map(|e| e.ip),
        ))
    });
}
