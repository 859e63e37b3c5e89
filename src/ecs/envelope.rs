//! The one ECS envelope: the top-level part every event shares (`@timestamp`, `ecs`,
//! `data_stream`, `event`, endpoints, `network`, `related`, `observer`, `agent`, `host`, `tags`,
//! `labels`), and [`Envelope::new`], the one function that fills the derived fields.
//!
//! Flow, transaction and health events (and alerts, later) differ only in three bodies the
//! envelope flattens in at fixed places: `head` after `type`, `traffic` after `network`, `tail`
//! after `labels`. The field order of the JSON is the order of the struct below; the golden
//! files pin it. Serialization stays typed: no `serde_json::Value` on the data path.
//!
//! Derived here and nowhere else: `data_stream` and `event.dataset` (from the dataset and the
//! run's namespace), `observer`/`agent`/`host`/`tags`/`labels` (from the [`EventContext`]) and, for
//! events about a flow, the Community ID, `network.direction` (from `internal_networks`),
//! `source`/`destination` and `client`/`server` (the initiator is the client), `network.*` and
//! `related.ip`.

use super::ECS_VERSION;
use super::{community_id_of, mac, time, transport_name, Agent, EventContext, Observer};
use crate::flow::Flow;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A whole event: the shared envelope with the kind's bodies flattened in.
#[derive(Serialize)]
pub struct Envelope<'a, H: Serialize, T: Serialize, B: Serialize> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    ecs: Ecs,
    data_stream: DataStream<'a>,
    event: EventFields,
    /// Packetbeat's document type (`flow`, `dns`, …); events not about traffic have none.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    doc_type: Option<&'static str>,
    #[serde(flatten)]
    head: H,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network>,
    #[serde(flatten)]
    traffic: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    related: Option<Related>,
    observer: &'a Observer,
    agent: &'a Agent,
    /// Serialized once per run ([`EventContext::host`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a serde_json::value::RawValue>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    tail: B,
}

/// `event.*`. `dataset` is filled by [`Envelope::new`].
#[derive(Serialize)]
pub struct EventFields {
    pub kind: &'static str,
    pub category: &'static [&'static str],
    #[serde(rename = "type")]
    pub types: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    dataset: &'static str,
    pub module: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::proto::Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl EventFields {
    /// An `event` object with the classification fields; the rest start empty.
    pub fn new(
        kind: &'static str,
        category: &'static [&'static str],
        types: &'static [&'static str],
        module: &'static str,
    ) -> Self {
        EventFields {
            kind,
            category,
            types,
            action: None,
            dataset: "",
            module,
            start: None,
            end: None,
            duration: None,
            outcome: None,
            reason: None,
        }
    }
}

#[derive(Serialize)]
struct Ecs {
    version: &'static str,
}

#[derive(Serialize)]
struct DataStream<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    dataset: &'static str,
    namespace: &'a str,
}

/// `source`, `destination`, `client`, `server` and the tunnel's outer endpoints.
#[derive(Serialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
}

impl Endpoint {
    /// Address and port only.
    pub fn peer(ip: IpAddr, port: Option<u16>) -> Self {
        Endpoint { ip, port, domain: None, mac: None, bytes: None, packets: None }
    }
}

#[derive(Serialize)]
struct VlanId {
    id: String,
}

#[derive(Serialize)]
struct Vlan {
    vlan: VlanId,
}

#[derive(Serialize)]
struct Network {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
    iana_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    bytes: u64,
    /// Flow events only (transactions count application bytes, not packets).
    #[serde(skip_serializing_if = "Option::is_none")]
    packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<String>,
    direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<VlanId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inner: Option<Vlan>,
}

#[derive(Serialize)]
struct Related {
    ip: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hash: Vec<String>,
}

/// Who the `client` and `server` of an event about a flow are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Peers {
    /// Flow reports: the endpoints without bytes, only when the initiator is known.
    IfInitiatorKnown,
    /// Transactions: always the initiator as client, with each side's bytes (and the server's
    /// domain).
    WithBytes,
}

/// What an event states about the traffic of its flow; the rest is derived from the flow.
pub struct Traffic<'f> {
    pub flow: &'f Flow,
    /// `network.protocol`.
    pub protocol: Option<&'static str>,
    /// Bytes the source (the initiator) and the destination sent.
    pub source_bytes: u64,
    pub destination_bytes: u64,
    /// Packets each side sent (flow reports only).
    pub packets: Option<(u64, u64)>,
    pub peers: Peers,
    /// `destination.domain` / `server.domain`.
    pub server_domain: Option<String>,
    pub related_hosts: Vec<String>,
    pub related_hashes: Vec<String>,
}

