//! wirebeat's own log (not the events it ships): one `tracing` subscriber for the process, on
//! standard error, set up once by the CLI from `logging`.
//!
//! - `text` (default): tracing's human-readable lines; ANSI colours only when standard error
//!   is a terminal, so a journal or a file gets plain text.
//! - `ecs`: one ECS JSON document a line ([`ecs`]).
//!
//! The level is an `EnvFilter` behind a reload handle: `WIREBEAT_LOG` (a filter directive)
//! wins over `logging.level`; otherwise SIGHUP re-reads `logging.level` through the
//! `reload` registry and swaps the filter live. Hot-path warnings go through
//! [`warn_limited!`] / [`error_limited!`]
//! ([`ratelimit`]).
//!
//! Secrets: nothing here redacts. The policy is that no secret reaches a log call: config
//! secrets are [`crate::units::Secret`] (whose `Debug` is redacted), HTTP clients redact their
//! `Authorization` header, and `tests/logs.rs` runs the binary with known secrets and greps
//! everything it writes.
//!
//! A near-leaf: it depends on `reload`, `time` and `units` only, so any stage may log through it.

pub mod config;
pub mod ecs;
pub mod ratelimit;

pub use config::{Logging, FORMATS, LEVELS};
pub(crate) use ratelimit::{error_limited, warn_limited};

use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{reload, EnvFilter};

/// The environment variable whose filter directive overrides `logging.level`.
pub const ENV: &str = "WIREBEAT_LOG";

/// Re-reads `logging.level` from the configuration (file and `-E` overrides) on SIGHUP.
pub type LevelSource = Box<dyn FnMut() -> Result<String, String> + Send>;

/// Installs the process's subscriber; `ecs_version` goes into every ECS line, and
/// `reread` gives the level a SIGHUP should apply. A second call (or a subscriber already
/// set, as in tests) changes nothing.
pub fn init(cfg: &Logging, ecs_version: &'static str, reread: LevelSource) {
    let from_env = std::env::var(ENV).ok().filter(|v| !v.trim().is_empty());
    let filter = match &from_env {
        Some(directive) => EnvFilter::try_new(directive).unwrap_or_else(|e| {
            // Said once the subscriber is up (below).
            bad_env(directive, &e.to_string());
            EnvFilter::new(&cfg.level)
        }),
        None => EnvFilter::new(&cfg.level),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let stderr_tty = std::io::stderr().is_terminal();
    let (text, ecs) = if cfg.is_ecs() {
        let service = ecs::Service {
            ecs_version,
            version: env!("CARGO_PKG_VERSION"),
            pid: std::process::id(),
        };
        (None, Some(ecs::EcsLayer::new(service, std::io::stderr)))
    } else {
        (
            Some(
                tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(stderr_tty),
            ),
            None,
        )
    };
    let subscriber = tracing_subscriber::registry().with(filter).with(text).with(ecs);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return;
    }
    // Records of the `log` crate (rustls, ureq) become tracing events. Every level passes
    // here and the filter above decides, so a level raised by SIGHUP reaches them too (the
    // usual `try_init` would fix log's own maximum at the level of this moment).
    let _ = tracing_log::LogTracer::builder()
        .with_max_level(tracing_log::log::LevelFilter::Trace)
        .init();
    if let Some((directive, e)) = BAD_ENV.lock().unwrap_or_else(|p| p.into_inner()).take() {
        tracing::warn!(error = %e, "{ENV}={directive:?} is not a valid filter; using logging.level");
    }
    ratelimit::start_flusher();
    let mut current = cfg.level.clone();
    let mut reread = reread;
    crate::reload::register("logging.level", move || {
        Some(reload_level(&mut current, from_env.as_deref(), &mut reread, |level| {
            handle.reload(EnvFilter::new(level)).map_err(|e| e.to_string())
        }))
    });
}

static BAD_ENV: std::sync::Mutex<Option<(String, String)>> = std::sync::Mutex::new(None);

fn bad_env(directive: &str, e: &str) {
    *BAD_ENV.lock().unwrap_or_else(|p| p.into_inner()) = Some((directive.to_owned(), e.to_owned()));
}

/// One SIGHUP: the level the configuration now says, applied with `apply`; `current` is the
/// level in force, kept on any error.
fn reload_level(
    current: &mut String,
    from_env: Option<&str>,
    reread: &mut LevelSource,
    apply: impl FnOnce(&str) -> Result<(), String>,
) -> crate::reload::Outcome {
    if let Some(directive) = from_env {
        return Err(format!("{ENV}={directive:?} sets the level; logging.level is not reloaded"));
    }
    let level = reread().map_err(|e| format!("kept {current}: {e}"))?;
    if !LEVELS.contains(&level.as_str()) {
        return Err(format!("kept {current}: {level:?} is not one of: {}", LEVELS.join(", ")));
    }
    if level == *current {
        return Ok(format!("unchanged ({level})"));
    }
    apply(&level).map_err(|e| format!("kept {current}: {e}"))?;
    let was = std::mem::replace(current, level);
    Ok(format!("{was} → {current}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(answers: Vec<Result<&'static str, &'static str>>) -> LevelSource {
        let mut it = answers.into_iter();
        Box::new(move || match it.next() {
            Some(Ok(l)) => Ok(l.to_owned()),
            Some(Err(e)) => Err(e.to_owned()),
            None => Err("no more answers".to_owned()),
        })
    }

    #[test]
    fn reload_applies_a_new_level_and_keeps_the_old_one_on_errors() {
        let mut current = "info".to_owned();
        let mut src = source(vec![Ok("debug"), Ok("debug"), Err("line 3: bad"), Ok("loud")]);
        let mut applied = Vec::new();
        let mut apply = |l: &str| -> Result<(), String> {
            applied.push(l.to_owned());
            Ok(())
        };
        assert_eq!(
            reload_level(&mut current, None, &mut src, &mut apply),
            Ok("info → debug".into())
        );
        assert_eq!(
            reload_level(&mut current, None, &mut src, &mut apply),
            Ok("unchanged (debug)".into())
        );
        assert_eq!(
            reload_level(&mut current, None, &mut src, &mut apply),
            Err("kept debug: line 3: bad".into())
        );
        let e = reload_level(&mut current, None, &mut src, &mut apply).unwrap_err();
        assert!(e.starts_with("kept debug: \"loud\" is not one of"), "{e}");
        assert_eq!(current, "debug");
        assert_eq!(applied, ["debug"]);
    }

    #[test]
    fn the_environment_filter_is_not_overridden_by_a_reload() {
        let mut current = "info".to_owned();
        let mut src = source(vec![Ok("debug")]);
        let e = reload_level(&mut current, Some("trace"), &mut src, |_| Ok(())).unwrap_err();
        assert!(e.contains("WIREBEAT_LOG=\"trace\""), "{e}");
        assert_eq!(current, "info");
    }

    #[test]
    fn a_failed_swap_keeps_the_level() {
        let mut current = "warn".to_owned();
        let mut src = source(vec![Ok("info")]);
        let e = reload_level(&mut current, None, &mut src, |_| Err("gone".into())).unwrap_err();
        assert_eq!(e, "kept warn: gone");
        assert_eq!(current, "warn");
    }
}
