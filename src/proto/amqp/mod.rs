//! AMQP 0-9-1 over TCP (RabbitMQ and other brokers).
//!
//! Each direction is a stream of frames (the client's protocol header `AMQP\0\0\x09\x01` first):
//! methods, content headers, body frames, heartbeats. `parser.rs` decodes one frame and the
//! arguments of the common methods (connection, channel, exchange, queue and basic classes),
//! field tables bounded; `session.rs` pairs synchronous methods with their answers per channel,
//! attaches content to the method carrying it and judges logins (see its top comment).
//!
//! Fields: Packetbeat's `amqp.*` names under `network_traffic.amqp.*`; Packetbeat's top-level
//! `method` (`queue.declare`), `query` (`queue.purge my-queue`) and `resource` (the queue or
//! exchange). Connection and channel methods are reported too (Packetbeat hides them by
//! default): logins and broker-side closes are where authentication failures and errors show.
//! The `connection.start-ok` response (the credentials) is never kept.

mod fields;
mod parser;
mod session;

pub use fields::{AmqpFields, Fields, NetworkTraffic, CUSTOM_FIELDS};
pub use parser::{parse, probe, ContentHeader, Frame, Method, PROTOCOL_HEADER};
pub use session::AmqpParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.amqp";

pub static PROTOCOL: Protocol = Protocol {
    name: "amqp",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[5672],
    probe: |_, _, b| probe(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(AmqpParser::new(ctx)),
};

/// `wirebeat.protocols.amqp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default: 5672).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
