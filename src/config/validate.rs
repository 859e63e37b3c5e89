//! Checks on a typed [`Config`] (pure: no IO) that resolve it into [`Settings`](super::Settings) in the same
//! pass, named networks, and printing. Each component checks its own section
//! (`Flows::validate`, `Output::validate`, …); this file calls them in order, adds the section's
//! place to their keys, and checks what belongs to no component.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Net, Ipv6Subnets};

use super::{Config, ConfigError, Duration, Wirebeat};
use crate::flow::FlowSettings;
use crate::proto::Registry;
use crate::units::Invalid;
use crate::yaml;

/// Names accepted in `wirebeat.internal_networks` besides CIDRs.
pub const NETWORK_NAMES: &[&str] =
    &["private", "loopback", "link_local", "unique_local", "multicast", "unicast"];

/// Accepted `logging.level` and `logging.format` values (owned by `logging`).
pub use crate::logging::{FORMATS as LOG_FORMATS, LEVELS as LOG_LEVELS};

/// Keys whose values `test config -v` never prints (passwords, API keys, passphrases).
pub const SECRET_KEYS: &[&str] = &["password", "api_key", "key_passphrase"];

/// What `test config -v` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Smallest and largest accepted `snaplen`.
pub use crate::capture::config::SNAPLEN_RANGE;

/// Most `wirebeat.workers`: each worker is a thread with its own flow table, fragment cache and
/// channels; past a thousand the threads only contend (20,000 exhausts the process's threads
/// and aborts).
pub const MAX_WORKERS: usize = 1024;

/// `wirebeat.channel_batches`: each batch in a worker's channel is one epoch's share of frames
/// (`EPOCH_FRAMES` frames per epoch across the workers), so the channels hold up to
/// `channel_batches × EPOCH_FRAMES` frames; 256 is two million frames (about 3 GB of
/// full-size Ethernet frames). Deeper channels add latency, not throughput.
pub const CHANNEL_BATCHES_RANGE: std::ops::RangeInclusive<usize> = 1..=256;

/// Most batch slots of all workers together (`workers × channel_batches`): the pipeline
/// allocates that many slots up front in three channels, and every batch keeps its buffers.
pub const MAX_BATCH_SLOTS: usize = 65_536;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `wirebeat.health_period` when not `0s` (off): more often than each second is a flood of
/// events, less often than daily is no health signal.
pub const HEALTH_PERIOD_RANGE: std::ops::RangeInclusive<Duration> = secs(1)..=secs(86_400);

/// `wirebeat.shutdown_timeout` when not `0s` (no limit): a deadline is added to the clock,
/// and a day is past any drain worth waiting for.
pub const SHUTDOWN_TIMEOUT_RANGE: std::ops::RangeInclusive<Duration> =
    Duration(std::time::Duration::from_millis(1))..=secs(86_400);

fn v4(a: [u8; 4], prefix: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), prefix).unwrap_or_default())
}

fn v6(segments: [u16; 8], prefix: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(segments), prefix).unwrap_or_default())
}

/// The networks a name in `internal_networks` stands for; `None` for an unknown name.
///
/// `unicast` follows Go's `IsGlobalUnicast` (as in Beats): every address except the
/// unspecified, loopback, link-local, multicast and IPv4 broadcast ones.
pub fn named_networks(name: &str) -> Option<Vec<IpNet>> {
    Some(match name {
        "private" => vec![
            v4([10, 0, 0, 0], 8),
            v4([172, 16, 0, 0], 12),
            v4([192, 168, 0, 0], 16),
            v4([100, 64, 0, 0], 10),
            v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        ],
        "loopback" => vec![v4([127, 0, 0, 0], 8), v6([0, 0, 0, 0, 0, 0, 0, 1], 128)],
        "link_local" => vec![v4([169, 254, 0, 0], 16), v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10)],
        "unique_local" => vec![v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7)],
        "multicast" => vec![v4([224, 0, 0, 0], 4), v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8)],
        "unicast" => {
            let r4 = |a: [u8; 4], b: [u8; 4]| {
                Ipv4Subnets::new(Ipv4Addr::from(a), Ipv4Addr::from(b), 0).map(IpNet::V4)
            };
            let r6 = |a: [u16; 8], b: [u16; 8]| {
                Ipv6Subnets::new(Ipv6Addr::from(a), Ipv6Addr::from(b), 0).map(IpNet::V6)
            };
            let f = 0xffff;
            r4([0, 0, 0, 1], [126, 255, 255, 255])
                .chain(r4([128, 0, 0, 0], [169, 253, 255, 255]))
                .chain(r4([169, 255, 0, 0], [223, 255, 255, 255]))
                .chain(r4([240, 0, 0, 0], [255, 255, 255, 254]))
                .chain(r6([0, 0, 0, 0, 0, 0, 0, 2], [0xfe7f, f, f, f, f, f, f, f]))
                .chain(r6([0xfec0, 0, 0, 0, 0, 0, 0, 0], [0xfeff, f, f, f, f, f, f, f]))
                .collect()
        }
        _ => return None,
    })
}

