//! Configuration: YAML in the Beats shape, `-E` overrides, `${VAR}` expansion, strict keys.
mod types;
pub use types::*;
