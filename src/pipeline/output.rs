//! The output thread: takes batches from the queue, delivers them, and acknowledges each batch
//! once every event has a final outcome.
//!
//! `Retry` outcomes are resent with the shared backoff (`crate::backoff`); the batch stays
//! unacknowledged in the queue meanwhile. When the drain is over (`drain_over`, see
//! `crate::shutdown`) the backoff ends at once and the batch is given up: a spool keeps it for
//! the next start; a memory queue counts what was not delivered in `dropped_shutdown`.
//!
//! Retry limit (Beats' `max_retries`): with a memory queue an event the output answered
//! `Retry` is resent at most [`Output::max_retries`] times, then dropped and counted in
//! `dropped_retries_exhausted`, so a `read` against an output that stays down ends. With the
//! disk spool the limit does not apply: the events are safe on disk and wait for the output.
//!
//! Per-event warnings (a rejected event) go through a [`Throttle`]: one line a second, with
//! the count of what was held back.

use super::RunResult;
use crate::backoff::Backoff;
use crate::ecs::EncodedEvent;
use crate::queue::{Queue, Taken};
use crate::shutdown::Shutdown;
use crate::sink::throttle::{suppressed_note, Throttle};
use crate::sink::{Outcome, Output, OutputStats};
use crate::stats::Counters;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How [`deliver`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Every event has a final outcome.
    Done,
    /// The output failed for good.
    Failed,
    /// The drain was over with `left` events still to be resent.
    GivenUp { left: usize },
}

/// Takes batches from the queue, delivers them, and acknowledges them to the queue once every
/// event has a final outcome. Ends when the queue is closed and empty, the output failed, or
/// the drain is over.
pub(super) fn send_loop(
    mut output: Box<dyn Output>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    failed: Arc<AtomicBool>,
    drain_over: Shutdown,
) -> RunResult {
    let mut result = RunResult::default();
    let mut seen = OutputStats::default();
    let max = output.max_batch().max(1);
    let mut throttle = Throttle::default();
    let limit = if queue.durable() { None } else { output.max_retries() };
    loop {
        match queue.take(max, std::time::Duration::from_millis(500)) {
            Taken::Batch(batch) => {
                let n = batch.len();
                Counters::add(&counters.events_published, n as u64);
                let mut how = How { limit, throttle: &mut throttle, drain_over: &drain_over };
                let delivery = deliver(&mut *output, batch, &counters, &mut result, &mut how);
                publish_output_stats(&*output, &mut seen, &counters);
                match delivery {
                    Delivery::Done => queue.ack_settled(n),
                    Delivery::Failed => {
                        failed.store(true, Ordering::Relaxed);
                        queue.abort();
                        return result;
                    }
                    Delivery::GivenUp { left } => {
                        // The spool resends the whole batch at the next start (the delivered
                        // part as duplicates); a memory queue forgets it now.
                        if !queue.durable() {
                            settle(&counters, &counters.dropped_shutdown, left as u64);
                            queue.ack_settled(n);
                        }
                        break;
                    }
                }
            }
            Taken::Empty => {}
            Taken::Closed => break,
        }
    }
    if let Err(e) = output.flush() {
        result.output_error = Some(e.to_string());
    }
    for (cause, n) in throttle.finish() {
        tracing::warn!(output = output.name(), "{cause}: {n} more lines suppressed");
    }
    publish_output_stats(&*output, &mut seen, &counters);
    result
}

/// Counts `n` final outcomes in `counter` and as awaiting their batch's acknowledgement, at
/// once (see `crate::stats`, the events identity).
fn settle(c: &Counters, counter: &std::sync::atomic::AtomicU64, n: u64) {
    if n > 0 {
        let _s = c.section();
        Counters::add(counter, n);
        Counters::add(&c.events_pending_ack, n);
    }
}

fn publish_output_stats(output: &dyn Output, seen: &mut OutputStats, counters: &Counters) {
    let now = output.stats();
    Counters::add(&counters.events_duplicate, now.duplicates.saturating_sub(seen.duplicates));
    Counters::add(
        &counters.events_dead_lettered,
        now.dead_lettered.saturating_sub(seen.dead_lettered),
    );
    Counters::add(&counters.events_retried, now.retried.saturating_sub(seen.retried));
    *seen = now;
}

/// How [`deliver`] retries: the resend limit (`None`: until delivered), the throttle of its
/// warnings, and the token that ends every wait.
pub(super) struct How<'a> {
    pub limit: Option<u32>,
    pub throttle: &'a mut Throttle,
    pub drain_over: &'a Shutdown,
}