/// The parts of an event every kind fills itself.
pub struct Facts {
    pub dataset: &'static str,
    /// `@timestamp`.
    pub ts_ns: i64,
    pub event: EventFields,
    pub doc_type: Option<&'static str>,
}

impl<'a, H: Serialize, T: Serialize, B: Serialize> Envelope<'a, H, T, B> {
    /// The event: the kind's facts and bodies, with every derived field filled in.
    pub fn new(
        ctx: &'a EventContext,
        facts: Facts,
        traffic: Option<Traffic<'_>>,
        head: H,
        traffic_body: T,
        tail: B,
    ) -> Self {
        let Facts { dataset, ts_ns, mut event, doc_type } = facts;
        event.dataset = dataset;
        let mut ev = Envelope {
            timestamp: time::rfc3339(ts_ns),
            ecs: Ecs { version: ECS_VERSION },
            data_stream: DataStream { kind: "logs", dataset, namespace: &ctx.namespace },
            event,
            doc_type,
            head,
            source: None,
            destination: None,
            client: None,
            server: None,
            network: None,
            traffic: traffic_body,
            related: None,
            observer: &ctx.observer,
            agent: &ctx.agent,
            host: ctx.host.as_deref(),
            tags: &ctx.tags,
            labels: &ctx.labels,
            tail,
        };
        if let Some(t) = traffic {
            ev.fill_traffic(ctx, t);
        }
        ev
    }

    /// The Community ID of the event's flow, once the envelope has been filled.
    pub fn community_id(&self) -> Option<String> {
        self.network.as_ref().and_then(|n| n.community_id.clone())
    }

    fn fill_traffic(&mut self, ctx: &EventContext, t: Traffic<'_>) {
        let f = t.flow;
        let has_ports = f.key.has_ports && matches!(f.key.proto, 6 | 17 | 132);
        let port = |p: u16| has_ports.then_some(p);
        let (src_packets, dst_packets) = t.packets.unzip();
        self.source = Some(Endpoint {
            ip: f.src(),
            port: port(f.sport),
            domain: None,
            mac: f.link.src_mac.as_ref().map(mac),
            bytes: Some(t.source_bytes),
            packets: src_packets,
        });
        self.destination = Some(Endpoint {
            ip: f.dst(),
            port: port(f.dport),
            domain: t.server_domain.clone(),
            mac: f.link.dst_mac.as_ref().map(mac),
            bytes: Some(t.destination_bytes),
            packets: dst_packets,
        });
        match t.peers {
            Peers::IfInitiatorKnown => {
                if f.initiator_known() {
                    self.client = Some(Endpoint::peer(f.src(), port(f.sport)));
                    self.server = Some(Endpoint::peer(f.dst(), port(f.dport)));
                }
            }
            Peers::WithBytes => {
                self.client = Some(Endpoint {
                    bytes: Some(t.source_bytes),
                    ..Endpoint::peer(f.src(), port(f.sport))
                });
                self.server = Some(Endpoint {
                    domain: t.server_domain,
                    bytes: Some(t.destination_bytes),
                    ..Endpoint::peer(f.dst(), port(f.dport))
                });
            }
        }
        self.network = Some(Network {
            kind: if f.src().is_ipv4() { "ipv4" } else { "ipv6" },
            transport: transport_name(f.key.proto),
            iana_number: f.key.proto.to_string(),
            protocol: t.protocol,
            bytes: t.source_bytes + t.destination_bytes,
            packets: t.packets.map(|(s, d)| s + d),
            community_id: community_id_of(ctx.community_id_seed, f),
            direction: ctx.direction(&f.src(), &f.dst()),
            vlan: f.link.vlan[0].map(|v| VlanId { id: v.to_string() }),
            inner: f.link.vlan[1].map(|v| Vlan { vlan: VlanId { id: v.to_string() } }),
        });
        self.related = Some(Related {
            ip: if f.src() == f.dst() { vec![f.src()] } else { vec![f.src(), f.dst()] },
            hosts: dedup(t.related_hosts),
            hash: dedup(t.related_hashes),
        });
    }
}

/// Empty and repeated values dropped, first occurrence kept.
fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|x| !x.is_empty() && seen.insert(x.clone()));
    v
}
