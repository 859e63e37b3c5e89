//! The typed configuration: what `wirebeat.yml` may contain, with named defaults.
//!
//! Every struct denies unknown fields so a typo is an error that names the key. Durations are
//! written as strings such as `10s`, `500ms`, `1m`, `2h` (see [`Duration`]).

pub use crate::units::Duration;
use serde::{Deserialize, Serialize};

/// Root of the configuration file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Sensor name written to `observer.name` / `agent.name` (default: the host name).
    pub name: Option<String>,
    /// Tags added to every event (`tags`).
    pub tags: Vec<String>,
    /// Custom labels added to every event (`labels.*`); values are strings.
    pub fields: std::collections::BTreeMap<String, String>,
    pub wirebeat: Wirebeat,
    pub output: Output,
    /// The queue between the pipeline and the output.
    pub queue: crate::queue::Config,
    /// `wirebeat setup`: where Kibana is (Elasticsearch is `output.elasticsearch`).
    pub setup: crate::setup::Config,
    pub logging: Logging,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Wirebeat {
    /// Live capture interfaces (`run`). Empty means: the `-i` flag, or an error.
    pub interfaces: Vec<Interface>,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Networks counted as inside the perimeter for `network.direction`. Entries are CIDRs or the
    /// names `private`, `loopback`, `link_local`, `unique_local`, `multicast`.
    pub internal_networks: Vec<String>,
    /// Namespace of the data streams (`logs-<dataset>-<namespace>`).
    pub namespace: String,
    pub flows: Flows,
    pub defrag: Defrag,
    pub tunnels: Tunnels,
    /// Application protocols (`wirebeat.protocols.<name>`).
    pub protocols: crate::proto::Protocols,
    /// Per-flow limits of TCP reassembly and the protocol parsers.
    pub streams: crate::proto::Streams,
    /// Capacity of each worker's input channel, in batches.
    pub channel_batches: usize,
    /// `run`: a sensor-health event (`wirebeat.health`) this often; `0s` turns them off.
    pub health_period: Duration,
    /// Longest final drain after a stop (signal or end of input); `0s` waits without limit.
    pub shutdown_timeout: Duration,
}

impl Default for Wirebeat {
    fn default() -> Self {
        Wirebeat {
            interfaces: Vec::new(),
            workers: 0,
            internal_networks: vec!["private".into()],
            namespace: "default".into(),
            flows: Flows::default(),
            defrag: Defrag::default(),
            tunnels: Tunnels::default(),
            protocols: Default::default(),
            streams: Default::default(),
            channel_batches: 16,
            health_period: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Interface {
    /// Interface name, or `any`.
    pub name: String,
    /// BPF filter expression (tcpdump syntax); empty = everything.
    pub bpf_filter: String,
    pub snaplen: i32,
    pub promiscuous: bool,
    /// Kernel buffer size in MiB.
    pub buffer_size_mb: i32,
}

impl Default for Interface {
    fn default() -> Self {
        Interface {
            name: String::new(),
            bpf_filter: String::new(),
            snaplen: 65535,
            promiscuous: true,
            buffer_size_mb: 32,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Flows {
    pub enabled: bool,
    /// Interval of periodic reports of active flows; `0s` disables them (final reports only).
    pub period: Duration,
    /// Idle timeout after which a flow is reported final and forgotten.
    pub timeout: Duration,
    /// Per-transport idle timeouts; when unset, `timeout` applies.
    pub tcp_timeout: Option<Duration>,
    pub udp_timeout: Option<Duration>,
    pub icmp_timeout: Option<Duration>,
    /// Most flows held at once across all workers; beyond it the oldest idle flow is evicted
    /// (reported final) and counted.
    pub max_flows: usize,
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            enabled: true,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            tcp_timeout: None,
            udp_timeout: None,
            icmp_timeout: None,
            max_flows: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Defrag {
    pub enabled: bool,
    /// A datagram not complete this long after its first fragment is dropped (counted).
    pub timeout: Duration,
    /// Most datagrams under reassembly at once (across workers).
    pub max_datagrams: usize,
    /// Largest reassembled datagram in bytes.
    pub max_datagram_bytes: usize,
}

impl Default for Defrag {
    fn default() -> Self {
        Defrag {
            enabled: true,
            timeout: Duration::from_secs(30),
            max_datagrams: 65_536,
            max_datagram_bytes: 65_535 + 40,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tunnels {
    pub enabled: bool,
    pub vxlan_ports: Vec<u16>,
    pub geneve_ports: Vec<u16>,
    pub gtp_ports: Vec<u16>,
    pub teredo_ports: Vec<u16>,
}

impl Default for Tunnels {
    fn default() -> Self {
        Tunnels {
            enabled: true,
            vxlan_ports: vec![4789, 8472],
            geneve_ports: vec![6081],
            gtp_ports: vec![2152],
            teredo_ports: vec![3544],
        }
    }
}

/// Outputs: exactly one may be enabled; none means console.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    pub console: Option<ConsoleOutput>,
    pub file: Option<FileOutput>,
    pub kafka: Option<crate::sink::kafka::Config>,
    pub elasticsearch: Option<crate::sink::elasticsearch::Config>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleOutput {
    pub enabled: bool,
    /// Indented JSON (for people, not for pipelines).
    pub pretty: bool,
}

impl Default for ConsoleOutput {
    fn default() -> Self {
        ConsoleOutput { enabled: true, pretty: false }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    #[default]
    Ndjson,
    Csv,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FileOutput {
    pub enabled: bool,
    /// Directory the files are written to.
    pub path: String,
    /// Base file name; rotated files get `.1`, `.2`, … appended.
    pub filename: String,
    pub format: FileFormat,
    /// Dotted ECS field names that make the CSV columns (CSV only).
    pub csv_fields: Vec<String>,
    /// Rotate when the current file reaches this many KiB.
    pub rotate_every_kb: u64,
    /// Files kept, the current one included.
    pub number_of_files: usize,
}

impl Default for FileOutput {
    fn default() -> Self {
        FileOutput {
            enabled: true,
            path: ".".into(),
            filename: "wirebeat.ndjson".into(),
            format: FileFormat::Ndjson,
            csv_fields: vec![
                "@timestamp".into(),
                "event.dataset".into(),
                "network.transport".into(),
                "source.ip".into(),
                "source.port".into(),
                "destination.ip".into(),
                "destination.port".into(),
                "network.packets".into(),
                "network.bytes".into(),
                "network.community_id".into(),
            ],
            rotate_every_kb: 10 * 1024,
            number_of_files: 7,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// error, warn, info, debug, trace.
    pub level: String,
    /// `ecs` (JSON lines in ECS) or `text`.
    pub format: String,
}

impl Default for Logging {
    fn default() -> Self {
        Logging { level: "info".into(), format: "text".into() }
    }
}
