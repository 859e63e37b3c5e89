//! ECS events: typed structs, the derived fields filled in one place, serialized once.
//!
//! Every event is an [`envelope::Envelope`] (the shared top-level fields, derived in
//! [`envelope::Envelope::new`]) with its kind's bodies flattened in: flow reports here, transactions
//! in [`txn`], sensor health in [`health`].
//!
//! Layout follows Elastic's Network Packet Capture integration (`data_stream.dataset:
//! network_traffic.flow`, …) so Elastic's prebuilt rules read wirebeat documents unchanged.
//! Fields outside ECS are listed in [`fields::CUSTOM_FIELDS`], which the index template maps.

pub mod envelope;
pub mod fields;
pub mod health;
pub mod host;
pub use crate::time;
pub mod txn;

use crate::flow::{community_id, Flow, Report};
use envelope::{Endpoint, Envelope, EventFields, Facts, Peers, Traffic};
use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

pub const ECS_VERSION: &str = "9.4.0";
pub const DATASET_FLOW: &str = "network_traffic.flow";

/// An event ready for an output: its routing facts and its JSON bytes (one line, no newline).
#[derive(Debug, Clone)]
pub struct EncodedEvent {
    /// `data_stream.dataset`, e.g. `network_traffic.flow`.
    pub dataset: &'static str,
    /// Partitioning key for Kafka (the Community ID when there is one).
    pub key: Option<Box<str>>,
    pub json: Vec<u8>,
}

impl EncodedEvent {
    /// Serializes `doc` once into an event of `dataset`.
    pub fn encode(dataset: &'static str, key: Option<String>, doc: &impl Serialize) -> Self {
        let mut json = Vec::with_capacity(2048);
        // Serializing plain structs into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut json, doc);
        EncodedEvent { dataset, key: key.map(String::into_boxed_str), json }
    }
}

/// Who produced the events: the sensor's identity, fixed for a run.
#[derive(Debug, Clone, Serialize)]
pub struct Observer {
    pub hostname: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub vendor: &'static str,
    pub product: &'static str,
    pub version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ingress {
    pub interface: Interface,
}

#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub version: &'static str,
    pub id: String,
}

/// Everything an event needs besides its own facts; built once per run and shared.
#[derive(Debug)]
pub struct EventContext {
    pub observer: Observer,
    pub agent: Agent,
    pub namespace: String,
    pub internal_networks: Vec<IpNet>,
    pub tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub community_id_seed: u16,
    /// `host.*` serialized once (`wirebeat.host_metadata`); `None` when turned off.
    pub host: Option<Box<serde_json::value::RawValue>>,
    /// Whose point of view `network.direction` takes (`wirebeat.network_direction`).
    pub direction_mode: host::DirectionMode,
    /// The sensor's own addresses ([`host::own_addresses`]), for the observer's direction.
    pub own_addresses: rustc_hash::FxHashSet<IpAddr>,
}

impl EventContext {
    pub fn new(
        name: Option<&str>,
        agent_id: Option<&str>,
        namespace: &str,
        internal_networks: Vec<IpNet>,
        tags: Vec<String>,
        labels: BTreeMap<String, String>,
    ) -> Arc<Self> {
        Arc::new(Self::plain(name, agent_id, namespace, internal_networks, tags, labels))
    }

    /// [`EventContext::new`] before it is shared: without `host`, perimeter directions.
    pub fn plain(
        name: Option<&str>,
        agent_id: Option<&str>,
        namespace: &str,
        internal_networks: Vec<IpNet>,
        tags: Vec<String>,
        labels: BTreeMap<String, String>,
    ) -> Self {
        let hostname = hostname();
        let name = name.map(str::to_owned).unwrap_or_else(|| hostname.clone());
        let id = agent_id.map(str::to_owned).unwrap_or_else(|| stable_uuid(&hostname));
        EventContext {
            observer: Observer {
                hostname: hostname.clone(),
                name: name.clone(),
                kind: "sensor",
                vendor: "wirebeat",
                product: "wirebeat",
                version: env!("CARGO_PKG_VERSION"),
                ingress: None,
            },
            agent: Agent { kind: "wirebeat", name, version: env!("CARGO_PKG_VERSION"), id },
            namespace: namespace.to_owned(),
            internal_networks,
            tags,
            labels,
            community_id_seed: 0,
            host: None,
            direction_mode: host::DirectionMode::Perimeter,
            own_addresses: Default::default(),
        }
    }

