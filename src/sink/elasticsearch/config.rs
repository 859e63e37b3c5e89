//! `output.elasticsearch`: the options and their validation (pure, apart from the client IO).

use super::client;
use crate::units::{Duration, Tls, TlsSupport};
use serde::{Deserialize, Serialize};

/// What the HTTP client (also used by `setup` for Kibana) does with the `ssl` settings: CA
/// files and a pinned CA fingerprint; TLS follows the host's scheme, so there is no switch, and
/// there are no client certificates.
pub const TLS_SUPPORT: TlsSupport =
    TlsSupport { switch: false, client_certificate: false, ca_trusted_fingerprint: true };

/// Most events per `_bulk` request: beyond this a request takes longer than a retry is worth.
pub const MAX_BULK_SIZE: usize = 100_000;

/// Most bytes per `_bulk` request: Elasticsearch refuses bodies above `http.max_content_length`
/// (100 MiB by default).
pub const MAX_BULK_BYTES: usize = 100 << 20;

/// Longest `timeout` and `backoff.max`: the clock adds them to the present, and a request or a
/// wait longer than an hour is an outage, not a delay.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// `output.elasticsearch.backoff`: waits between retries double from `init` up to `max`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    pub init: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { init: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

/// `output.elasticsearch`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// `http(s)://host:port[/path]`; a host without scheme is `http://host:9200`. Several hosts
    /// are used round-robin; a failing one is skipped for a backoff period.
    pub hosts: Vec<String>,
    /// An API key, as `id:api_key` or already base64-encoded.
    pub api_key: Option<crate::units::Secret>,
    /// Basic authentication (not together with `api_key`).
    pub username: Option<String>,
    pub password: Option<crate::units::Secret>,
    pub ssl: Tls,
    /// gzip level of request bodies, 0 (off) to 9.
    pub compression_level: u32,
    /// Events per `_bulk` request.
    pub bulk_max_size: usize,
    /// Bytes per `_bulk` request (before compression).
    pub bulk_max_bytes: usize,
    /// Target instead of the data stream `logs-<dataset>-<namespace>`; may contain
    /// `%{[data_stream.type]}`, `%{[data_stream.dataset]}` and `%{[data_stream.namespace]}`.
    pub index: Option<String>,
    /// Ingest pipeline for every document (`_bulk?pipeline=`).
    pub pipeline: Option<String>,
    /// NDJSON file receiving documents Elasticsearch refuses (with status, type and reason).
    pub dead_letter_file: Option<String>,
    /// Beats semantics: resends of a failed request or of transiently failed items inside one
    /// `send` (with `backoff`), and then resends of those events by the pipeline, before an
    /// event is dropped (`dropped_retries_exhausted`). Negative (-1): retry until delivered.
    /// With the disk spool events are retried until delivered whatever this says.
    pub max_retries: i64,
    pub backoff: Backoff,
    /// HTTP request timeout.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            hosts: Vec::new(),
            api_key: None,
            username: None,
            password: None,
            ssl: Tls::default(),
            compression_level: 1,
            bulk_max_size: 1600,
            bulk_max_bytes: 10 << 20,
            index: None,
            pipeline: None,
            dead_letter_file: None,
            max_retries: 3,
            backoff: Backoff::default(),
            timeout: Duration::from_secs(90),
        }
    }
}

