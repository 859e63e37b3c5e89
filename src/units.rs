//! Units of the configuration shared by every component: durations (`10s`, `500ms`), byte
//! sizes (`64MiB`), the one TLS client section ([`Tls`]) and the validation error of a section
//! ([`Invalid`]). A leaf module: components use these types in their own config sections
//! without importing `config`, so `config` can import the components' sections without a cycle.

use serde::{Deserialize, Serialize};

/// A duration written as `<number><unit>` with unit `ns`, `us`, `ms`, `s`, `m` or `h`
/// (a bare number is seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    pub fn as_nanos(&self) -> i64 {
        i64::try_from(self.0.as_nanos()).unwrap_or(i64::MAX)
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?} (expected e.g. 10s, 500ms, 1m)"))?;
        let scale = match unit.trim() {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "" | "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(format!(
                    "invalid duration unit {other:?} in {s:?} (expected ns, us, ms, s, m or h)"
                ))
            }
        };
        Duration::from_secs_f64(value * scale).ok_or_else(|| format!("invalid duration {s:?}"))
    }
}

impl Duration {
    /// Seconds as a float; `None` when negative, not finite or too large.
    fn from_secs_f64(secs: f64) -> Option<Self> {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        std::time::Duration::try_from_secs_f64(secs).ok().map(Duration)
    }
}

/// Written in the largest unit that is exact: `10s`, `500ms`, `1m`, `2h`, `0s`.
impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.0.as_nanos();
        if ns == 0 {
            return f.write_str("0s");
        }
        const UNITS: [(u128, &str); 6] = [
            (3_600_000_000_000, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
            (1_000_000, "ms"),
            (1_000, "us"),
            (1, "ns"),
        ];
        for (size, unit) in UNITS {
            if ns.is_multiple_of(size) {
                return write!(f, "{}{unit}", ns / size);
            }
        }
        write!(f, "{ns}ns")
    }
}

/// Accepts a string (`10s`, `500ms`, `1m`, `1.5h`) or a number of seconds (`5`, `0.25`).
impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as 10s, 500ms or 1m (or a number of seconds)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::custom(format!("invalid duration {v} (must not be negative)")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
                Duration::from_secs_f64(v).ok_or_else(|| E::custom(format!("invalid duration {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A size in bytes: a number, or a string such as `64MiB`, `1GiB`, `500MB`, `4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u64")]
pub struct ByteSize(pub u64);

impl From<ByteSize> for u64 {
    fn from(b: ByteSize) -> u64 {
        b.0
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?} (e.g. 64MiB)"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1000,
            "kib" | "k" => 1 << 10,
            "mb" => 1_000_000,
            "mib" | "m" => 1 << 20,
            "gb" => 1_000_000_000,
            "gib" | "g" => 1 << 30,
            "tb" => 1_000_000_000_000,
            "tib" | "t" => 1 << 40,
            u => {
                return Err(format!(
                    "unknown size unit {u:?} in {s:?} (B, KiB, MiB, GiB, KB, MB, GB)"
                ))
            }
        };
        n.checked_mul(mult).map(ByteSize).ok_or_else(|| format!("size too large: {s:?}"))
    }
}

/// Written in the largest binary unit that is exact (`64MiB`, `4KiB`, `1000`); the parser
/// reads it back.
impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        for (size, unit) in
            [(1u64 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        {
            if n >= size && n.is_multiple_of(size) {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}")
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// How a server certificate is checked (`ssl.verification_mode`), as in Beats.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum VerificationMode {
    /// Chain of trust and host name.
    #[default]
    Full,
    /// Same as `full` here.
    Strict,
    /// Chain of trust only, any host name.
    Certificate,
    /// No check at all (testing only).
    None,
}

/// The `ssl` section of every TLS client (`output.kafka.ssl`, `output.elasticsearch.ssl`,
/// `setup.kibana.ssl`): one type, so a key means the same wherever it is written. Each client
/// rejects in its validation the keys it cannot honour ([`Tls::unsupported`]) rather than
/// ignoring them. Certificates and keys are file paths, or inline PEM where the client says so.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// `false` turns TLS off for a client that has a switch (Kafka); present means on.
    pub enabled: bool,
    /// CAs to trust instead of the system or built-in roots (a path or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub certificate_authorities: Vec<String>,
    /// Client certificate (mutual TLS).
    pub certificate: Option<String>,
    /// Client private key.
    pub key: Option<String>,
    pub key_passphrase: Option<Secret>,
    /// SHA-256 (hex) of a CA certificate the server presents in its chain; trusted as a root.
    pub ca_trusted_fingerprint: Option<String>,
    /// `full` (default), `strict` (same as full), `certificate` or `none`.
    pub verification_mode: VerificationMode,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            enabled: true,
            certificate_authorities: Vec::new(),
            certificate: None,
            key: None,
            key_passphrase: None,
            ca_trusted_fingerprint: None,
            verification_mode: VerificationMode::Full,
        }
    }
}

/// Which optional [`Tls`] settings a client honours.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsSupport {
    /// `enabled: false` has a meaning (else it is refused).
    pub switch: bool,
    /// `certificate`, `key`, `key_passphrase`.
    pub client_certificate: bool,
    pub ca_trusted_fingerprint: bool,
}

