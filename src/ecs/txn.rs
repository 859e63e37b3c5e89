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

/// The protocol's fields, or (for [`crate::proto::SERVICE_PROTOCOLS`]) a copy with Packetbeat's `method`,
/// `query` and `resource` added under `network_traffic.<protocol>`.
#[derive(Serialize)]
#[serde(untagged)]
enum TailBody<'a> {
    Fields(&'a ProtoFields),
    Merged(&'a serde_json::Value),
}

struct Tail<'a> {
    fields: &'a ProtoFields,
    namespaced: Option<&'a serde_json::Value>,
}

impl Serialize for Tail<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.namespaced {
            Some(v) => TailBody::Merged(v).serialize(s),
            None => TailBody::Fields(self.fields).serialize(s),
        }
    }
}

/// The dataset name the integration uses for a protocol (`memcache` writes
/// `network_traffic.memcached`): the key under `network_traffic`.
fn namespace_key(t: &Txn) -> &'static str {
    t.dataset.strip_prefix("network_traffic.").unwrap_or(t.protocol)
}

/// The fields with `network_traffic.<protocol>.{method,query,resource}` merged in, when the
/// protocol is one of [`crate::proto::SERVICE_PROTOCOLS`] and any of them is set.
fn namespaced_packetbeat(t: &Txn, fields: &ProtoFields) -> Option<serde_json::Value> {
    if !crate::proto::SERVICE_PROTOCOLS.contains(&t.protocol) {
        return None;
    }
    let mut v = serde_json::to_value(fields).ok()?;
    let root = v.as_object_mut()?;
    let nt = root.entry("network_traffic").or_insert_with(|| serde_json::json!({}));
    let nt = nt.as_object_mut()?;
    // The integration also renames Packetbeat's `status` to `network_traffic.status` (the AMQP
    // purge rule reads it there).
    nt.entry("status").or_insert_with(|| serde_json::Value::String(t.status.to_owned()));
    if t.method.is_none() && t.query.is_none() && t.resource.is_none() {
        return Some(v);
    }
    let proto = nt.entry(namespace_key(t)).or_insert_with(|| serde_json::json!({}));
    let obj = proto.as_object_mut()?;
    for (k, val) in [("method", &t.method), ("query", &t.query), ("resource", &t.resource)] {
        if let Some(x) = val {
            obj.entry(k).or_insert_with(|| serde_json::Value::String(x.clone()));
        }
    }
    Some(v)
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
    let namespaced = namespaced_packetbeat(t, fields);
    let tail = super::WithThreat { body: Tail { fields, namespaced: namespaced.as_ref() }, threat };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::template::{Fields, NetworkTraffic, TemplateFields, PROTOCOL};

    fn txn(protocol: &'static str, dataset: &'static str) -> Txn {
        let fields = Fields {
            network_traffic: NetworkTraffic {
                template: TemplateFields { request: Some("x".into()), response: None },
            },
        };
        let mut t = Txn::new(&PROTOCOL, 0, fields);
        (t.protocol, t.dataset) = (protocol, dataset);
        t.method = Some("drop".into());
        t.query = Some("{\"drop\":\"users\"}".into());
        t
    }

    #[test]
    fn service_protocols_carry_method_and_query_under_their_namespace() {
        let t = txn("memcache", "network_traffic.memcached");
        let v = namespaced_packetbeat(&t, &t.fields).unwrap();
        let nt = &v["network_traffic"];
        assert_eq!(nt["memcached"]["method"], "drop");
        assert_eq!(nt["memcached"]["query"], "{\"drop\":\"users\"}");
        assert!(nt["memcached"].get("resource").is_none(), "unset fields stay out");
        assert_eq!(nt["template"]["request"], "x", "the protocol's own fields are kept");
        assert_eq!(nt["status"], "OK");
    }

    #[test]
    fn other_protocols_are_left_alone_and_status_always_goes_along() {
        let t = txn("dns", "network_traffic.dns");
        assert!(namespaced_packetbeat(&t, &t.fields).is_none());
        let mut t = txn("mysql", "network_traffic.mysql");
        (t.method, t.query) = (None, None);
        let v = namespaced_packetbeat(&t, &t.fields).unwrap();
        assert_eq!(v["network_traffic"]["status"], "OK");
        assert!(v["network_traffic"].get("mysql").is_none(), "nothing to add under mysql");
    }
}
