//! MySQL and MariaDB client/server protocol over TCP.
//!
//! Framing: every packet is a 3-byte little-endian length and a sequence id; a payload of
//! 0xffffff bytes continues in the next packet ([`parser::packet`] joins them). A connection
//! starts with the server's greeting (protocol 10: version, connection id, capabilities, auth
//! plugin), the client's HandshakeResponse41 (user, database, plugin) or SSLRequest (the rest
//! is TLS: the login transaction is published with the note "TLS upgrade" and the flow is no
//! longer parsed), then an auth exchange (auth switch, caching_sha2 fast/full auth) that an OK
//! or an ERR ends. After that each command (sequence id 0 from the client) is one transaction,
//! answered by OK, ERR, a result set (column count, column definitions, rows until EOF, or
//! until an OK with header 0xfe under CLIENT_DEPRECATE_EOF), a prepare OK (statement id,
//! parameter and column definitions) or nothing (COM_QUIT, COM_STMT_CLOSE, SEND_LONG_DATA).
//!
//! Transactions: one per command, and one `LOGIN` transaction for the handshake (and one per
//! COM_CHANGE_USER), whose `Txn::auth` is `Failure` on an ERR (1045 access denied and any other
//! ERR during auth), `Success` on OK, `Unknown` when the answer was not seen (TLS upgrade).
//! Prepared statements map their id to the prepared SQL so COM_STMT_EXECUTE shows the query.
//! Packetbeat's top-level fields: `method` is the first SQL keyword uppercased (`SELECT`) or
//! the command without `COM_` (`PING`, `QUIT`, `LOGIN`), `query` the SQL text (or the command
//! name), `resource` the table of a simple statement when cheap to see.
//!
//! Limits, each counted in `ParserCounters::limit_hits` and noted: bytes held per direction
//! (`streams.max_buffer_bytes`: a larger packet is read from its first bytes and the rest
//! skipped), pending commands (`streams.max_pending_transactions`), query text kept
//! (`max_query_length`), rows counted (`max_rows`), prepared statements remembered per
//! connection (`max_prepared_statements`).
//!
//! Files: `parser.rs` (pure packet decoders), `session.rs` (the per-connection state and
//! pairing), `fields.rs` (the fields).

mod fields;
pub mod parser;
mod session;

pub use fields::*;
pub use session::MysqlParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.mysql";

pub static PROTOCOL: Protocol = Protocol {
    name: "mysql",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[3306, 3307],
    probe: parser::probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(MysqlParser::new(ctx)),
};

/// `wirebeat.protocols.mysql`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default: 3306 and 3307, as Packetbeat and the Elastic integration).
    pub ports: Vec<u16>,
    /// Bytes of SQL text kept per transaction (`query`); longer text is cut and noted.
    pub max_query_length: usize,
    /// Rows counted per result set (`num_rows`); beyond it counting stops and it is noted.
    pub max_rows: u64,
    /// Prepared statements remembered per connection (id → SQL); beyond it new ones are not
    /// remembered (their executions show no query) and it is counted.
    pub max_prepared_statements: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            ports: PROTOCOL.default_ports.to_vec(),
            max_query_length: 4096,
            max_rows: 10_000_000,
            max_prepared_statements: 1024,
        }
    }
}

#[cfg(test)]
mod tests;