/// One `internal_networks` entry: a name, a CIDR (host bits cleared) or a single address.
fn parse_network(entry: &str) -> Option<Vec<IpNet>> {
    let entry = entry.trim();
    if let Some(nets) = named_networks(entry) {
        return Some(nets);
    }
    if let Ok(net) = IpNet::from_str(entry) {
        return Some(vec![net.trunc()]);
    }
    IpAddr::from_str(entry).ok().map(|a| vec![IpNet::from(a)])
}

impl Wirebeat {
    /// `internal_networks` expanded: names replaced by their networks, CIDRs parsed, duplicates
    /// dropped (first occurrence kept). Entries that are neither are skipped (`validate`
    /// rejects them).
    pub fn internal_networks(&self) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = Vec::new();
        for net in self.internal_networks.iter().filter_map(|e| parse_network(e)).flatten() {
            if !out.contains(&net) {
                out.push(net);
            }
        }
        out
    }
}

/// What validation resolved, kept by [`Settings`](super::Settings).
pub(super) struct Resolved {
    pub workers: usize,
    pub internal_networks: Vec<IpNet>,
    pub registry: Option<Arc<Registry>>,
    pub flows: FlowSettings,
    pub output: crate::sink::Selected,
    pub processors: Option<Arc<crate::processors::Chain>>,
}

/// Elastic data stream namespace rules.
fn check_namespace(ns: &str) -> Result<(), String> {
    if ns.is_empty() {
        return Err("must not be empty".into());
    }
    if ns.len() > 100 {
        return Err(format!("must be at most 100 bytes, got {}", ns.len()));
    }
    if ns.chars().any(char::is_uppercase) {
        return Err(format!("{ns:?} must be lowercase"));
    }
    if let Some(c) = ns.chars().find(|c| "\\/*?\"<>| ,#:-".contains(*c)) {
        return Err(format!(
            "{ns:?} must not contain {c:?} (data stream namespaces exclude \\ / * ? \" < > | , # : - and spaces)"
        ));
    }
    Ok(())
}

impl From<Invalid> for ConfigError {
    fn from(e: Invalid) -> ConfigError {
        ConfigError::validation(e.key, e.message)
    }
}

