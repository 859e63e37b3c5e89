//! `wirebeat.detect.intel`: threat-intelligence matching (to be written).

use crate::units::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
}

impl Config {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}
