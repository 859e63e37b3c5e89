//! FTP control connections (RFC 959, with the RFC 2228 `AUTH`, RFC 2428 `EPRT`/`EPSV` and
//! RFC 3659 `SIZE`/`MDTM`/`MLSD` extensions): one event per command with its final reply.
//!
//! - `parser.rs`: a command line (`RETR file\r\n`) or a whole reply, single- or multi-line
//!   (`211-Features:` … `211 End`);
//! - `session.rs`: pairs each command with its final reply (1xx replies are preliminary and
//!   kept on the event), logins (`Txn.auth`), file names, data endpoints from `PORT`/`EPRT`
//!   and the `227`/`229` replies to `PASV`/`EPSV`, and the hand-off to TLS after `AUTH TLS`
//!   answered `234`;
//! - `fields.rs`: ECS `user.name`, `file.*` and `network_traffic.ftp.*`.
//!
//! `PASS` arguments are never kept: the event only says a password was sent.

mod fields;
mod parser;
mod session;

pub use fields::{DataEndpoint, Fields, FtpFields, NetworkTraffic, CUSTOM_FIELDS};
pub use parser::{parse_command, parse_reply, Command, Reply};
pub use session::FtpParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.ftp";

pub static PROTOCOL: Protocol = Protocol {
    name: "ftp",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[21],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(FtpParser::new(ctx)),
};

/// Content probe, strict because SMTP also greets with `220` and POP3 clients also send
/// `USER`: a `220` greeting whose first line names FTP, or a client's `AUTH TLS` (SMTP uses
/// `STARTTLS`).
fn probe(_: Transport, dir: Dir, b: &[u8]) -> bool {
    match dir {
        Dir::ToClient => {
            let first = b.split(|&c| c == b'\n').next().unwrap_or_default();
            (b.starts_with(b"220 ") || b.starts_with(b"220-"))
                && first.windows(3).any(|w| w.eq_ignore_ascii_case(b"ftp"))
        }
        Dir::ToServer => b.len() >= 8 && b[..8].eq_ignore_ascii_case(b"AUTH TLS"),
    }
}

/// `wirebeat.protocols.ftp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports of FTP control connections (default: 21).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