impl Config {
    /// Checks what types cannot: ranges, names, and settings that exclude each other. Returns
    /// the first problem, naming its dotted key. Pure: touches no files or interfaces.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(drop)
    }

    /// Validates and resolves in one pass (what [`Settings::new`](super::Settings::new) keeps): the first problem,
    /// naming its dotted key, or the values the program uses.
    pub(super) fn resolve(&self) -> Result<Resolved, ConfigError> {
        let w = &self.wirebeat;
        for (i, iface) in w.interfaces.iter().enumerate() {
            iface.validate().map_err(|e| e.under(&format!("wirebeat.interfaces[{i}]")))?;
        }
        for (i, entry) in w.internal_networks.iter().enumerate() {
            if parse_network(entry).is_none() {
                return Err(ConfigError::validation(
                    format!("wirebeat.internal_networks[{i}]"),
                    format!(
                        "{entry:?} is neither a CIDR (like 10.0.0.0/8) nor one of: {}",
                        NETWORK_NAMES.join(", ")
                    ),
                ));
            }
        }
        w.host_metadata.validate().map_err(|(key, m)| {
            ConfigError::validation(format!("wirebeat.host_metadata.{key}"), m)
        })?;
        check_namespace(&w.namespace)
            .map_err(|m| ConfigError::validation("wirebeat.namespace", m))?;
        Invalid::in_range("wirebeat.workers", w.workers, 0..=MAX_WORKERS)
            .map_err(|e| Invalid::new(e.key, format!("{} (0 means one per core)", e.message)))?;
        Invalid::in_range("wirebeat.channel_batches", w.channel_batches, CHANNEL_BATCHES_RANGE)?;
        let workers = match w.workers {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        if workers.saturating_mul(w.channel_batches) > MAX_BATCH_SLOTS {
            return Err(ConfigError::validation(
                "wirebeat.channel_batches",
                format!(
                    "{} with {workers} workers makes {} batch slots; workers × channel_batches \
                     must be at most {MAX_BATCH_SLOTS}",
                    w.channel_batches,
                    workers.saturating_mul(w.channel_batches)
                ),
            ));
        }
        Invalid::duration_in(
            "wirebeat.health_period",
            w.health_period,
            HEALTH_PERIOD_RANGE,
            Some("no health events"),
        )?;
        Invalid::duration_in(
            "wirebeat.shutdown_timeout",
            w.shutdown_timeout,
            SHUTDOWN_TIMEOUT_RANGE,
            Some("wait without limit"),
        )?;
        w.tunnels.validate().map_err(|e| e.under("wirebeat.tunnels"))?;
        w.protocols.validate().map_err(|e| e.under("wirebeat.protocols"))?;
        let registry = Registry::new(&w.protocols, w.streams.limits())
            .map_err(|m| ConfigError::validation("wirebeat.protocols", m))?;
        w.streams.validate().map_err(|e| e.under("wirebeat.streams"))?;
        w.flows.validate().map_err(|e| e.under("wirebeat.flows"))?;
        w.defrag.validate().map_err(|e| e.under("wirebeat.defrag"))?;
        w.detect.validate().map_err(|e| e.under("wirebeat.detect"))?;

        if let Some(e) = self.queue.validate().into_iter().next() {
            let (key, message) = e.split_once(": ").unwrap_or(("queue", e.as_str()));
            return Err(ConfigError::validation(key, message));
        }
        let output = self.output.validate().map_err(|e| e.under("output"))?;
        self.setup.validate().map_err(|e| e.under("setup"))?;

        self.logging.validate().map_err(|e| e.under("logging"))?;
        self.http.validate().map_err(|(key, m)| ConfigError::validation(key, m))?;
        let processors = crate::processors::Chain::compile(&self.processors, &named_networks)
            .map_err(|e| ConfigError::validation(format!("processors{}", e.key), e.message))?;

        Ok(Resolved {
            workers,
            internal_networks: w.internal_networks(),
            registry: Some(registry).filter(Registry::any_enabled).map(Arc::new),
            flows: FlowSettings::from_config(&w.flows, workers),
            output,
            processors: processors.map(Arc::new),
        })
    }

    /// The configuration as YAML (what `wirebeat test config -v` prints), with the values of
    /// [`SECRET_KEYS`] replaced by [`REDACTED`]; loading it back gives the same configuration
    /// (but for those secrets). Unset optional settings (`null`) are left out.
    pub fn to_yaml(&self) -> String {
        fn drop_nulls(v: &mut yaml::Value) {
            match v {
                yaml::Value::Mapping(m) => {
                    m.retain(|_, v| !v.is_null());
                    m.iter_mut().for_each(|(k, v)| {
                        // Secrets are shown as set, never written (`test config -v` output
                        // ends up in terminals, tickets and logs). An inline PEM key too.
                        let secret = k.as_str().is_some_and(|k| SECRET_KEYS.contains(&k))
                            || (k.as_str() == Some("key")
                                && v.as_str().is_some_and(|p| p.contains("-----BEGIN")));
                        if secret && v.is_string() {
                            *v = yaml::Value::String(REDACTED.into());
                        } else {
                            drop_nulls(v);
                        }
                    });
                }
                yaml::Value::Sequence(s) => s.iter_mut().for_each(drop_nulls),
                _ => {}
            }
        }
        // serde_json writes the fields in their declared order, and JSON is YAML: read back,
        // it is the ordered tree the YAML writer needs.
        let json = match serde_json::to_string(self) {
            Ok(j) => j,
            Err(e) => return format!("# cannot render the configuration: {e}\n"),
        };
        match yaml::parse(&json).and_then(|n| n.to_value()) {
            Ok(mut v) => {
                drop_nulls(&mut v);
                yaml::to_string(&v)
            }
            Err(e) => format!("# cannot render the configuration: {e}\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn contains(nets: &[IpNet], ip: &str) -> bool {
        let ip: IpAddr = ip.parse().unwrap();
        nets.iter().any(|n| n.contains(&ip))
    }

    #[test]
    fn named_networks_expand() {
        let mut w = Wirebeat::default();
        assert_eq!(
            w.internal_networks(),
            nets(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"])
        );
        w.internal_networks =
            vec!["loopback".into(), "link_local".into(), "10.1.2.3/8".into(), "192.0.2.7".into()];
        assert_eq!(
            w.internal_networks(),
            nets(&[
                "127.0.0.0/8",
                "::1/128",
                "169.254.0.0/16",
                "fe80::/10",
                "10.0.0.0/8",
                "192.0.2.7/32"
            ])
        );
        w.internal_networks = vec!["multicast".into(), "unique_local".into(), "private".into()];
        assert_eq!(
            w.internal_networks(),
            nets(&[
                "224.0.0.0/4",
                "ff00::/8",
                "fc00::/7",
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "100.64.0.0/10"
            ])
        );
    }

    #[test]
    fn unicast_is_global_unicast() {
        let u = named_networks("unicast").unwrap();
        for yes in ["8.8.8.8", "10.1.1.1", "0.0.0.1", "126.255.255.255", "128.0.0.0", "169.253.9.9"]
        {
            assert!(contains(&u, yes), "{yes}");
        }
        for yes in ["169.255.0.1", "223.255.255.255", "240.0.0.1", "2001:db8::1", "fc00::1", "::2"]
        {
            assert!(contains(&u, yes), "{yes}");
        }
        for no in
            ["0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.1", "239.1.1.1", "255.255.255.255"]
        {
            assert!(!contains(&u, no), "{no}");
        }
        for no in ["::", "::1", "fe80::1", "febf::1", "ff02::1"] {
            assert!(!contains(&u, no), "{no}");
        }
    }

    #[test]
    fn default_config_is_valid() {
        assert!(Config::default().validate().is_ok());
    }

    fn invalid(change: impl FnOnce(&mut Config)) -> String {
        let mut c = Config::default();
        change(&mut c);
        c.validate().unwrap_err().to_string()
    }

    /// Every numeric setting has a range; the message names the key, the range and the value.
    #[test]
    fn range_messages() {
        use super::super::{Duration, Interface};
        assert_eq!(
            invalid(|c| c.wirebeat.workers = 20_000),
            "wirebeat.workers: must be between 0 and 1024, got 20000 (0 means one per core)"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.channel_batches = usize::MAX),
            format!("wirebeat.channel_batches: must be between 1 and 256, got {}", usize::MAX)
        );
        assert_eq!(
            invalid(|c| {
                c.wirebeat.workers = 1024;
                c.wirebeat.channel_batches = 65;
            }),
            "wirebeat.channel_batches: 65 with 1024 workers makes 66560 batch slots; \
             workers × channel_batches must be at most 65536"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.health_period = Duration(std::time::Duration::from_millis(10))),
            "wirebeat.health_period: must be between 1s and 24h (or 0s: no health events), got 10ms"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.shutdown_timeout = Duration::from_secs(u64::MAX)),
            format!(
                "wirebeat.shutdown_timeout: must be between 1ms and 24h (or 0s: wait without \
                 limit), got {}",
                Duration::from_secs(u64::MAX)
            )
        );
        assert_eq!(
            invalid(|c| c.queue.mem.bytes = crate::units::ByteSize(1 << 40)),
            "queue.mem.bytes: must be between 1KiB and 64GiB, got 1TiB (use queue.disk for more)"
        );
        let eth0 = Interface { name: "eth0".into(), buffer_size_mb: 2048, ..Interface::default() };
        assert_eq!(
            invalid(|c| c.wirebeat.interfaces = vec![eth0.clone()]),
            "wirebeat.interfaces[0].buffer_size_mb: must be between 1 and 2047, got 2048"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.protocols.http.max_headers = 10_001),
            "wirebeat.protocols.http.max_headers: must be between 0 and 10000, got 10001"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.tunnels.geneve_ports = vec![0]),
            "wirebeat.tunnels.geneve_ports[0]: must be between 1 and 65535, got 0"
        );
        // The bounds themselves, and 0 where it means "off".
        let mut ok = Config::default();
        ok.wirebeat.workers = MAX_WORKERS;
        ok.wirebeat.channel_batches = MAX_BATCH_SLOTS / MAX_WORKERS;
        ok.wirebeat.health_period = Duration::from_secs(0);
        ok.wirebeat.shutdown_timeout = Duration::from_secs(0);
        ok.wirebeat.flows.period = Duration::from_secs(0);
        ok.wirebeat.flows.max_flows = crate::flow::config::MAX_FLOWS;
        ok.wirebeat.defrag.max_datagram_bytes = crate::decode::config::MAX_DATAGRAM_BYTES;
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn validation_messages() {
        use super::super::{ConsoleOutput, Duration, FileOutput, Interface};
        assert_eq!(
            invalid(|c| {
                c.output.console = Some(ConsoleOutput::default());
                c.output.file = Some(FileOutput::default());
            }),
            "output: output.console and output.file are both enabled; enable only one \
             (set output.console.enabled: false, or remove output.file)"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.flows.timeout = Duration::from_secs(0)),
            "wirebeat.flows.timeout: must be greater than 0"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.flows.udp_timeout = Some(Duration::from_secs(0))),
            "wirebeat.flows.udp_timeout: must be greater than 0"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.flows.max_flows = 0),
            "wirebeat.flows.max_flows: must be greater than 0"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.defrag.max_datagrams = 0),
            "wirebeat.defrag.max_datagrams: must be greater than 0"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.defrag.max_datagram_bytes = 0),
            "wirebeat.defrag.max_datagram_bytes: must be greater than 0"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.defrag.timeout = Duration::from_secs(0)),
            "wirebeat.defrag.timeout: must be greater than 0"
        );
        let eth0 = Interface { name: "eth0".into(), ..Interface::default() };
        assert_eq!(
            invalid(|c| c.wirebeat.interfaces =
                vec![eth0.clone(), Interface { snaplen: 63, ..eth0.clone() }]),
            "wirebeat.interfaces[1].snaplen: must be between 64 and 262144, got 63"
        );
        assert_eq!(
            invalid(
                |c| c.wirebeat.interfaces = vec![Interface { snaplen: 262_145, ..eth0.clone() }]
            ),
            "wirebeat.interfaces[0].snaplen: must be between 64 and 262144, got 262145"
        );
        let mut ok = Config::default();
        ok.wirebeat.interfaces = vec![
            Interface { snaplen: 64, ..eth0.clone() },
            Interface { snaplen: 262_144, ..eth0.clone() },
        ];
        assert!(ok.validate().is_ok());
        assert_eq!(
            invalid(|c| c.wirebeat.interfaces = vec![Interface::default()]),
            "wirebeat.interfaces[0].name: must not be empty (an interface name, or \"any\")"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.internal_networks = vec!["private".into(), "10.0.0.0/33".into()]),
            "wirebeat.internal_networks[1]: \"10.0.0.0/33\" is neither a CIDR (like 10.0.0.0/8) \
             nor one of: private, loopback, link_local, unique_local, multicast, unicast"
        );
        assert_eq!(
            invalid(|c| c.wirebeat.namespace = "prod-eu".into()),
            "wirebeat.namespace: \"prod-eu\" must not contain '-' (data stream namespaces exclude \
             \\ / * ? \" < > | , # : - and spaces)"
        );
        assert_eq!(
            invalid(|c| {
                c.output.console = Some(ConsoleOutput { enabled: false, pretty: false });
                c.output.file = Some(FileOutput {
                    format: super::super::FileFormat::Csv,
                    csv_fields: vec![],
                    ..FileOutput::default()
                });
            }),
            "output.file.csv_fields: must list at least one field when output.file.format is csv"
        );
        assert_eq!(
            invalid(|c| c.output.file =
                Some(FileOutput { number_of_files: 0, ..FileOutput::default() })),
            "output.file.number_of_files: must be at least 1"
        );
        // A disabled file output is not checked.
        let mut off = Config::default();
        off.output.file =
            Some(FileOutput { enabled: false, number_of_files: 0, ..FileOutput::default() });
        off.output.console = Some(ConsoleOutput::default());
        assert!(off.validate().is_ok());
        assert_eq!(
            invalid(|c| c.logging.level = "verbose".into()),
            "logging.level: \"verbose\" is not one of: error, warn, info, debug, trace"
        );
        assert_eq!(
            invalid(|c| c.logging.format = "json".into()),
            "logging.format: \"json\" is not one of: ecs, text"
        );
    }
}
