//! ECS documents for application transactions (DNS, HTTP, TLS, …): the common part filled from
//! the flow and the transaction here, the protocol's own fields flattened in from
//! [`ProtoFields`]. The client is the flow's initiator; `source` is the client.

use super::{
    community_id_of, mac, related_ips, time, DataStream, Ecs, EncodedEvent, EventContext, Network,
    Related, ECS_VERSION,
};
use crate::flow::Flow;
use crate::proto::{Outcome, ProtoFields, Txn};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Serialize)]
struct EventFields {
    kind: &'static str,
    category: [&'static str; 1],
    #[serde(rename = "type")]
    types: [&'static str; 2],
    dataset: &'static str,
    module: &'static str,
    start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize)]
struct Endpoint {
    ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    bytes: u64,
}

#[derive(Serialize)]
struct Side {
    ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    bytes: u64,
}

#[derive(Serialize)]
struct RelatedAll {
    #[serde(flatten)]
    ip: Related,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hash: Vec<String>,
}

#[derive(Serialize)]
struct TxnEvent<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    ecs: Ecs,
    data_stream: DataStream<'a>,
    event: EventFields,
    #[serde(rename = "type")]
    doc_type: &'static str,
    status: &'static str,
    source: Endpoint,
    destination: Endpoint,
    client: Side,
    server: Side,
    network: Network,
    related: RelatedAll,
    observer: &'a super::Observer,
    agent: &'a super::Agent,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    fields: &'a ProtoFields,
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|x| !x.is_empty() && seen.insert(x.clone()));
    v
}

/// Serializes a transaction of `f` as one ECS document.
pub fn encode(ctx: &EventContext, f: &Flow, t: &Txn) -> EncodedEvent {
    let ports = f.key.has_ports && matches!(f.key.proto, 6 | 17 | 132);
    let port = |p: u16| ports.then_some(p);
    let cid = community_id_of(ctx.community_id_seed, f);
    let mut notes = t.notes.clone();
    if f.app.as_ref().is_some_and(|a| a.gaps) && !notes.iter().any(|n| n.contains("missing")) {
        notes.push("bytes missing in the stream (capture loss)".into());
    }
    let ev = TxnEvent {
        timestamp: time::rfc3339(t.start_ns),
        ecs: Ecs { version: ECS_VERSION },
        data_stream: DataStream { kind: "logs", dataset: t.dataset, namespace: &ctx.namespace },
        event: EventFields {
            kind: "event",
            category: ["network"],
            types: ["connection", "protocol"],
            dataset: t.dataset,
            module: "network_traffic",
            start: time::rfc3339(t.start_ns),
            end: t.end_ns.map(time::rfc3339),
            duration: t.end_ns.map(|e| e.saturating_sub(t.start_ns).max(0)),
            outcome: t.outcome,
            reason: (!notes.is_empty()).then(|| notes.join("; ")),
        },
        doc_type: t.protocol,
        status: t.status,
        source: Endpoint {
            ip: f.src,
            port: port(f.sport),
            domain: None,
            mac: f.link.src_mac.as_ref().map(mac),
            bytes: t.client_bytes,
        },
        destination: Endpoint {
            ip: f.dst,
            port: port(f.dport),
            domain: t.server_domain.clone(),
            mac: f.link.dst_mac.as_ref().map(mac),
            bytes: t.server_bytes,
        },
        client: Side { ip: f.src, port: port(f.sport), domain: None, bytes: t.client_bytes },
        server: Side {
            ip: f.dst,
            port: port(f.dport),
            domain: t.server_domain.clone(),
            bytes: t.server_bytes,
        },
        network: Network::of(
            ctx,
            f,
            Some(t.protocol),
            t.client_bytes + t.server_bytes,
            None,
            cid.clone(),
        ),
        related: RelatedAll {
            ip: related_ips(f),
            hosts: dedup(t.related_hosts.clone()),
            hash: dedup(t.related_hashes.clone()),
        },
        observer: &ctx.observer,
        agent: &ctx.agent,
        tags: &ctx.tags,
        labels: &ctx.labels,
        fields: &t.fields,
    };
    EncodedEvent::encode(t.dataset, cid, &ev)
}
