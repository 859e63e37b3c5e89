//! The validated configuration the program runs with (raw → validated, as ripgrep's
//! `LowArgs` → `HiArgs`): [`Settings`] is made only by validating a [`Config`], which resolves
//! everything that needs resolving once — the worker count, `internal_networks` as networks,
//! the protocol registry (port conflicts checked), the flow table's timeouts and the output that
//! is used. The sections that need no resolving are read from the validated [`Config`]
//! ([`Settings`] dereferences to it).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use ipnet::IpNet;

use super::{Config, ConfigError};
use crate::flow::FlowSettings;
use crate::proto::Registry;
use crate::sink::Selected;

pub struct Settings {
    config: Config,
    /// Worker threads (`wirebeat.workers`, 0 resolved to one per core).
    pub workers: usize,
    /// `wirebeat.internal_networks` with the names expanded and duplicates dropped.
    pub internal_networks: Vec<IpNet>,
    /// The application protocols; `None` when none is enabled (flows only).
    pub registry: Option<Arc<Registry>>,
    /// `wirebeat.flows` for one worker's table.
    pub flows: FlowSettings,
    /// The one output events go to (from `output`).
    pub sink: Selected,
}

impl Settings {
    /// Validates `config` and resolves it. The error names the first bad key (without its
    /// origin: the loader adds the file line or the `-E` argument).
    pub fn new(config: Config) -> Result<Settings, ConfigError> {
        let r = config.resolve()?;
        Ok(Settings {
            config,
            workers: r.workers,
            internal_networks: r.internal_networks,
            registry: r.registry,
            flows: r.flows,
            sink: r.output,
        })
    }

    /// The validated configuration as written (for printing, or to change and validate again).
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn into_config(self) -> Config {
        self.config
    }
}

impl Deref for Settings {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.config
    }
}

/// Settings are equal when their configurations are: everything else is derived from it.
impl PartialEq for Settings {
    fn eq(&self, other: &Settings) -> bool {
        self.config == other.config
    }
}

impl PartialEq<Config> for Settings {
    fn eq(&self, other: &Config) -> bool {
        &self.config == other
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("config", &self.config)
            .field("workers", &self.workers)
            .field("internal_networks", &self.internal_networks)
            .field("protocols", &self.registry.is_some())
            .field("flows", &self.flows)
            .field("sink", &self.sink)
            .finish()
    }
}
