//! Fields of an AMQP transaction (`network_traffic.amqp.*`, Packetbeat's `amqp.*` names with
//! their hyphens) and the custom-field list.

use crate::proto::CustomField;
use serde::Serialize;
use serde_json::{Map, Value};

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub amqp: AmqpFields,
}

macro_rules! opt {
    ($($(#[$m:meta])* $name:ident : $ty:ty,)*) => {
        /// `network_traffic.amqp`: the request's arguments, the answer's counts, the content
        /// header's properties; each absent when the methods had none.
        #[derive(Debug, Clone, Serialize, PartialEq, Default)]
        pub struct AmqpFields {
            $($(#[$m])* #[serde(skip_serializing_if = "Option::is_none")] pub $name: Option<$ty>,)*
        }
    };
}

opt! {
    /// The request's method (`queue.purge`), as the integration's layout has it beside the
    /// top-level `method` (Elastic's AMQP rules read this one).
    method: String,
    /// The answer: `queue.declare-ok`, `basic.get-empty`, `channel.close`, …
    response_method: String,
    #[serde(rename = "reply-code")] reply_code: u16,
    #[serde(rename = "reply-text")] reply_text: String,
    exchange: String,
    #[serde(rename = "exchange-type")] exchange_type: String,
    passive: bool,
    durable: bool,
    exclusive: bool,
    #[serde(rename = "auto-delete")] auto_delete: bool,
    #[serde(rename = "no-wait")] no_wait: bool,
    #[serde(rename = "consumer-tag")] consumer_tag: String,
    #[serde(rename = "delivery-tag")] delivery_tag: u64,
    #[serde(rename = "message-count")] message_count: u32,
    #[serde(rename = "consumer-count")] consumer_count: u32,
    #[serde(rename = "routing-key")] routing_key: String,
    #[serde(rename = "no-ack")] no_ack: bool,
    #[serde(rename = "no-local")] no_local: bool,
    #[serde(rename = "if-unused")] if_unused: bool,
    #[serde(rename = "if-empty")] if_empty: bool,
    queue: String,
    redelivered: bool,
    multiple: bool,
    requeue: bool,
    arguments: Map<String, Value>,
    mandatory: bool,
    immediate: bool,
    #[serde(rename = "content-type")] content_type: String,
    #[serde(rename = "content-encoding")] content_encoding: String,
    headers: Map<String, Value>,
    #[serde(rename = "delivery-mode")] delivery_mode: u8,
    priority: u8,
    #[serde(rename = "correlation-id")] correlation_id: String,
    #[serde(rename = "reply-to")] reply_to: String,
    expiration: String,
    #[serde(rename = "message-id")] message_id: String,
    timestamp: u64,
    #[serde(rename = "type")] kind: String,
    #[serde(rename = "user-id")] user_id: String,
    #[serde(rename = "app-id")] app_id: String,
    /// Content: the body size the header announced and the body bytes seen.
    body_size: u64,
    body_bytes: u64,
    mechanism: String,
    #[serde(rename = "client-product")] product: String,
    #[serde(rename = "client-version")] version: String,
    #[serde(rename = "virtual-host")] virtual_host: String,
    #[serde(rename = "prefetch-count")] prefetch_count: u16,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
/// Names are Packetbeat's (`amqp.*`) where Packetbeat has the field.
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.amqp.method", "keyword", "The request's method, e.g. queue.purge (the top-level method, in the integration's layout)."),
    ("network_traffic.amqp.response_method", "keyword", "The method that answered the request (queue.declare-ok, basic.get-empty, channel.close, ...)."),
    ("network_traffic.amqp.reply-code", "long", "AMQP reply code (connection.close, channel.close, basic.return)."),
    ("network_traffic.amqp.reply-text", "text", "AMQP reply text."),
    ("network_traffic.amqp.exchange", "keyword", "Name of the exchange."),
    ("network_traffic.amqp.exchange-type", "keyword", "Exchange type (direct, fanout, topic, headers)."),
    ("network_traffic.amqp.passive", "boolean", "Passive declare: only check that it exists."),
    ("network_traffic.amqp.durable", "boolean", "The exchange or queue survives a broker restart."),
    ("network_traffic.amqp.exclusive", "boolean", "The queue or consumer is exclusive to the connection."),
    ("network_traffic.amqp.auto-delete", "boolean", "Deleted when no longer used."),
    ("network_traffic.amqp.no-wait", "boolean", "The client asked for no answer."),
    ("network_traffic.amqp.consumer-tag", "keyword", "Identifier of the consumer."),
    ("network_traffic.amqp.delivery-tag", "long", "Delivery tag of the message on its channel."),
    ("network_traffic.amqp.message-count", "long", "Messages in the queue (declare-ok, get-ok, purge-ok, delete-ok)."),
    ("network_traffic.amqp.consumer-count", "long", "Consumers of the queue (declare-ok)."),
    ("network_traffic.amqp.routing-key", "keyword", "Routing key of the message or binding."),
    ("network_traffic.amqp.no-ack", "boolean", "No acknowledgement expected."),
    ("network_traffic.amqp.no-local", "boolean", "Do not deliver the connection's own messages."),
    ("network_traffic.amqp.if-unused", "boolean", "Delete only if unused."),
    ("network_traffic.amqp.if-empty", "boolean", "Delete only if empty."),
    ("network_traffic.amqp.queue", "keyword", "Name of the queue."),
    ("network_traffic.amqp.redelivered", "boolean", "The message was delivered before."),
    ("network_traffic.amqp.multiple", "boolean", "Acknowledges every message up to the delivery tag."),
    ("network_traffic.amqp.requeue", "boolean", "Rejected messages are requeued."),
    ("network_traffic.amqp.arguments", "object", "Optional arguments of the method (field table, bounded)."),
    ("network_traffic.amqp.mandatory", "boolean", "Return the message if it cannot be routed."),
    ("network_traffic.amqp.immediate", "boolean", "Return the message if it cannot be delivered at once."),
    ("network_traffic.amqp.content-type", "keyword", "MIME type of the message."),
    ("network_traffic.amqp.content-encoding", "keyword", "MIME content encoding of the message."),
    ("network_traffic.amqp.headers", "object", "Message headers (field table, bounded)."),
    ("network_traffic.amqp.delivery-mode", "long", "1 non-persistent, 2 persistent."),
    ("network_traffic.amqp.priority", "long", "Message priority, 0 to 9."),
    ("network_traffic.amqp.correlation-id", "keyword", "Application correlation identifier."),
    ("network_traffic.amqp.reply-to", "keyword", "Address to reply to."),
    ("network_traffic.amqp.expiration", "keyword", "Message expiration."),
    ("network_traffic.amqp.message-id", "keyword", "Application message identifier."),
    ("network_traffic.amqp.timestamp", "long", "Message timestamp (seconds since the epoch)."),
    ("network_traffic.amqp.type", "keyword", "Message type name."),
    ("network_traffic.amqp.user-id", "keyword", "Creating user id."),
    ("network_traffic.amqp.app-id", "keyword", "Creating application id."),
    ("network_traffic.amqp.body_size", "long", "Body size the content header announced."),
    ("network_traffic.amqp.body_bytes", "long", "Body bytes seen in body frames."),
    ("network_traffic.amqp.mechanism", "keyword", "SASL mechanism of connection.start-ok (the response is never kept)."),
    ("network_traffic.amqp.client-product", "keyword", "Client property product of connection.start-ok."),
    ("network_traffic.amqp.client-version", "keyword", "Client property version of connection.start-ok."),
    ("network_traffic.amqp.virtual-host", "keyword", "Virtual host of connection.open."),
    ("network_traffic.amqp.prefetch-count", "long", "Prefetch count of basic.qos."),
];
