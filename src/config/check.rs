//! Checks that need the machine, run by [`load`](super::load) (the CLI's loader) after the pure
//! validation: every BPF filter compiles (libpcap, without a device), and the certificate
//! authority files of the Elasticsearch output and of Kibana can be read and hold
//! certificates. Kafka's TLS files are checked by its own validation. So `test config` refuses
//! what `run` would stop on, naming the key and its line; [`load_str`](super::load_str) skips
//! these checks, which keeps it pure for tests.

use super::{Config, ConfigError};
use crate::sink::elasticsearch::{self as es, client};

impl Config {
    /// The checks that need the machine (see the module). The CLI runs them again after `-i`
    /// and `-f` have replaced the interfaces.
    pub fn check_machine(&self) -> Result<(), ConfigError> {
        for (i, iface) in self.wirebeat.interfaces.iter().enumerate() {
            iface.check_filter().map_err(|e| e.under(&format!("wirebeat.interfaces[{i}]")))?;
        }
        let es_cfg = self.output.elasticsearch.as_ref().filter(|e| e.enabled);
        if let Some(e) = es_cfg.filter(|e| !e.ssl.certificate_authorities.is_empty()) {
            client::tls_config(e).map_err(|m| tls_error("output.elasticsearch", &m))?;
        }
        let kibana = &self.setup.kibana;
        if !kibana.ssl.certificate_authorities.is_empty() {
            let cfg = es::Config { ssl: kibana.ssl.clone(), ..es::Config::default() };
            client::tls_config(&cfg).map_err(|m| tls_error("setup.kibana", &m))?;
        }
        Ok(())
    }
}

/// The client's messages start with the `ssl.…` key they are about.
fn tls_error(section: &str, message: &str) -> ConfigError {
    match message.split_once(": ").filter(|(k, _)| k.starts_with("ssl.") && !k.contains(' ')) {
        Some((key, m)) => ConfigError::validation(format!("{section}.{key}"), m),
        None => ConfigError::validation(format!("{section}.ssl"), message),
    }
}
