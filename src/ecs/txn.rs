//! ECS documents for application transactions (DNS, HTTP, TLS, …): the envelope filled from
//! the flow and the transaction, Packetbeat's `status` after `type`, and the protocol's own
//! fields flattened in at the end from [`ProtoFields`]. The client is the flow's initiator;
//! `source` is the client.

use super::envelope::{Envelope, EventFields, Facts, Peers, Traffic};
use super::{time, EncodedEvent, EventContext};
use crate::flow::Flow;
use crate::proto::{ProtoFields, Txn};
use serde::Serialize;

/// The transaction event's own head (after `type`).
#[derive(Serialize)]
struct TxnHead<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a str>,
}

/// Serializes a transaction of `f` as one ECS document.
pub fn encode(ctx: &EventContext, f: &Flow, t: &Txn) -> EncodedEvent {
    encode_with(ctx, f, t, None)
}

/// [`encode`] with `threat` (a threat-intel match's `{"enrichments": …}`) after the fields.
pub fn encode_with(
    ctx: &EventContext,
    f: &Flow,
    t: &Txn,
    threat: Option<&serde_json::Value>,
) -> EncodedEvent {
    let mut notes = t.notes.clone();
    if f.app.as_ref().is_some_and(|a| a.gaps) && !notes.iter().any(|n| n.contains("missing")) {
        notes.push("bytes missing in the stream (capture loss)".into());
    }
    let mut event =
        EventFields::new("event", &["network"], &["connection", "protocol"], "network_traffic");
    event.start = Some(time::rfc3339(t.start_ns));
    event.end = t.end_ns.map(time::rfc3339);
    event.duration = t.end_ns.map(|e| e.saturating_sub(t.start_ns).max(0));
    event.outcome = Some(t.outcome);
    event.reason = (!notes.is_empty()).then(|| notes.join("; "));
    let facts = Facts { dataset: t.dataset, ts_ns: t.start_ns, event, doc_type: Some(t.protocol) };
    let traffic = Traffic {
        flow: f,
        protocol: Some(t.protocol),
        source_bytes: t.client_bytes,
        destination_bytes: t.server_bytes,
        packets: None,
        peers: Peers::WithBytes,
        server_domain: t.server_domain.clone(),
        related_hosts: t.related_hosts.clone(),
        related_hashes: t.related_hashes.clone(),
    };
    let fields: &ProtoFields = &t.fields;
    let tail = super::WithThreat { body: fields, threat };
    let ev = Envelope::new(
        ctx,
        facts,
        Some(traffic),
        TxnHead {
            status: t.status,
            method: t.method.as_deref(),
            query: t.query.as_deref(),
            resource: t.resource.as_deref(),
        },
        (),
        tail,
    );
    EncodedEvent::encode(t.dataset, ev.community_id(), &ev)
}
