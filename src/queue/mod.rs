//! The queue between the pipeline and the output (being written): memory queue and disk spool.

use serde::{Deserialize, Serialize};

/// `queue`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {}
