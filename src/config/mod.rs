//! Configuration: YAML in the Beats shape, `-E` overrides, `${VAR}` expansion, strict keys.
//!
//! Raw → validated: [`load`] reads the text into the typed [`Config`] (the sections each
//! component owns, composed here) and validates it into [`Settings`], resolved once. The
//! components never import this module; the CLI and the pipeline take the [`Settings`].
mod types;
pub use types::*;

mod check;
mod load;
mod packetbeat;
pub use packetbeat::from_packetbeat;
mod settings;
mod source;
mod validate;
pub use load::{load, load_str, ConfigError, Origin};
pub use settings::Settings;
pub use validate::{named_networks, LOG_FORMATS, LOG_LEVELS, NETWORK_NAMES, SNAPLEN_RANGE};
