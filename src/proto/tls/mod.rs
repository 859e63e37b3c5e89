//! TLS (placeholder registration; the parser is being written).

use crate::proto::{Dir, Parser, ParserContext, Protocol, Transport, Txn};
use serde::{Deserialize, Serialize};

pub static PROTOCOL: Protocol = Protocol {
    name: "tls",
    transports: &[Transport::Tcp],
    settings: |c| (c.tls.enabled, &c.tls.ports),
    probe: |_, _, _| false,
    make: |_ctx: &ParserContext<'_>| Box::new(Placeholder),
};

/// `wirebeat.protocols.tls`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: vec![443, 465, 636, 853, 993, 995, 5223, 8443, 8883, 9243] }
    }
}

/// The ECS fields of a tls transaction.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[(&str, &str, &str)] = &[];

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.tls";

struct Placeholder;

impl Parser for Placeholder {
    fn data(&mut self, _dir: Dir, _ts_ns: i64, _bytes: &[u8], _out: &mut Vec<Txn>) {}
    fn close(&mut self, _ts_ns: i64, _out: &mut Vec<Txn>) {}
}