impl Config {
    /// The `ssl` settings this client cannot honour are refused, whether or not the output is
    /// enabled (`setup` uses the section either way).
    pub fn check_tls(&self) -> Result<(), String> {
        match self.ssl.unsupported(TLS_SUPPORT) {
            Some(key) => Err(format!(
                "output.elasticsearch.ssl.{key}: not supported by the Elasticsearch client"
            )),
            None => Ok(()),
        }
    }

    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let p = "output.elasticsearch";
        self.check_tls()?;
        if self.hosts.is_empty() {
            return Err(format!("{p}.hosts: at least one host is needed"));
        }
        for h in &self.hosts {
            client::normalize_host(h).map_err(|e| format!("{p}.hosts: {e}"))?;
        }
        let has = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
        let has_secret =
            |o: &Option<crate::units::Secret>| o.as_ref().is_some_and(|s| !s.is_empty());
        if has_secret(&self.api_key) && (has(&self.username) || has_secret(&self.password)) {
            return Err(format!("{p}: set either api_key or username/password, not both"));
        }
        if has_secret(&self.password) && !has(&self.username) {
            return Err(format!("{p}.password: is set without username"));
        }
        if self.compression_level > 9 {
            return Err(format!(
                "{p}.compression_level: must be between 0 and 9, got {}",
                self.compression_level
            ));
        }
        if !(1..=MAX_BULK_SIZE).contains(&self.bulk_max_size) {
            return Err(format!(
                "{p}.bulk_max_size: must be between 1 and {MAX_BULK_SIZE}, got {}",
                self.bulk_max_size
            ));
        }
        if !(1024..=MAX_BULK_BYTES).contains(&self.bulk_max_bytes) {
            return Err(format!(
                "{p}.bulk_max_bytes: must be between 1024 and {MAX_BULK_BYTES} (100MiB), got {}",
                self.bulk_max_bytes
            ));
        }
        if let Some(fp) = &self.ssl.ca_trusted_fingerprint {
            client::parse_fingerprint(fp).map_err(|e| format!("{p}.{e}"))?;
        }
        if self.backoff.init.0.is_zero() {
            return Err(format!("{p}.backoff.init: must be more than 0"));
        }
        if self.backoff.max < self.backoff.init {
            return Err(format!(
                "{p}.backoff.max: must not be less than backoff.init ({}), got {}",
                self.backoff.init, self.backoff.max
            ));
        }
        if self.backoff.max > MAX_WAIT {
            return Err(format!(
                "{p}.backoff.max: must be at most {MAX_WAIT}, got {}",
                self.backoff.max
            ));
        }
        if self.timeout.0.is_zero() {
            return Err(format!("{p}.timeout: must be more than 0"));
        }
        if self.timeout > MAX_WAIT {
            return Err(format!("{p}.timeout: must be at most {MAX_WAIT}, got {}", self.timeout));
        }
        if self.index.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return Err(format!("{p}.index: must not be empty"));
        }
        if self.pipeline.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return Err(format!("{p}.pipeline: must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::VerificationMode;

    #[test]
    fn defaults_are_beats_like() {
        let c = Config::default();
        assert_eq!(c.bulk_max_size, 1600);
        assert_eq!(c.bulk_max_bytes, 10 << 20);
        assert_eq!(c.max_retries, 3);
        assert_eq!(c.timeout, Duration::from_secs(90));
    }

    #[test]
    fn validation_names_the_key() {
        let ok = Config { hosts: vec!["http://127.0.0.1:9200".into()], ..Config::default() };
        assert!(ok.validate().is_ok());
        assert!(Config::default().validate().unwrap_err().contains("hosts"));
        let both = Config { api_key: Some("a:b".into()), username: Some("u".into()), ..ok.clone() };
        assert!(both.validate().unwrap_err().contains("api_key"));
        let lvl = Config { compression_level: 12, ..ok.clone() };
        assert!(lvl.validate().unwrap_err().contains("compression_level"));
        let mut fp = ok.clone();
        fp.ssl.ca_trusted_fingerprint = Some("xyz".into());
        assert!(fp.validate().unwrap_err().contains("ca_trusted_fingerprint"));
        let bo = Config {
            backoff: Backoff { init: Duration::from_secs(5), max: Duration::from_secs(1) },
            ..ok.clone()
        };
        assert!(bo.validate().unwrap_err().contains("backoff"));
    }

    #[test]
    fn yaml_shape() {
        let c: Config = crate::yaml::from_str(
            "hosts: [\"https://es:9200\"]\nssl:\n  certificate_authorities: /ca.pem\n  \
             verification_mode: certificate\nbackoff.init: 10ms\n",
        )
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| {
            // dotted keys are expanded by the config loader, not by serde: retry nested
            assert!(e.contains("backoff.init"), "{e}");
            crate::yaml::from_str(
                "hosts: [\"https://es:9200\"]\nssl:\n  certificate_authorities: /ca.pem\n  \
                 verification_mode: certificate\nbackoff:\n  init: 10ms\n",
            )
            .unwrap()
        });
        assert_eq!(c.ssl.certificate_authorities, vec!["/ca.pem".to_owned()]);
        assert_eq!(c.ssl.verification_mode, VerificationMode::Certificate);
        assert_eq!(c.backoff.init, Duration(std::time::Duration::from_millis(10)));
        assert!(crate::yaml::from_str::<Config>("hostz: []").is_err());
    }
}
