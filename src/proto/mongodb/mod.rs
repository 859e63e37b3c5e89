//! MongoDB wire protocol over TCP.
//!
//! Every message starts with a 16-byte little-endian header (length, requestID, responseTo,
//! opCode). Modern drivers send OP_MSG (a body document, optional document sequences, an
//! optional CRC-32C); older ones OP_QUERY on `<db>.$cmd` answered by OP_REPLY, and the legacy
//! OP_INSERT / OP_UPDATE / OP_DELETE / OP_GET_MORE / OP_KILL_CURSORS. OP_COMPRESSED wraps any
//! of them: noop and zlib bodies are opened (zlib through flate2), snappy and zstd are noted
//! "compressed body (…) not decoded" and the message still pairs by its header.
//!
//! Pairing: a reply's `responseTo` names the request's `requestID` (see `session.rs`); a reply
//! whose request was not seen is published alone, noted and counted unmatched.
//!
//! The event: Packetbeat's `method` (the command: the first key of the command document,
//! `find`, `insert`, `drop`, `dropDatabase`, …; `find` for a legacy query on a collection),
//! `resource` (`db.collection`), `query` (the command document as compact JSON, at most
//! `max_doc_length` bytes), `status` Error when the reply says `ok: 0` or `$err` (with
//! `error.code` / `error.message`), and under `network_traffic.mongodb.*` Packetbeat's fields
//! (`fullCollectionName`, `numberToSkip`, `numberToReturn`, `numberReturned`, `startingFrom`,
//! `returnFieldsSelector`, `selector`, `update`, `cursorId`, `error`) plus `method`, `resource`
//! and `query` where the Network Packet Capture integration puts them. A failed `saslStart` /
//! `saslContinue` / `authenticate` is a failed login (`Txn::auth`), with the SCRAM user name
//! in `user.name`.
//!
//! Files: `parser.rs` (header and opcode bodies), `bson.rs` (the bounded BSON reader and
//! JSON rendering), `session.rs` (pairing, limits), `fields.rs`.

mod bson;
mod fields;
mod parser;
mod session;

pub use fields::*;
pub use session::MongodbParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.mongodb";

pub static PROTOCOL: Protocol = Protocol {
    name: "mongodb",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[27017],
    probe: |t, dir, b| t == Transport::Tcp && dir == super::Dir::ToServer && parser::probe(b),
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(MongodbParser::new(ctx)),
};

/// `wirebeat.protocols.mongodb`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub ports: Vec<u16>,
    /// Bytes of a document rendered into `query`, `selector`, `update` and
    /// `returnFieldsSelector` at most (longer ones are cut and end with `…`).
    pub max_doc_length: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec(), max_doc_length: 5000 }
    }
}

#[cfg(test)]
mod tests;
