//! elasticsearch output (being written): registered so the configuration shape is fixed.

use crate::sink::{Output, OutputError};
use serde::{Deserialize, Serialize};

/// `output.elasticsearch`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub hosts: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, hosts: Vec::new() }
    }
}

/// Opens the output.
pub fn open(_cfg: &Config) -> Result<Box<dyn Output>, OutputError> {
    Err(OutputError::Fatal {
        output: "elasticsearch",
        message: "the elasticsearch output is not available in this build yet".into(),
    })
}
