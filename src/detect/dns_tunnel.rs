//! `wirebeat.detect.dns_tunnel`: (to be written).

use super::config::detector_section;
use super::Detector;
use crate::units::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {}

impl Thresholds {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

detector_section!(60, 100_000);

/// The detector `cfg` asks for, if enabled.
pub fn build(cfg: &Config) -> Option<Box<dyn Detector>> {
    let _ = cfg;
    None
}
