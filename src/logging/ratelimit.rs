//! Rate limit for log lines that can repeat once per packet, event or batch: each call site of
//! `logging::warn_limited!` / `logging::error_limited!` writes at
//! most [`BURST`] lines per [`INTERVAL`]; what it holds back is counted, and said in one line
//! "suppressed K similar messages" (field `suppressed`, and `site`: the call site's file and
//! line) before the site's next line, or by [`flush`] (every interval from a background thread
//! that `logging::init` starts, and at the end of a run) if no next line comes.
//!
//! A site is a `static` the macro expands to: three atomics, no lock and no allocation on the
//! hot path; a site registers itself in the list [`flush`] walks the first time it holds a line
//! back. Under contention the counts stay exact: every call is either written or counted, and a
//! window admits exactly [`BURST`].
//!
//! The limit is per call site, not per message text: a flood of different reasons from one
//! place (every rejected event says why) still gives [`BURST`] lines an interval.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Lines a call site writes per [`INTERVAL`] before it holds lines back.
pub const BURST: u32 = 5;

/// The window of [`BURST`].
pub const INTERVAL: Duration = Duration::from_secs(10);

/// One call site of a rate-limited log macro.
pub struct Site {
    /// `file:line` of the call site.
    pub name: &'static str,
    /// The current window (index since [`epoch`], plus 1 so 0 means "never used") in the high
    /// 40 bits, the lines admitted in it in the low 24: one word, so a window's budget is
    /// exact under contention.
    state: AtomicU64,
    /// Lines held back and not yet reported.
    held: AtomicU64,
    registered: AtomicBool,
}

const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// What a call site may do with its line now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Write it; first say that `held` lines were suppressed before it (when not 0).
    Write { held: u64 },
    /// Hold it back (counted).
    Hold,
}

static SITES: Mutex<Vec<&'static Site>> = Mutex::new(Vec::new());

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Site {
    pub const fn new(name: &'static str) -> Site {
        Site {
            name,
            state: AtomicU64::new(0),
            held: AtomicU64::new(0),
            registered: AtomicBool::new(false),
        }
    }

    /// [`Site::admit_at`] with the process clock.
    pub fn admit(&'static self) -> Admit {
        self.admit_at(epoch().elapsed())
    }

    /// Whether a line may be written at `now` (time since an arbitrary fixed start).
    pub fn admit_at(&'static self, now: Duration) -> Admit {
        let window = ((now.as_nanos() / INTERVAL.as_nanos()) as u64 + 1) & (u64::MAX >> COUNT_BITS);
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let (w, count) = (state >> COUNT_BITS, state & COUNT_MASK);
            let next = if w != window {
                (window << COUNT_BITS) | 1
            } else if count < u64::from(BURST) {
                state + 1
            } else {
                break;
            };
            match self.state.compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Admit::Write { held: self.held.swap(0, Ordering::AcqRel) },
                Err(now) => state = now,
            }
        }
        self.held.fetch_add(1, Ordering::AcqRel);
        if !self.registered.swap(true, Ordering::AcqRel) {
            SITES.lock().unwrap_or_else(|p| p.into_inner()).push(self);
        }
        Admit::Hold
    }

    /// Lines held back and not yet reported (cleared).
    pub fn take_held(&self) -> u64 {
        self.held.swap(0, Ordering::AcqRel)
    }
}

/// Says, for every call site that holds lines back, how many ("suppressed K similar
/// messages", at warning level); the counts start again from 0.
pub fn flush() {
    let sites: Vec<&'static Site> = SITES.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for site in sites {
        let held = site.take_held();
        if held > 0 {
            tracing::warn!(
                suppressed = held,
                site = site.name,
                "suppressed {held} similar messages"
            );
        }
    }
}

