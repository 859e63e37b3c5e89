//! `output.kafka`: the options, their validation, and their mapping onto librdkafka properties.

use super::topic::TopicTemplate;
use crate::units::{Duration, Tls, TlsSupport, VerificationMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Room left above `max_message_bytes` in librdkafka's `message.max.bytes` for the key, the
/// headers and the record framing, so an event of exactly `max_message_bytes` still fits.
pub const FRAMING_ALLOWANCE: usize = 4096;

/// `output.kafka`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// Bootstrap brokers, `host:port`.
    pub hosts: Vec<String>,
    /// Topic, with Beats-style field references: `%{[data_stream.dataset]}` or
    /// `%{[event.dataset]}` (e.g. `wirebeat-%{[data_stream.dataset]}`).
    pub topic: String,
    /// Message key: `community_id` (the flow's Community ID, so every event of a flow lands in
    /// one partition) or `none` (no key).
    pub key: KeyMode,
    /// librdkafka's partitioner: `consistent_random` (hash of the key; random without a key),
    /// `murmur2_random` (Java client compatible), `murmur2`, `consistent`, `fnv1a`,
    /// `fnv1a_random` or `random`.
    pub partitioner: Partitioner,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: Compression,
    /// Codec level (gzip 0–9, lz4 0–12, zstd 1–22); librdkafka's default when unset.
    pub compression_level: Option<i32>,
    /// Broker acknowledgements: -1 (all in-sync replicas), 1 (leader only) or 0 (none).
    pub required_acks: i32,
    /// Idempotent producer (no duplicates or reordering from internal retries). On by default
    /// when `required_acks` is -1; it needs `required_acks: -1`.
    pub idempotent: Option<bool>,
    /// Largest number of events librdkafka puts in one batch (`batch.num.messages`).
    pub bulk_max_size: usize,
    /// How long librdkafka waits to fill a batch (`linger.ms`), e.g. `5ms`. A bare number is
    /// seconds, like every wirebeat duration.
    pub linger: Duration,
    /// Largest event JSON sent as is; a larger event is replaced by a trimmed document
    /// (`tags: [wirebeat_trimmed]`), never dropped silently.
    pub max_message_bytes: usize,
    /// Events librdkafka may hold locally (`queue.buffering.max.messages`); when full, `send`
    /// waits for deliveries (backpressure).
    pub queue_max_events: usize,
    pub client_id: String,
    /// How long an event may take to be acknowledged before it is retried by the pipeline
    /// (`message.timeout.ms`; network requests time out after `min(timeout, 30s)`).
    pub timeout: Duration,
    /// Beats semantics: how many times an event that was not acknowledged within `timeout` is
    /// resent before it is dropped (`dropped_retries_exhausted`). Negative (-1): retry until
    /// delivered. With the disk spool events are retried until delivered whatever this says.
    pub max_retries: i64,
    /// SASL user name; SASL is on when set.
    pub username: Option<String>,
    pub password: Option<crate::units::Secret>,
    pub sasl: Sasl,
    /// TLS; present means enabled unless `enabled: false`.
    pub ssl: Option<Tls>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            hosts: Vec::new(),
            topic: "wirebeat".into(),
            key: KeyMode::CommunityId,
            partitioner: Partitioner::ConsistentRandom,
            compression: Compression::None,
            compression_level: None,
            required_acks: -1,
            idempotent: None,
            bulk_max_size: 2048,
            linger: Duration(std::time::Duration::from_millis(5)),
            max_message_bytes: 1_000_000,
            queue_max_events: 100_000,
            client_id: "wirebeat".into(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            username: None,
            password: None,
            sasl: Sasl::default(),
            ssl: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyMode {
    CommunityId,
    None,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    Random,
    Consistent,
    ConsistentRandom,
    Murmur2,
    Murmur2Random,
    Fnv1a,
    Fnv1aRandom,
}

impl Partitioner {
    fn as_str(self) -> &'static str {
        match self {
            Partitioner::Random => "random",
            Partitioner::Consistent => "consistent",
            Partitioner::ConsistentRandom => "consistent_random",
            Partitioner::Murmur2 => "murmur2",
            Partitioner::Murmur2Random => "murmur2_random",
            Partitioner::Fnv1a => "fnv1a",
            Partitioner::Fnv1aRandom => "fnv1a_random",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// `output.kafka.sasl`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Sasl {
    /// `PLAIN` (default when `username` is set), `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: Option<SaslMechanism>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN", alias = "plain")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256", alias = "scram-sha-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512", alias = "scram-sha-512")]
    ScramSha512,
}

impl SaslMechanism {
    fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// What librdkafka does with the `ssl` settings: it has a switch and client certificates
/// (paths or inline PEM), and cannot pin a CA by fingerprint.
pub const TLS_SUPPORT: TlsSupport =
    TlsSupport { switch: true, client_certificate: true, ca_trusted_fingerprint: false };

fn is_pem(s: &str) -> bool {
    s.trim_start().starts_with("-----BEGIN")
}

impl Config {
    /// The `ssl` settings librdkafka cannot honour are refused, whether or not the output is
    /// enabled (as an unknown key would be).
    pub fn check_tls(&self) -> Result<(), String> {
        match self.ssl.as_ref().and_then(|t| t.unsupported(TLS_SUPPORT)) {
            Some(key) => Err(format!("output.kafka.ssl.{key}: not supported by the Kafka output")),
            None => Ok(()),
        }
    }

    /// Checks every option; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let k = "output.kafka";
        self.check_tls()?;
        if self.hosts.is_empty() {
            return Err(format!("{k}.hosts: at least one broker (host:port) is required"));
        }
        for h in &self.hosts {
            let ok = h.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !ok || h.contains(',') || h.contains("://") {
                return Err(format!("{k}.hosts: {h:?} is not host:port"));
            }
        }
        TopicTemplate::parse(&self.topic).map_err(|e| format!("{k}.topic: {e}"))?;
        if ![-1, 0, 1].contains(&self.required_acks) {
            return Err(format!(
                "{k}.required_acks: {} (expected -1 for all replicas, 1 or 0)",
                self.required_acks
            ));
        }
        if self.idempotent == Some(true) && self.required_acks != -1 {
            return Err(format!(
                "{k}.idempotent: the idempotent producer needs required_acks: -1 \
                 (or set idempotent: false)"
            ));
        }
        if !(1..=1_000_000).contains(&self.bulk_max_size) {
            return Err(format!(
                "{k}.bulk_max_size: {} (expected 1 to 1000000)",
                self.bulk_max_size
            ));
        }
        if !(1000..=100_000_000).contains(&self.max_message_bytes) {
            return Err(format!(
                "{k}.max_message_bytes: {} (expected 1000 to 100000000)",
                self.max_message_bytes
            ));
        }
        if !(1..=10_000_000).contains(&self.queue_max_events) {
            return Err(format!(
                "{k}.queue_max_events: {} (expected 1 to 10000000)",
                self.queue_max_events
            ));
        }
        if self.linger.0 > std::time::Duration::from_secs(900) {
            return Err(format!("{k}.linger: {} (at most 900s)", self.linger));
        }
        if self.timeout.0 < std::time::Duration::from_millis(1)
            || self.timeout.0 > std::time::Duration::from_secs(86_400)
        {
            return Err(format!("{k}.timeout: {} (expected 1ms to 24h)", self.timeout));
        }
        if self.timeout.0 <= self.linger.0 {
            return Err(format!(
                "{k}.timeout: {} must be longer than linger ({})",
                self.timeout, self.linger
            ));
        }
        if let Some(level) = self.compression_level {
            let range = match self.compression {
                Compression::None | Compression::Snappy => {
                    return Err(format!(
                        "{k}.compression_level: {} has no levels",
                        self.compression.as_str()
                    ))
                }
                Compression::Gzip => 0..=9,
                Compression::Lz4 => 0..=12,
                Compression::Zstd => 1..=22,
            };
            if !range.contains(&level) {
                return Err(format!(
                    "{k}.compression_level: {level} (expected {} to {} for {})",
                    range.start(),
                    range.end(),
                    self.compression.as_str()
                ));
            }
        }
        if self.client_id.is_empty() {
            return Err(format!("{k}.client_id: must not be empty"));
        }
        match (&self.username, &self.password) {
            (Some(u), _) if u.is_empty() => {
                return Err(format!("{k}.username: must not be empty"));
            }
            (Some(_), None) => return Err(format!("{k}.password: required with username")),
            (None, Some(_)) => return Err(format!("{k}.username: required with password")),
            (None, None) if self.sasl.mechanism.is_some() => {
                return Err(format!("{k}.sasl.mechanism: needs username and password"));
            }
            _ => {}
        }
        if let Some(ssl) = self.ssl.as_ref().filter(|s| s.enabled) {
            if ssl.certificate.is_some() != ssl.key.is_some() {
                return Err(format!(
                    "{k}.ssl: certificate and key must be given together (client authentication)"
                ));
            }
            let files = ssl.certificate_authorities.iter().chain(&ssl.certificate).chain(&ssl.key);
            for f in files.filter(|f| !is_pem(f)) {
                if !std::path::Path::new(f).is_file() {
                    return Err(format!("{k}.ssl: {f:?} is not a readable file"));
                }
            }
        }
        Ok(())
    }

    /// Whether the idempotent producer is on.
    pub fn idempotent(&self) -> bool {
        self.idempotent.unwrap_or(self.required_acks == -1)
    }

    /// librdkafka properties for this configuration (validate first). Certificate authority
    /// files are read here when there are several (librdkafka takes one file or one PEM string).
    pub fn properties(&self) -> Result<BTreeMap<&'static str, String>, String> {
        let mut p = BTreeMap::new();
        let ms = |d: &Duration| {
            let ms = d.0.as_secs_f64() * 1000.0;
            if ms.fract() == 0.0 {
                format!("{ms:.0}")
            } else {
                format!("{ms:.3}")
            }
        };
        p.insert("bootstrap.servers", self.hosts.join(","));
        p.insert("client.id", self.client_id.clone());
        p.insert("partitioner", self.partitioner.as_str().into());
        p.insert("compression.codec", self.compression.as_str().into());
        if let Some(level) = self.compression_level {
            p.insert("compression.level", level.to_string());
        }
        p.insert("acks", self.required_acks.to_string());
        p.insert("enable.idempotence", self.idempotent().to_string());
        p.insert("batch.num.messages", self.bulk_max_size.to_string());
        p.insert("linger.ms", ms(&self.linger));
        p.insert("message.max.bytes", (self.max_message_bytes + FRAMING_ALLOWANCE).to_string());
        p.insert("queue.buffering.max.messages", self.queue_max_events.to_string());
        p.insert("message.timeout.ms", ms(&self.timeout));
        let request = self.timeout.0.min(std::time::Duration::from_secs(30));
        p.insert("request.timeout.ms", ms(&Duration(request)));

        let ssl = self.ssl.as_ref().filter(|s| s.enabled);
        let sasl = self.username.is_some();
        let protocol = match (ssl.is_some(), sasl) {
            (false, false) => "plaintext",
            (true, false) => "ssl",
            (false, true) => "sasl_plaintext",
            (true, true) => "sasl_ssl",
        };
        p.insert("security.protocol", protocol.into());
        if let (Some(user), Some(pass)) = (&self.username, &self.password) {
            let mech = self.sasl.mechanism.unwrap_or(SaslMechanism::Plain);
            p.insert("sasl.mechanism", mech.as_str().into());
            p.insert("sasl.username", user.clone());
            p.insert("sasl.password", pass.expose().to_owned());
        }
        if let Some(ssl) = ssl {
            match ssl.certificate_authorities.as_slice() {
                [] => {}
                [one] if is_pem(one) => {
                    p.insert("ssl.ca.pem", one.clone());
                }
                [one] => {
                    p.insert("ssl.ca.location", one.clone());
                }
                many => {
                    let mut pem = String::new();
                    for ca in many {
                        if is_pem(ca) {
                            pem.push_str(ca);
                        } else {
                            let text = std::fs::read_to_string(ca).map_err(|e| {
                                format!("output.kafka.ssl.certificate_authorities: {ca}: {e}")
                            })?;
                            pem.push_str(&text);
                        }
                        pem.push('\n');
                    }
                    p.insert("ssl.ca.pem", pem);
                }
            }
            if let Some(cert) = &ssl.certificate {
                let key =
                    if is_pem(cert) { "ssl.certificate.pem" } else { "ssl.certificate.location" };
                p.insert(key, cert.clone());
            }
            if let Some(k) = &ssl.key {
                let key = if is_pem(k) { "ssl.key.pem" } else { "ssl.key.location" };
                p.insert(key, k.clone());
            }
            if let Some(pass) = &ssl.key_passphrase {
                p.insert("ssl.key.password", pass.expose().to_owned());
            }
            let (verify, endpoint) = match ssl.verification_mode {
                VerificationMode::Full | VerificationMode::Strict => ("true", "https"),
                VerificationMode::Certificate => ("true", "none"),
                VerificationMode::None => ("false", "none"),
            };
            p.insert("enable.ssl.certificate.verification", verify.into());
            p.insert("ssl.endpoint.identification.algorithm", endpoint.into());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Config {
        crate::yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_map_to_librdkafka() {
        let c = cfg("hosts: [\"127.0.0.1:9092\", \"b2:9093\"]");
        c.validate().unwrap();
        let p = c.properties().unwrap();
        let want: BTreeMap<&str, String> = [
            ("bootstrap.servers", "127.0.0.1:9092,b2:9093"),
            ("client.id", "wirebeat"),
            ("partitioner", "consistent_random"),
            ("compression.codec", "none"),
            ("acks", "-1"),
            ("enable.idempotence", "true"),
            ("batch.num.messages", "2048"),
            ("linger.ms", "5"),
            ("message.max.bytes", "1004096"),
            ("queue.buffering.max.messages", "100000"),
            ("message.timeout.ms", "30000"),
            ("request.timeout.ms", "30000"),
            ("security.protocol", "plaintext"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        assert_eq!(p, want);
    }

    #[test]
    fn options_map_to_librdkafka() {
        let c = cfg(r#"
hosts: ["k:9092"]
partitioner: murmur2_random
compression: zstd
compression_level: 3
required_acks: 1
bulk_max_size: 500
linger: 1.5ms
timeout: 2m
client_id: sensor-7
username: alice
password: secret
sasl: {mechanism: SCRAM-SHA-512}
ssl:
  certificate_authorities: ["-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----"]
  verification_mode: certificate
"#);
        c.validate().unwrap();
        let p = c.properties().unwrap();
        let get = |k: &str| p.get(k).map(String::as_str);
        assert_eq!(get("partitioner"), Some("murmur2_random"));
        assert_eq!(get("compression.codec"), Some("zstd"));
        assert_eq!(get("compression.level"), Some("3"));
        assert_eq!(get("acks"), Some("1"));
        assert_eq!(get("enable.idempotence"), Some("false"));
        assert_eq!(get("batch.num.messages"), Some("500"));
        assert_eq!(get("linger.ms"), Some("1.500"));
        assert_eq!(get("message.timeout.ms"), Some("120000"));
        assert_eq!(get("request.timeout.ms"), Some("30000"));
        assert_eq!(get("client.id"), Some("sensor-7"));
        assert_eq!(get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(get("sasl.username"), Some("alice"));
        assert_eq!(get("sasl.password"), Some("secret"));
        assert!(get("ssl.ca.pem").is_some_and(|s| s.contains("BEGIN CERTIFICATE")));
        assert_eq!(get("enable.ssl.certificate.verification"), Some("true"));
        assert_eq!(get("ssl.endpoint.identification.algorithm"), Some("none"));
    }

    #[test]
    fn ssl_files_and_plain_sasl() {
        let dir = tempfile::tempdir().unwrap();
        let ca1 = dir.path().join("ca1.pem");
        let ca2 = dir.path().join("ca2.pem");
        std::fs::write(&ca1, "-----BEGIN CERTIFICATE-----\none\n").unwrap();
        std::fs::write(&ca2, "-----BEGIN CERTIFICATE-----\ntwo\n").unwrap();
        let mut c = cfg("hosts: [\"k:9092\"]\nusername: u\npassword: p\nssl: {}");
        c.validate().unwrap();
        let p = c.properties().unwrap();
        assert_eq!(p["security.protocol"], "sasl_ssl");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "https");
        assert!(!p.contains_key("ssl.ca.location"));

        let ssl = c.ssl.as_mut().unwrap();
        ssl.certificate_authorities = vec![ca1.display().to_string()];
        ssl.certificate = Some(ca1.display().to_string());
        ssl.key = Some(ca2.display().to_string());
        ssl.verification_mode = VerificationMode::None;
        c.validate().unwrap();
        let p = c.properties().unwrap();
        assert_eq!(p["ssl.ca.location"], ca1.display().to_string());
        assert_eq!(p["ssl.certificate.location"], ca1.display().to_string());
        assert_eq!(p["ssl.key.location"], ca2.display().to_string());
        assert_eq!(p["enable.ssl.certificate.verification"], "false");

        c.ssl.as_mut().unwrap().certificate_authorities =
            vec![ca1.display().to_string(), ca2.display().to_string()];
        let p = c.properties().unwrap();
        assert!(p["ssl.ca.pem"].contains("one") && p["ssl.ca.pem"].contains("two"));

        c.ssl.as_mut().unwrap().enabled = false;
        c.username = None;
        c.password = None;
        assert_eq!(c.properties().unwrap()["security.protocol"], "plaintext");
    }

    /// The `ssl` section is the one every TLS client shares: `strict` is `full` (as in Beats),
    /// and a CA fingerprint, which librdkafka cannot pin, is refused.
    #[test]
    fn shared_ssl_section() {
        let c = cfg("hosts: [\"k:9092\"]\nssl: {verification_mode: strict}");
        c.validate().unwrap();
        let p = c.properties().unwrap();
        assert_eq!(p["enable.ssl.certificate.verification"], "true");
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "https");
        let err = cfg("hosts: [\"k:9092\"]\nssl: {ca_trusted_fingerprint: ab}").validate();
        assert!(err.unwrap_err().starts_with("output.kafka.ssl.ca_trusted_fingerprint"));
    }

    #[test]
    fn bad_values_are_named() {
        let bad = [
            ("hosts: []", "output.kafka.hosts"),
            ("hosts: [\"k\"]", "output.kafka.hosts"),
            ("hosts: [\"k:9092\"]\nrequired_acks: 2", "output.kafka.required_acks"),
            ("hosts: [\"k:9092\"]\nrequired_acks: 1\nidempotent: true", "output.kafka.idempotent"),
            ("hosts: [\"k:9092\"]\ntopic: \"a%{[host.name]}\"", "output.kafka.topic"),
            ("hosts: [\"k:9092\"]\ntopic: \"a b\"", "output.kafka.topic"),
            ("hosts: [\"k:9092\"]\nbulk_max_size: 0", "output.kafka.bulk_max_size"),
            ("hosts: [\"k:9092\"]\nmax_message_bytes: 10", "output.kafka.max_message_bytes"),
            ("hosts: [\"k:9092\"]\ntimeout: 1ms\nlinger: 5ms", "output.kafka.timeout"),
            ("hosts: [\"k:9092\"]\ncompression_level: 3", "output.kafka.compression_level"),
            (
                "hosts: [\"k:9092\"]\ncompression: gzip\ncompression_level: 12",
                "output.kafka.compression_level",
            ),
            ("hosts: [\"k:9092\"]\nusername: u", "output.kafka.password"),
            ("hosts: [\"k:9092\"]\nsasl: {mechanism: PLAIN}", "output.kafka.sasl.mechanism"),
            (
                "hosts: [\"k:9092\"]\nssl: {certificate: /nonexistent, key: /nonexistent}",
                "output.kafka.ssl",
            ),
            (
                "hosts: [\"k:9092\"]\nssl: {certificate_authorities: [/nonexistent/ca.pem]}",
                "output.kafka.ssl",
            ),
        ];
        for (yaml, key) in bad {
            let err = cfg(yaml).validate().unwrap_err();
            assert!(err.starts_with(key), "{yaml:?}: {err}");
        }
        assert!(crate::yaml::from_str::<Config>("compression: brotli").is_err());
        assert!(crate::yaml::from_str::<Config>("partitioner: round_robin").is_err());
        assert!(crate::yaml::from_str::<Config>("sasl: {mechanism: GSSAPI}").is_err());
        assert!(crate::yaml::from_str::<Config>("topics: []").is_err());
        // required_acks other than -1 turns the default idempotence off instead of failing.
        let c = cfg("hosts: [\"k:9092\"]\nrequired_acks: 0");
        c.validate().unwrap();
        assert!(!c.idempotent());
    }
}
