//! The one backoff policy of every retry loop: waits double from `init` up to `max`, and every
//! wait ends at once when the run's drain is over ([`Backoff::sleep`]).
//!
//! The policy is deterministic (attempt n waits `min(init · 2ⁿ, max)`); an output that wants
//! jitter spreads that wait itself with [`equal_jitter`] and a [`Jitter`] source, so the shape of
//! the growth stays in one place. Whether to retry at all is the output's classification
//! (`sink/kafka/classify.rs`, `sink/elasticsearch/retry.rs`); only the waiting is shared.

use crate::shutdown::Shutdown;
use std::time::Duration;

/// Exponential waits from `init` to `max`; [`Iterator`] gives the same as [`Backoff::next_delay`].
#[derive(Debug, Clone)]
pub struct Backoff {
    init: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(init: Duration, max: Duration) -> Self {
        Backoff { init, max: max.max(init), attempt: 0 }
    }

    /// The pipeline's resend of events an output answered `Retry`: 100 ms doubling to 30 s.
    pub fn delivery() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(30))
    }

    /// The wait before attempt `n` (0-based) would be made: `min(init · 2ⁿ, max)`.
    pub fn delay(&self, n: u32) -> Duration {
        self.init.saturating_mul(1u32 << n.min(20)).min(self.max)
    }

    /// The next wait (and counts the attempt).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts again from `init` (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Sleeps the next wait; false when `drain_over` was requested (at once, or during it).
    pub fn sleep(&mut self, drain_over: &Shutdown) -> bool {
        let d = self.next_delay();
        sleep(d, drain_over)
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

/// Sleeps `d` unless `drain_over` is requested first; false when it was.
pub fn sleep(d: Duration, drain_over: &Shutdown) -> bool {
    !drain_over.is_requested() && !drain_over.wait_timeout(d)
}

/// "Equal jitter": between half and all of `full`. `unit` is a random number in [0, 1).
pub fn equal_jitter(full: Duration, unit: f64) -> Duration {
    let half = full / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// A small xorshift generator for jitter (no need for a crate).
pub struct Jitter(u64);

impl Default for Jitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Jitter {
    pub fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        Jitter(h.finish() | 1)
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn doubles_from_init_and_caps_at_max() {
        let b = Backoff::delivery();
        let waits: Vec<Duration> = b.take(12).collect();
        assert_eq!(waits[0], Duration::from_millis(100));
        assert_eq!(waits[1], Duration::from_millis(200));
        assert_eq!(waits[8], Duration::from_millis(25_600));
        assert_eq!(waits[9], Duration::from_secs(30));
        assert_eq!(waits[11], Duration::from_secs(30));
        let mut b = Backoff::new(Duration::from_millis(5), Duration::from_millis(20));
        assert_eq!(b.next_delay(), Duration::from_millis(5));
        assert_eq!(b.next_delay(), Duration::from_millis(10));
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(5));
        assert_eq!(b.delay(40), Duration::from_millis(20));
    }

    #[test]
    fn equal_jitter_and_caps() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(equal_jitter(b.delay(0), 0.0), Duration::from_millis(50));
        assert_eq!(equal_jitter(b.delay(0), 1.0), Duration::from_millis(100));
        assert_eq!(equal_jitter(b.delay(2), 0.0), Duration::from_millis(200));
        assert_eq!(equal_jitter(b.delay(10), 1.0), Duration::from_secs(1));
        assert_eq!(equal_jitter(b.delay(40), 1.0), Duration::from_secs(1));
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let u = j.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn sleep_returns_promptly_when_shutdown_is_requested() {
        let drain_over = Shutdown::new();
        let mut b = Backoff::new(Duration::from_secs(30), Duration::from_secs(60));
        let s = drain_over.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            s.request();
        });
        let start = Instant::now();
        assert!(!b.sleep(&drain_over), "cut short");
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        t.join().unwrap();
        // Once requested, no wait at all.
        let start = Instant::now();
        assert!(!b.sleep(&drain_over));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn sleep_sleeps_when_not_requested() {
        let mut b = Backoff::new(Duration::from_millis(20), Duration::from_millis(20));
        let start = Instant::now();
        assert!(b.sleep(&Shutdown::new()));
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