impl Tls {
    /// The first setting that is set but that a client with `support` cannot honour, as its
    /// key below `ssl` (e.g. `certificate`).
    pub fn unsupported(&self, support: TlsSupport) -> Option<&'static str> {
        if !support.switch && !self.enabled {
            return Some("enabled");
        }
        if !support.client_certificate {
            for (key, set) in [
                ("certificate", self.certificate.is_some()),
                ("key", self.key.is_some()),
                ("key_passphrase", self.key_passphrase.is_some()),
            ] {
                if set {
                    return Some(key);
                }
            }
        }
        if !support.ca_trusted_fingerprint && self.ca_trusted_fingerprint.is_some() {
            return Some("ca_trusted_fingerprint");
        }
        None
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// A setting that a component's validation rejects: its dotted key (relative to the
/// component's section) and why. The configuration loader adds the section's place and the
/// file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid { key: key.into(), message: message.into() }
    }

    /// `must be greater than 0` unless `ok`.
    pub fn positive(key: &str, ok: bool) -> Result<(), Invalid> {
        if ok {
            Ok(())
        } else {
            Err(Invalid::new(key, "must be greater than 0"))
        }
    }

    /// `must be between LO and HI, got V` unless `value` is in `range` (integers).
    pub fn in_range<T>(
        key: &str,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<(), Invalid>
    where
        T: PartialOrd + std::fmt::Display,
    {
        if range.contains(&value) {
            Ok(())
        } else {
            Err(Invalid::new(
                key,
                format!("must be between {} and {}, got {value}", range.start(), range.end()),
            ))
        }
    }

    /// [`Invalid::in_range`] for a duration; with `zero_means`, `0s` is also accepted (and the
    /// message says what it means).
    pub fn duration_in(
        key: &str,
        value: Duration,
        range: std::ops::RangeInclusive<Duration>,
        zero_means: Option<&str>,
    ) -> Result<(), Invalid> {
        if range.contains(&value) || (zero_means.is_some() && value.0.is_zero()) {
            return Ok(());
        }
        let zero = zero_means.map(|m| format!(" (or 0s: {m})")).unwrap_or_default();
        Err(Invalid::new(
            key,
            format!("must be between {} and {}{zero}, got {value}", range.start(), range.end()),
        ))
    }

    /// [`Invalid::in_range`] for a byte size, written with binary units.
    pub fn size_in(
        key: &str,
        value: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<(), Invalid> {
        if range.contains(&value) {
            return Ok(());
        }
        Err(Invalid::new(
            key,
            format!(
                "must be between {} and {}, got {}",
                ByteSize(*range.start()),
                ByteSize(*range.end()),
                ByteSize(value)
            ),
        ))
    }

    /// The same error with its key placed under `section` (`timeout` → `wirebeat.flows.timeout`).
    pub fn under(self, section: &str) -> Invalid {
        let key = match (section.is_empty(), self.key.is_empty()) {
            (true, _) => self.key,
            (false, true) => section.to_string(),
            (false, false) if self.key.starts_with('[') => format!("{section}{}", self.key),
            (false, false) => format!("{section}.{}", self.key),
        };
        Invalid { key, message: self.message }
    }
}

/// A password, API key or passphrase from the configuration. Its `Debug` says `<redacted>`
/// so no `{:?}` of a config section can write it; the value is read only through
/// [`Secret::expose`], at the one place that hands it to a client. Serialized as the plain
/// string (the configuration round-trips); `test config -v` redacts by key name instead.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself: only for handing it to the client that authenticates with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_support_names_the_first_unsupported_key() {
        let none = TlsSupport::default();
        let all =
            TlsSupport { switch: true, client_certificate: true, ca_trusted_fingerprint: true };
        assert_eq!(Tls::default().unsupported(none), None);
        let off = Tls { enabled: false, ..Tls::default() };
        assert_eq!(off.unsupported(none), Some("enabled"));
        assert_eq!(off.unsupported(all), None);
        let cert = Tls { key: Some("k".into()), ..Tls::default() };
        assert_eq!(cert.unsupported(none), Some("key"));
        let fp = Tls { ca_trusted_fingerprint: Some("ab".into()), ..Tls::default() };
        assert_eq!(fp.unsupported(none), Some("ca_trusted_fingerprint"));
        assert_eq!(fp.unsupported(all), None);
    }

    #[test]
    fn invalid_keys_go_under_their_section() {
        assert_eq!(
            Invalid::new("timeout", "m").under("wirebeat.flows").key,
            "wirebeat.flows.timeout"
        );
        assert_eq!(Invalid::new("", "m").under("output").key, "output");
        assert_eq!(Invalid::new("name", "m").under("").key, "name");
    }

    #[test]
    fn a_secret_is_never_in_debug_output() {
        let t = Tls { key_passphrase: Some("hunter2".into()), ..Tls::default() };
        let text = format!("{t:?} {:?}", Secret::new("hunter2"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        assert_eq!(Secret::new("hunter2").expose(), "hunter2");
        let back: Secret = serde_json::from_str("\"k\"").unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), "\"k\"");
    }
}
