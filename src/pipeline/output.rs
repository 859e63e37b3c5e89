//! The output thread: takes batches from the queue, delivers them, and acknowledges each batch
//! once every event has a final outcome.
//!
//! `Retry` outcomes are resent with the shared backoff (`crate::backoff`); the batch stays
//! unacknowledged in the queue meanwhile. When the drain is over (`drain_over`, see
//! `crate::shutdown`) the backoff ends at once and the batch is given up: a spool keeps it for
//! the next start; a memory queue counts what was not delivered in `dropped_shutdown`.

use super::RunResult;
use crate::backoff::Backoff;
use crate::ecs::EncodedEvent;
use crate::queue::{Queue, Taken};
use crate::shutdown::Shutdown;
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
    loop {
        match queue.take(max, std::time::Duration::from_millis(500)) {
            Taken::Batch(batch) => {
                let n = batch.len();
                Counters::add(&counters.events_published, n as u64);
                let delivery = deliver(&mut *output, batch, &counters, &mut result, &drain_over);
                publish_output_stats(&*output, &mut seen, &counters);
                match delivery {
                    Delivery::Done => queue.ack(n),
                    Delivery::Failed => {
                        failed.store(true, Ordering::Relaxed);
                        queue.abort();
                        return result;
                    }
                    Delivery::GivenUp { left } => {
                        // The spool resends the whole batch at the next start (the delivered
                        // part as duplicates); a memory queue forgets it now.
                        if !queue.durable() {
                            Counters::add(&counters.dropped_shutdown, left as u64);
                            queue.ack(n);
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
    publish_output_stats(&*output, &mut seen, &counters);
    result
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

/// Sends `batch` until every event has a final outcome; retries back off exponentially
/// ([`Backoff::delivery`]) until `drain_over` is requested.
pub(super) fn deliver(
    output: &mut dyn Output,
    batch: Vec<EncodedEvent>,
    counters: &Counters,
    result: &mut RunResult,
    drain_over: &Shutdown,
) -> Delivery {
    let mut backoff = Backoff::delivery();
    let mut todo = batch;
    while !todo.is_empty() {
        match output.send(&todo) {
            Ok(outcomes) => {
                let mut retry = Vec::new();
                for (ev, outcome) in todo.into_iter().zip(outcomes) {
                    match outcome {
                        Outcome::Delivered => Counters::add(&counters.events_acked, 1),
                        Outcome::Rejected(reason) => {
                            Counters::add(&counters.events_rejected, 1);
                            tracing::warn!(output = output.name(), %reason, "event rejected");
                        }
                        Outcome::Retry(_) => retry.push(ev),
                    }
                }
                if !retry.is_empty() {
                    Counters::add(&counters.events_retried, retry.len() as u64);
                    if !backoff.sleep(drain_over) {
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
        let d = deliver(&mut out, events(5), &counters, &mut result, &drain_over);
        let ended = Instant::now();
        let requested = requester.join().unwrap();
        assert_eq!(d, Delivery::GivenUp { left: 5 }, "the batch is left unacknowledged");
        let after = ended.duration_since(requested);
        assert!(after < Duration::from_millis(250), "ended {after:?} after the request");
        assert!(sends.load(Ordering::SeqCst) >= 3, "it retried before the shutdown");
        assert_eq!(counters.get(&counters.events_acked), 0);
        assert!(result.output_error.is_none());
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
