//! `logging`: the level and the format of wirebeat's own log (not of the events it ships).
//!
//! Owned here, beside the code that honours it; `config` composes it into the root section.

use crate::units::Invalid;
use serde::{Deserialize, Serialize};

/// Accepted `logging.level` values, least to most verbose.
pub const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// Accepted `logging.format` values.
pub const FORMATS: &[&str] = &["ecs", "text"];

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// error, warn, info, debug, trace. Reloaded on SIGHUP. `WIREBEAT_LOG` (an `EnvFilter`
    /// directive such as `debug` or `wirebeat=debug,librdkafka=warn`) overrides it.
    pub level: String,
    /// `ecs` (one ECS JSON document a line, for a log shipper) or `text` (for people; ANSI
    /// colours only when standard error is a terminal).
    pub format: String,
}

impl Default for Logging {
    fn default() -> Self {
        Logging { level: "info".into(), format: "text".into() }
    }
}

impl Logging {
    /// Pure checks; keys are relative to `logging`.
    pub fn validate(&self) -> Result<(), Invalid> {
        one_of("level", &self.level, LEVELS)?;
        one_of("format", &self.format, FORMATS)
    }

    pub fn is_ecs(&self) -> bool {
        self.format == "ecs"
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<(), Invalid> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Invalid::new(key, format!("{value:?} is not one of: {}", allowed.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_unknown_values_name_the_key() {
        assert_eq!(Logging::default().validate(), Ok(()));
        let bad = Logging { level: "loud".into(), ..Logging::default() };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.key, "level");
        assert_eq!(e.message, "\"loud\" is not one of: error, warn, info, debug, trace");
        let bad = Logging { format: "json".into(), ..Logging::default() };
        assert_eq!(bad.validate().unwrap_err().key, "format");
    }
}
