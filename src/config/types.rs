//! The typed configuration: what `wirebeat.yml` may contain, with named defaults.
//!
//! The root and `wirebeat` compose the sections that the components own (each beside its code,
//! with its own checks): capture's interfaces, the decoder's `defrag` and `tunnels`, the flow
//! table's `flows`, the outputs, the queue and `setup`. Every struct denies unknown fields so a
//! typo is an error that names the key. Durations are written as strings such as `10s`,
//! `500ms`, `1m`, `2h` (see [`Duration`]).

pub use crate::capture::config::Interface;
pub use crate::decode::config::{Defrag, Tunnels};
pub use crate::flow::config::Flows;
pub use crate::logging::Logging;
pub use crate::sink::config::{ConsoleOutput, FileFormat, FileOutput, Output};
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
    /// Processors applied in order to every event before the queue (Packetbeat's
    /// `processors:`: `drop_event`, `drop_fields`, `add_fields`, `add_tags`, with `when`).
    pub processors: Vec<crate::processors::Processor>,
    pub output: Output,
    /// The queue between the pipeline and the output.
    pub queue: crate::queue::Config,
    /// `wirebeat setup`: where Kibana is (Elasticsearch is `output.elasticsearch`).
    pub setup: crate::setup::Config,
    pub logging: Logging,
    /// The stats endpoint (`/stats`, `/metrics`); off by default.
    pub http: crate::stats::http::HttpConfig,
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
    /// `network.direction` from the perimeter's point of view (`perimeter`: inbound, outbound,
    /// internal, external) or the sensor's (`observer`: ingress, egress).
    pub network_direction: crate::ecs::host::DirectionMode,
    /// `host.*` on every event (Packetbeat's `add_host_metadata`).
    pub host_metadata: crate::ecs::host::HostMetadata,
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
    /// Detectors (`wirebeat.detect.<name>`).
    pub detect: crate::detect::config::Detect,
}

impl Default for Wirebeat {
    fn default() -> Self {
        Wirebeat {
            interfaces: Vec::new(),
            workers: 0,
            internal_networks: vec!["private".into()],
            network_direction: Default::default(),
            host_metadata: Default::default(),
            namespace: "default".into(),
            flows: Flows::default(),
            defrag: Defrag::default(),
            tunnels: Tunnels::default(),
            protocols: Default::default(),
            streams: Default::default(),
            channel_batches: 16,
            health_period: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            detect: Default::default(),
        }
    }
}
