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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn settings(text: &str) -> Result<Settings, ConfigError> {
        load_str(text, "wirebeat.yml", &[], &|_| None)
    }

    #[test]
    fn validation_resolves_once() {
        let s = settings(
            "wirebeat:\n  workers: 3\n  internal_networks: [loopback, 10.1.2.3/8]\n  \
             flows: {timeout: 5s, udp_timeout: 1s, max_flows: 300}\n\
             output.file: {path: /tmp/x}\noutput.console.enabled: false\n",
        )
        .unwrap();
        assert_eq!(s.workers, 3);
        let nets: Vec<IpNet> =
            ["127.0.0.0/8", "::1/128", "10.0.0.0/8"].iter().map(|n| n.parse().unwrap()).collect();
        assert_eq!(s.internal_networks, nets);
        assert_eq!(s.flows.tcp_timeout_ns, 5_000_000_000);
        assert_eq!(s.flows.udp_timeout_ns, 1_000_000_000);
        assert_eq!(s.flows.max_flows, 100);
        assert!(s.registry.is_some());
        match &s.sink {
            Selected::File(f) => assert_eq!(f.path, "/tmp/x"),
            other => panic!("{other:?}"),
        }
        // What is not resolved is read from the validated configuration.
        assert_eq!(s.config().wirebeat.flows.max_flows, 300);
        assert_eq!(s.wirebeat.namespace, "default");
    }

    #[test]
    fn defaults_resolve() {
        let s = settings("").unwrap();
        assert!(s.workers >= 1);
        assert_eq!(s.internal_networks, Config::default().wirebeat.internal_networks());
        assert_eq!(s.sink, Selected::Console { pretty: false });
        let off = "wirebeat.protocols: {dns.enabled: false, http.enabled: false, \
                   tls.enabled: false, dhcpv4.enabled: false, icmp.enabled: false, \
                   nfs.enabled: false, sip.enabled: false}\n";
        assert!(settings(off).unwrap().registry.is_none(), "no protocol: flows only");
        assert_eq!(
            settings("output.console.pretty: true\n").unwrap().sink,
            Selected::Console { pretty: true }
        );
        let raw = settings("wirebeat.workers: 2\n").unwrap().into_config();
        assert_eq!(Settings::new(raw.clone()).unwrap(), raw);
    }

    /// One `ssl` type for every TLS client; a key a client cannot honour is refused with its
    /// line, as an unknown key was before the type was shared.
    #[test]
    fn tls_keys_a_client_cannot_honour_are_named() {
        for (text, line, want) in [
            (
                "output.kafka:\n  hosts: [\"k:9092\"]\n  ssl:\n    ca_trusted_fingerprint: ab\n",
                4,
                "output.kafka.ssl.ca_trusted_fingerprint: not supported by the Kafka output",
            ),
            (
                "output.elasticsearch:\n  enabled: false\n  ssl.certificate: /c.pem\n",
                3,
                "output.elasticsearch.ssl.certificate: not supported by the Elasticsearch client",
            ),
            (
                "output.elasticsearch.ssl.enabled: false\n",
                1,
                "output.elasticsearch.ssl.enabled: not supported by the Elasticsearch client",
            ),
            (
                "setup:\n  kibana:\n    ssl: {key_passphrase: x}\n",
                3,
                "setup.kibana.ssl.key_passphrase: not supported by the Kibana client",
            ),
        ] {
            let err = settings(text).unwrap_err();
            assert_eq!(err.to_string(), format!("wirebeat.yml: line {line}: {want}"), "{text}");
            assert_eq!(err.line(), Some(line));
        }
        // Every key that worked keeps working: Kafka's switch and client certificate, the
        // Elasticsearch CA as one path, `strict` as in Beats.
        let ok = settings(
            "output.kafka:\n  enabled: false\n  hosts: [\"k:9092\"]\n  ssl:\n    enabled: false\n    \
             certificate: /c.pem\n    key: /k.pem\n    key_passphrase: x\n\
             output.elasticsearch:\n  hosts: [\"https://es:9200\"]\n  ssl:\n    \
             certificate_authorities: /ca.pem\n    ca_trusted_fingerprint: \
             \"0000000000000000000000000000000000000000000000000000000000000000\"\n    \
             verification_mode: strict\n",
        )
        .unwrap();
        assert_eq!(
            ok.output.elasticsearch.as_ref().unwrap().ssl.certificate_authorities,
            vec!["/ca.pem".to_string()]
        );
    }
}
