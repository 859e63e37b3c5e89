//! Configuration: YAML in the Beats shape, `-E` overrides, `${VAR}` expansion, strict keys.
mod types;
pub use types::*;

mod load;
mod source;
mod validate;
pub use load::{load, load_str, ConfigError, Origin};
pub use validate::{named_networks, LOG_FORMATS, LOG_LEVELS, NETWORK_NAMES, SNAPLEN_RANGE};