    /// With `host.*` as `cfg` asks and `network.direction` from `mode`'s point of view (the
    /// machine's addresses are read once, here).
    pub fn with_host(mut self, cfg: &host::HostMetadata, mode: host::DirectionMode) -> Self {
        let observer = mode == host::DirectionMode::Observer;
        let own = if cfg.enabled || observer { host::own_addresses() } else { Vec::new() };
        if cfg.enabled {
            self.host = host::HostInfo::gather(cfg, &own).fragment();
        }
        self.direction_mode = mode;
        if observer {
            self.own_addresses = own.into_iter().collect();
        }
        self
    }

    fn is_internal(&self, ip: &IpAddr) -> bool {
        self.internal_networks.iter().any(|n| n.contains(ip))
    }

    /// `network.direction`: from the perimeter's point of view (`internal_networks`), or with
    /// [`host::DirectionMode::Observer`] `ingress`/`egress` for traffic to/from the sensor's
    /// own addresses (others keep the perimeter value).
    pub fn direction(&self, src: &IpAddr, dst: &IpAddr) -> &'static str {
        if self.direction_mode == host::DirectionMode::Observer {
            if self.own_addresses.contains(dst) {
                return "ingress";
            }
            if self.own_addresses.contains(src) {
                return "egress";
            }
        }
        match (self.is_internal(src), self.is_internal(dst)) {
            (true, true) => "internal",
            (true, false) => "outbound",
            (false, true) => "inbound",
            (false, false) => "external",
        }
    }
}

/// The machine's host name (no clock, no network: `/proc` or `/etc/hostname`).
pub fn hostname() -> String {
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(p) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_owned();
            }
        }
    }
    "localhost".to_owned()
}

/// A UUID-shaped id derived from a string (so a sensor keeps its `agent.id` across runs).
pub fn stable_uuid(seed: &str) -> String {
    use sha1::{Digest, Sha1};
    let d: [u8; 20] = Sha1::digest(format!("wirebeat-agent:{seed}").as_bytes()).into();
    let h: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-5{}-{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[16..20], &h[20..32])
}

/// IANA keyword of an IP protocol for `network.transport`.
pub fn transport_name(proto: u8) -> Option<&'static str> {
    Some(match proto {
        1 => "icmp",
        2 => "igmp",
        4 => "ipv4",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        46 => "rsvp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        88 => "eigrp",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        115 => "l2tp",
        132 => "sctp",
        _ => return None,
    })
}

/// MAC in ECS form: upper case, dash separated.
pub fn mac(m: &[u8; 6]) -> String {
    format!("{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}", m[0], m[1], m[2], m[3], m[4], m[5])
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The flow event's own head: `flow.*` (after `type`).
#[derive(Serialize)]
struct FlowHead {
    flow: FlowFields,
}

#[derive(Serialize)]
struct FlowFields {
    id: String,
    #[serde(rename = "final")]
    is_final: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<u16>,
}

/// The flow event's `network_traffic.*` (after `network`).
#[derive(Serialize)]
struct FlowTraffic {
    network_traffic: NetworkTraffic,
}

#[derive(Serialize)]
struct TunnelFields {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    source: Endpoint,
    destination: Endpoint,
}

#[derive(Serialize)]
struct NtFlow {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tcp_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "is_zero")]
    truncated_packets: u64,
    #[serde(skip_serializing_if = "is_zero")]
    reassembled_packets: u64,
    #[serde(skip_serializing_if = "is_false")]
    initiator_guessed: bool,
    /// Bytes missing from the reassembled TCP streams so far (capture loss), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    gap_bytes: Option<GapBytes>,
    /// `wirebeat.flows.statistics`, on final reports only.
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<crate::flow::stats::StatsView>,
}

/// `network_traffic.flow.gap_bytes`: bytes the capture missed in each direction's stream
/// (source: the client's), so that loss can be told from silence.
#[derive(Serialize)]
struct GapBytes {
    source: u64,
    destination: u64,
}

#[derive(Serialize)]
struct NetworkTraffic {
    flow: NtFlow,
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelFields>,
}

/// An event's last body with the `threat` object of a threat-intel match after it (absent
/// unless something matched, so events without a match are unchanged).
#[derive(Serialize)]
pub struct WithThreat<'a, B: Serialize> {
    #[serde(flatten)]
    pub body: B,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat: Option<&'a serde_json::Value>,
}

