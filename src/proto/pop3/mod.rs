//! POP3 (RFC 1939, with CAPA and pipelining from RFC 2449, AUTH from RFC 5034 and STLS from
//! RFC 2595), a light parser: one event per command with its `+OK`/`-ERR` status line, paired
//! in order, and one for the greeting. Multi-line responses (RETR, TOP, LIST, UIDL, CAPA) are
//! skipped up to their lone `.` and counted (`network_traffic.pop3.data_bytes`), never emitted.
//! `PASS`, `APOP` and `AUTH` are logins (`Txn::auth`); the user of USER / APOP / AUTH PLAIN goes
//! to `user.name`, never the password nor any SASL data. `STLS` answered `+OK` hands the
//! connection to TLS.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, NetworkTraffic, Pop3Fields, User, CUSTOM_FIELDS};
pub use parser::{multi_line, parse_command, parse_status, Command, Status};
pub use session::Pop3Parser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.pop3";

pub static PROTOCOL: Protocol = Protocol {
    name: "pop3",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[110],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(Pop3Parser::new(ctx)),
};

/// Content probe: a greeting `+OK` naming POP on its first line.
fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    let first = b.split(|c| *c == b'\n').next().unwrap_or_default();
    t == Transport::Tcp
        && dir == Dir::ToClient
        && first.starts_with(b"+OK")
        && first.windows(3).any(|w| w.eq_ignore_ascii_case(b"POP"))
}

/// `wirebeat.protocols.pop3`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default 110).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