/// Sends `batch` until every event has a final outcome; retries back off exponentially
/// ([`Backoff::delivery`]) until `drain_over` is requested, at most `how.limit` times.
pub(super) fn deliver(
    output: &mut dyn Output,
    batch: Vec<EncodedEvent>,
    counters: &Counters,
    result: &mut RunResult,
    how: &mut How<'_>,
) -> Delivery {
    let mut backoff = Backoff::delivery();
    let mut todo = batch;
    let mut resends = 0u32;
    while !todo.is_empty() {
        match output.send(&todo) {
            Ok(outcomes) => {
                let mut retry = Vec::new();
                let mut last_reason = String::new();
                let (mut delivered, mut rejected) = (0u64, 0u64);
                for (ev, outcome) in todo.into_iter().zip(outcomes) {
                    match outcome {
                        Outcome::Delivered => delivered += 1,
                        Outcome::Rejected(reason) => {
                            rejected += 1;
                            if let Some(n) = how.throttle.admit("event rejected") {
                                let more = suppressed_note(n);
                                tracing::warn!(output = output.name(), %reason, "event rejected{more}");
                            }
                        }
                        Outcome::Retry(reason) => {
                            last_reason = reason;
                            retry.push(ev);
                        }
                    }
                }
                settle(counters, &counters.events_acked, delivered);
                settle(counters, &counters.events_rejected, rejected);
                if !retry.is_empty() {
                    if how.limit.is_some_and(|l| resends >= l) {
                        let n = retry.len() as u64;
                        settle(counters, &counters.dropped_retries_exhausted, n);
                        if let Some(s) = how.throttle.admit("events dropped after max_retries") {
                            let more = suppressed_note(s);
                            tracing::warn!(
                                output = output.name(),
                                events = n,
                                reason = %last_reason,
                                "events dropped after max_retries resends failed{more}"
                            );
                        }
                        return Delivery::Done;
                    }
                    resends += 1;
                    Counters::add(&counters.events_retried, retry.len() as u64);
                    if !backoff.sleep(how.drain_over) {
                        return Delivery::GivenUp { left: retry.len() };
                    }
                }
                todo = retry;
            }
            Err(e) => {
                tracing::error!(output = output.name(), error = %e, "output failed");
                result.output_error = Some(e.to_string());
                return Delivery::Failed;
            }
        }
    }
    Delivery::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::OutputError;
    use std::time::{Duration, Instant};

    /// Answers `Retry` for every event, and counts the sends.
    struct AlwaysRetry(Arc<std::sync::atomic::AtomicUsize>);

    impl Output for AlwaysRetry {
        fn name(&self) -> &'static str {
            "always_retry"
        }
        fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(batch.iter().map(|_| Outcome::Retry("busy".into())).collect())
        }
        fn flush(&mut self) -> Result<(), OutputError> {
            Ok(())
        }
    }

    fn events(n: usize) -> Vec<EncodedEvent> {
        (0..n).map(|i| EncodedEvent::encode("test", None, &serde_json::json!({"n": i}))).collect()
    }

    #[test]
    fn deliver_to_an_output_that_always_retries_ends_soon_after_shutdown() {
        let sends = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut out = AlwaysRetry(sends.clone());
        let counters = Counters::default();
        let mut result = RunResult::default();
        let drain_over = Shutdown::new();
        let s = drain_over.clone();
        let requester = std::thread::spawn(move || {
            // Sends at 0, 100, 300 and 700 ms; the request comes 300 ms into the 800 ms wait,
            // so an uninterruptible wait would end 500 ms after it.
            std::thread::sleep(Duration::from_millis(1000));
            s.request();
            Instant::now()
        });
        let mut throttle = Throttle::default();
        let mut how = How { limit: None, throttle: &mut throttle, drain_over: &drain_over };
        let d = deliver(&mut out, events(5), &counters, &mut result, &mut how);
        let ended = Instant::now();
        let requested = requester.join().unwrap();
        assert_eq!(d, Delivery::GivenUp { left: 5 }, "the batch is left unacknowledged");
        let after = ended.duration_since(requested);
        assert!(after < Duration::from_millis(250), "ended {after:?} after the request");
        assert!(sends.load(Ordering::SeqCst) >= 3, "it retried before the shutdown");
        assert_eq!(counters.get(&counters.events_acked), 0);
        assert!(result.output_error.is_none());
    }

    /// [`AlwaysRetry`] with a resend limit.
    struct Limited(AlwaysRetry, u32);

    impl Output for Limited {
        fn name(&self) -> &'static str {
            "limited"
        }
        fn send(&mut self, batch: &[EncodedEvent]) -> Result<Vec<Outcome>, OutputError> {
            self.0.send(batch)
        }
        fn flush(&mut self) -> Result<(), OutputError> {
            Ok(())
        }
        fn max_retries(&self) -> Option<u32> {
            Some(self.1)
        }
    }

    #[test]
    fn a_memory_queue_drops_what_max_retries_resends_did_not_deliver() {
        let sends = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counters = Arc::new(Counters::default());
        let queue =
            Arc::new(Queue::open(&crate::queue::Config::default(), counters.clone()).unwrap());
        queue.push(events(7));
        queue.close();
        let failed = Arc::new(AtomicBool::new(false));
        let out = Box::new(Limited(AlwaysRetry(sends.clone()), 2));
        let r = send_loop(out, queue, counters.clone(), failed, Shutdown::new());
        assert!(r.output_error.is_none());
        assert_eq!(sends.load(Ordering::SeqCst), 3, "the first send and 2 resends");
        assert_eq!(counters.get(&counters.dropped_retries_exhausted), 7);
        assert_eq!(counters.get(&counters.events_retried), 14);
        assert_eq!(counters.get(&counters.dropped_shutdown), 0);
        assert_eq!(counters.get(&counters.queue_events), 0, "acknowledged as dropped");
    }

    #[test]
    fn send_loop_gives_up_a_memory_batch_as_dropped_shutdown() {
        let sends = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counters = Arc::new(Counters::default());
        let queue =
            Arc::new(Queue::open(&crate::queue::Config::default(), counters.clone()).unwrap());
        queue.push(events(7));
        queue.close();
        let drain_over = Shutdown::new();
        let s = drain_over.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            s.request();
        });
        let start = Instant::now();
        let failed = Arc::new(AtomicBool::new(false));
        let r = send_loop(
            Box::new(AlwaysRetry(sends)),
            queue.clone(),
            counters.clone(),
            failed.clone(),
            drain_over,
        );
        t.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(r.output_error.is_none());
        assert!(!failed.load(Ordering::SeqCst));
        assert_eq!(counters.get(&counters.dropped_shutdown), 7);
        assert_eq!(counters.get(&counters.events_acked), 0);
        assert_eq!(counters.get(&counters.queue_events), 0, "the memory queue forgot them");
    }
}