/// Starts the thread that calls [`flush`] every [`INTERVAL`], once per process.
pub(super) fn start_flusher() {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let spawned = std::thread::Builder::new().name("log-flush".into()).spawn(|| loop {
        std::thread::sleep(INTERVAL);
        flush();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the log flush thread; suppressed counts are said with the next line");
    }
}

/// `tracing::warn!` limited to [`BURST`](crate::logging::ratelimit::BURST) lines per
/// [`INTERVAL`](crate::logging::ratelimit::INTERVAL) at this call site; the lines held back
/// are counted and said ("suppressed K similar messages"). Same arguments as `tracing::warn!`.
macro_rules! warn_limited {
    ($($arg:tt)+) => {{
        static SITE: $crate::logging::ratelimit::Site =
            $crate::logging::ratelimit::Site::new(concat!(file!(), ":", line!()));
        if let $crate::logging::ratelimit::Admit::Write { held } = SITE.admit() {
            if held > 0 {
                ::tracing::warn!(suppressed = held, site = SITE.name,
                    "suppressed {held} similar messages");
            }
            ::tracing::warn!($($arg)+);
        }
    }};
}

/// [`warn_limited!`] at error level.
macro_rules! error_limited {
    ($($arg:tt)+) => {{
        static SITE: $crate::logging::ratelimit::Site =
            $crate::logging::ratelimit::Site::new(concat!(file!(), ":", line!()));
        if let $crate::logging::ratelimit::Admit::Write { held } = SITE.admit() {
            if held > 0 {
                ::tracing::error!(suppressed = held, site = SITE.name,
                    "suppressed {held} similar messages");
            }
            ::tracing::error!($($arg)+);
        }
    }};
}

pub(crate) use {error_limited, warn_limited};

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn burst_per_interval_then_one_count_of_what_was_held() {
        static S: Site = Site::new("test:1");
        for i in 0..BURST {
            assert_eq!(S.admit_at(at(u64::from(i))), Admit::Write { held: 0 }, "line {i}");
        }
        for i in 0..37 {
            assert_eq!(S.admit_at(at(100 + i)), Admit::Hold);
        }
        // The next window: the first line carries the count, the budget starts again.
        let next = INTERVAL + at(1);
        assert_eq!(S.admit_at(next), Admit::Write { held: 37 });
        for _ in 1..BURST {
            assert_eq!(S.admit_at(next), Admit::Write { held: 0 });
        }
        assert_eq!(S.admit_at(next), Admit::Hold);
        assert_eq!(S.take_held(), 1);
        assert_eq!(S.take_held(), 0, "taken once");
    }

    #[test]
    fn sites_have_their_own_budgets_and_register_when_they_hold() {
        static A: Site = Site::new("test:a");
        static B: Site = Site::new("test:b");
        for _ in 0..BURST {
            assert!(matches!(A.admit_at(at(0)), Admit::Write { .. }));
        }
        assert_eq!(A.admit_at(at(0)), Admit::Hold);
        assert_eq!(B.admit_at(at(0)), Admit::Write { held: 0 });
        let listed = SITES.lock().unwrap().iter().any(|s| s.name == "test:a");
        assert!(listed, "a site that held a line is flushed");
        let listed = SITES.lock().unwrap().iter().any(|s| s.name == "test:b");
        assert!(!listed, "a site that never held one costs nothing at flush");
        flush();
        assert_eq!(A.take_held(), 0, "flush said and cleared the count");
    }

    #[test]
    fn every_call_from_many_threads_is_written_or_counted() {
        static S: Site = Site::new("test:threads");
        let written = std::sync::Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let w = written.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        if let Admit::Write { held } = S.admit_at(at(5)) {
                            assert_eq!(held, 0);
                            w.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let w = written.load(Ordering::Relaxed);
        assert_eq!(w, u64::from(BURST), "one window");
        assert_eq!(w + S.take_held(), 40_000);
    }

    #[test]
    fn the_macro_expands_and_limits() {
        // Through the real clock: well within one interval.
        for _ in 0..(BURST * 3) {
            crate::logging::warn_limited!(n = 1, "repeated");
        }
    }
}