/// Builds and serializes flow events for one worker.
pub struct FlowEncoder {
    ctx: Arc<EventContext>,
    worker: usize,
}

impl FlowEncoder {
    pub fn new(ctx: Arc<EventContext>, worker: usize) -> Self {
        FlowEncoder { ctx, worker }
    }

    pub fn encode(&self, r: &Report<'_>) -> EncodedEvent {
        self.encode_with(r, None)
    }

    /// [`FlowEncoder::encode`] with `threat` (a threat-intel match's `{"enrichments": …}`).
    pub fn encode_with(&self, r: &Report<'_>, threat: Option<&serde_json::Value>) -> EncodedEvent {
        let f: &Flow = r.flow;
        let is_final = r.final_reason.is_some();
        let mut event = EventFields::new(
            "event",
            &["network"],
            if is_final { &["connection", "end"] } else { &["connection"] },
            "network_traffic",
        );
        event.action = Some("network_flow");
        event.start = Some(time::rfc3339(f.first_ts));
        event.end = Some(time::rfc3339(f.last_ts));
        event.duration = Some(f.last_ts.saturating_sub(f.first_ts));
        let facts = Facts { dataset: DATASET_FLOW, ts_ns: r.ts_ns, event, doc_type: Some("flow") };
        let traffic = Traffic {
            flow: f,
            protocol: f.app_protocol(),
            source_bytes: f.fwd.bytes,
            destination_bytes: f.rev.bytes,
            packets: Some((f.fwd.packets, f.rev.packets)),
            peers: Peers::IfInitiatorKnown,
            server_domain: None,
            related_hosts: Vec::new(),
            related_hashes: Vec::new(),
        };
        let head = FlowHead {
            flow: FlowFields {
                id: format!("{:x}-{:x}-{}", f.first_ts, f.seq, self.worker),
                is_final,
                vlan: f.link.vlan[0],
            },
        };
        let body = FlowTraffic {
            network_traffic: NetworkTraffic {
                flow: NtFlow {
                    tcp_flags: crate::flow::tcp_flag_names(f.fwd.tcp_flags | f.rev.tcp_flags),
                    state: f.tcp_state.map(|s| s.as_str()),
                    end_reason: r.final_reason.map(|e| e.as_str()),
                    truncated_packets: u64::from(f.truncated_packets),
                    reassembled_packets: u64::from(f.reassembled_packets),
                    initiator_guessed: f.key.proto == 6 && !f.initiator_known(),
                    gap_bytes: f
                        .app
                        .as_ref()
                        .filter(|a| a.missing != [0, 0])
                        .map(|a| GapBytes { source: a.missing[0], destination: a.missing[1] }),
                    stats: f.stats.as_ref().filter(|_| is_final).map(|s| s.view()),
                },
                tunnel: f.tunnel.map(|t| TunnelFields {
                    kind: t.kind.as_str(),
                    id: t.id,
                    source: Endpoint::peer(t.outer_src, None),
                    destination: Endpoint::peer(t.outer_dst, None),
                }),
            },
        };
        let tail = WithThreat { body: (), threat };
        let ev = Envelope::new(&self.ctx, facts, Some(traffic), head, body, tail);
        EncodedEvent::encode(DATASET_FLOW, ev.community_id(), &ev)
    }
}

/// Community ID of a flow, in the initiator's orientation (ICMP: type/code of its first packet).
/// Computed once per flow (the seed is fixed for a run) and reused by every report and
/// transaction of the flow.
pub fn community_id_of(seed: u16, f: &Flow) -> Option<String> {
    f.community_id
        .get_or_init(|| compute_community_id(seed, f).map(String::into_boxed_str))
        .as_deref()
        .map(str::to_owned)
}

fn compute_community_id(seed: u16, f: &Flow) -> Option<String> {
    if f.key.has_ports {
        community_id::community_id(seed, f.src(), f.dst(), f.key.proto, f.sport, f.dport)
    } else if matches!(f.key.proto, 6 | 17 | 132 | 1 | 58) {
        // A port-less flow of a port protocol (an unfinished fragment train): no tuple to hash.
        None
    } else {
        community_id::community_id(seed, f.src(), f.dst(), f.key.proto, 0, 0)
    }
}
