//! PostgreSQL frontend/backend protocol version 3 over TCP (Packetbeat's `pgsql`).
//!
//! A connection starts with the client's untyped startup packet: a StartupMessage (user,
//! database, application_name), or an SSLRequest/GSSENCRequest first, which the server answers
//! with one byte: `S`/`G` (the rest is encrypted: the login transaction is published noting the
//! upgrade; after `S` the rest of the connection goes to the TLS parser, when TLS is enabled, so
//! the handshake becomes a `network_traffic.tls` event) or `N` (the StartupMessage follows in
//! the clear). A CancelRequest is a connection of its own, published as a `CANCEL` transaction.
//!
//! Transactions:
//! - the login (`method: LOGIN`): from the startup packet through authentication (cleartext,
//!   MD5, SASL/SCRAM, GSS) to the first ReadyForQuery (`Txn::auth = Success`) or the
//!   ErrorResponse that refuses it (`event.outcome: failure`; SQLSTATE class 28, i.e. 28000 or
//!   28P01 invalid_password, also sets `Txn::auth = Failure` for brute-force detection);
//! - one per query cycle: a simple Query, or extended-protocol messages (Parse, Bind, Describe,
//!   Execute, …) up to their Sync, each answered by exactly one ReadyForQuery; rows and fields
//!   of RowDescription/DataRow are counted, CommandComplete tags kept, ErrorResponse becomes
//!   `error.*` and `status: Error`. Named prepared statements are remembered (bounded by
//!   [`session::MAX_STATEMENTS`]) so an Execute of one shows its query text. Cycles pipeline:
//!   they wait in order for their ReadyForQuery (bounded by `streams.max_pending_transactions`).
//!
//! Limits: COPY data and DataRow bodies are never buffered (only counted, streamed through);
//! any other message larger than `streams.max_buffer_bytes` is skipped, counted and noted; query
//! text is cut at `max_query_length`. Malformed bytes or lost bytes outside a skipped body end
//! the reading of that direction (counted and noted): framing cannot be recovered reliably.
//!
//! Fields: ECS `user.name`, `error.code` (SQLSTATE), `error.message`; Packetbeat's top-level
//! `method` (first SQL keyword, uppercased), `query` (the SQL text) and `status`; the
//! protocol's own under `network_traffic.pgsql.*` ([`CUSTOM_FIELDS`]).

mod fields;
mod parser;
mod session;

pub use fields::*;
pub use parser::{backend, frame, frontend, probe, startup_frame, Backend, Frontend, Startup};
pub use session::{first_keyword, PgsqlParser};

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.pgsql";

pub static PROTOCOL: Protocol = Protocol {
    name: "pgsql",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[5432],
    probe: |_, dir, b| dir == super::Dir::ToServer && probe(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(PgsqlParser::new(ctx)),
};

/// `wirebeat.protocols.pgsql`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default: 5432).
    pub ports: Vec<u16>,
    /// Bytes of SQL text kept per query (`query`, `network_traffic.pgsql.query`); longer text is
    /// cut and the event notes it. Also bounded by `wirebeat.streams.max_buffer_bytes`.
    pub max_query_length: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec(), max_query_length: 8192 }
    }
}

#[cfg(test)]
mod tests;
