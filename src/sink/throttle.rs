//! Rate limit for warnings that can repeat once per event (a rejected event, a trimmed one):
//! at most one line per cause per second; what is held back is counted and said with the next
//! line of that cause ("… N more suppressed") or by [`Throttle::finish`] at the end.
//!
//! A cause is a short static key chosen by the caller ("event rejected"), not the reason
//! text, so a flood of different reasons still gives one line a second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Lines of one cause at most this often.
pub const PERIOD: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Throttle {
    causes: BTreeMap<&'static str, Cause>,
}

struct Cause {
    last: Instant,
    suppressed: u64,
}

impl Throttle {
    /// Whether a line for `cause` may be written now, and how many were held back since the
    /// last one (to be said in it). `None`: hold this one back (counted).
    pub fn admit(&mut self, cause: &'static str) -> Option<u64> {
        self.admit_at(cause, Instant::now())
    }

    fn admit_at(&mut self, cause: &'static str, now: Instant) -> Option<u64> {
        match self.causes.get_mut(cause) {
            Some(c) if now.duration_since(c.last) < PERIOD => {
                c.suppressed += 1;
                None
            }
            Some(c) => {
                c.last = now;
                Some(std::mem::take(&mut c.suppressed))
            }
            None => {
                self.causes.insert(cause, Cause { last: now, suppressed: 0 });
                Some(0)
            }
        }
    }

    /// The causes with lines still held back, and how many (cleared).
    pub fn finish(&mut self) -> Vec<(&'static str, u64)> {
        self.causes
            .iter_mut()
            .filter(|(_, c)| c.suppressed > 0)
            .map(|(k, c)| (*k, std::mem::take(&mut c.suppressed)))
            .collect()
    }
}

/// The text a suppressed count adds to a line ("" when nothing was held back).
pub fn suppressed_note(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" (… {n} more suppressed)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_per_cause_with_the_count_held_back() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        assert_eq!(t.admit_at("a", t0), Some(0));
        for i in 1..=100 {
            assert_eq!(t.admit_at("a", t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(t.admit_at("b", t0), Some(0), "another cause has its own budget");
        assert_eq!(t.admit_at("a", t0 + Duration::from_millis(1001)), Some(100));
        assert_eq!(t.admit_at("a", t0 + Duration::from_millis(1002)), None);
        assert_eq!(t.finish(), vec![("a", 1)]);
        assert!(t.finish().is_empty());
        assert_eq!(suppressed_note(0), "");
        assert_eq!(suppressed_note(3), " (… 3 more suppressed)");
    }
}
