//! Live reload (SIGHUP): what can change without a restart registers a handler here, and the
//! signal handler runs them all and says what each did.
//!
//! A leaf module: components register themselves (`register`) when they start, with a name the
//! operator recognises ("logging.level", "threat intel lists"), so the CLI needs to know none of
//! them. A handler returns one line saying what it reloaded, or an error saying why it could not;
//! the previous state stays in force on error. Handlers run on the thread that received the
//! signal, one at a time, in the order they were registered; they must not block for long (read
//! a file, swap an `Arc`).
//!
//! Registration is process-wide, like the signal. A handler whose component is gone returns
//! `None` and is dropped from the list (e.g. a pipeline of a test that ended).

use std::sync::Mutex;

/// What one handler did: `Ok(line)` reloaded, `Err(line)` kept the old state.
pub type Outcome = Result<String, String>;

type Handler = Box<dyn FnMut() -> Option<Outcome> + Send>;

static HANDLERS: Mutex<Vec<(String, Handler)>> = Mutex::new(Vec::new());

/// Registers a reload handler under `name`. Returning `None` unregisters it.
pub fn register(name: &str, handler: impl FnMut() -> Option<Outcome> + Send + 'static) {
    let mut h = HANDLERS.lock().unwrap_or_else(|p| p.into_inner());
    h.push((name.to_owned(), Box::new(handler)));
}

/// Runs every handler once; returns `(name, outcome)` in registration order.
pub fn reload_all() -> Vec<(String, Outcome)> {
    let mut h = HANDLERS.lock().unwrap_or_else(|p| p.into_inner());
    let mut done = Vec::new();
    h.retain_mut(|(name, f)| match f() {
        Some(o) => {
            done.push((name.clone(), o));
            true
        }
        None => false,
    });
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[test]
    fn handlers_run_in_order_and_unregister_themselves() {
        let n = Arc::new(AtomicU32::new(0));
        let m = n.clone();
        register("test.counting", move || {
            let k = m.fetch_add(1, Ordering::SeqCst);
            (k < 1).then(|| Ok(format!("run {k}")))
        });
        register("test.failing", || Some(Err("file missing".into())));
        let first = reload_all();
        let mine: Vec<_> = first.iter().filter(|(n, _)| n.starts_with("test.")).collect();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].1, Ok("run 0".to_owned()));
        assert_eq!(mine[1].1, Err("file missing".to_owned()));
        // The counting handler returns None the second time and is removed.
        let second = reload_all();
        assert!(!second.iter().any(|(n, _)| n == "test.counting"));
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
