//! The stop signal of a run: one small cloneable token that every long wait looks at.
//!
//! A [`Shutdown`] starts unrequested; [`Shutdown::request`] is sticky and wakes every waiter at
//! once. It is a channel whose only sender is dropped on request, so a waiter blocks in the
//! channel (no polling) and a `crossbeam_channel::select!` can wait for it beside other work
//! ([`Shutdown::receiver`]). Checking it costs one atomic load, cheap enough for capture loops.
//!
//! A run has two of them, with one meaning each (see `pipeline`): the *stop* token, created once
//! from SIGINT/SIGTERM by the CLI's signal handler and also requested at the end of the input,
//! ends capture and starts the final drain; the pipeline's *drain over* token, requested when
//! `wirebeat.shutdown_timeout` has passed (see `pipeline::watch_drain`), ends every retry
//! backoff at once and
//! lets the workers, the queue and the output thread give up what is left.

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A stop request shared by clones. Nothing is ever sent on the channel: its sender is dropped
/// on request, which every receiver sees as "disconnected".
#[derive(Clone)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    sender: Arc<Mutex<Option<Sender<()>>>>,
    receiver: Receiver<()>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown").field("requested", &self.is_requested()).finish()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let (tx, rx) = bounded(0);
        Shutdown {
            requested: Arc::new(AtomicBool::new(false)),
            sender: Arc::new(Mutex::new(Some(tx))),
            receiver: rx,
        }
    }

    /// Requests the stop; later calls do nothing.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Waits up to `d`; returns early, with true, once the stop is requested.
    pub fn wait_timeout(&self, d: Duration) -> bool {
        match self.receiver.recv_timeout(d) {
            Err(RecvTimeoutError::Disconnected) => true,
            Ok(()) | Err(RecvTimeoutError::Timeout) => self.is_requested(),
        }
    }

    /// Waits until the stop is requested.
    pub fn wait(&self) {
        while self.receiver.recv().is_ok() {}
    }

    /// Ready (disconnected) once the stop is requested: for `select!` beside other channels.
    pub fn receiver(&self) -> &Receiver<()> {
        &self.receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn wait_times_out_when_not_requested() {
        let s = Shutdown::new();
        let t = Instant::now();
        assert!(!s.wait_timeout(Duration::from_millis(30)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert!(!s.is_requested());
    }

    #[test]
    fn request_wakes_waiters_of_every_clone_at_once() {
        let s = Shutdown::new();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let c = s.clone();
                std::thread::spawn(move || {
                    let t = Instant::now();
                    let woke = c.wait_timeout(Duration::from_secs(30));
                    c.wait();
                    (woke, t.elapsed())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        s.request();
        s.request();
        for w in waiters {
            let (woke, took) = w.join().unwrap_or((false, Duration::MAX));
            assert!(woke);
            assert!(took < Duration::from_secs(5), "{took:?}");
        }
        assert!(s.is_requested());
        assert!(s.wait_timeout(Duration::from_secs(30)), "stays requested");
    }
}
