//! SMTP (RFC 5321) with STARTTLS (RFC 3207), AUTH (RFC 4954), CHUNKING/BDAT (RFC 3030) and
//! PIPELINING (RFC 2920).
//!
//! One event per command, paired in order with its reply (pipelined commands pair by
//! position; a multi-line `250-` reply is one reply), plus one for the server's greeting.
//! `MAIL FROM` and `RCPT TO` carry their address in `email.from.address` / `email.to.address`;
//! the command that ends a mail transaction (`DATA`, `BDAT … LAST`) carries the whole envelope,
//! the message's `Subject` and `Message-ID` when its headers show them, and the message size
//! (`network_traffic.smtp.message_bytes`): the message itself is counted, never emitted.
//! `DATA` keeps its 354 as `intermediate_code` and takes the reply after the final dot.
//! `AUTH` is a login (`Txn::auth`: 235 success, 4xx/5xx failure): the mechanism and the user
//! name of PLAIN/LOGIN are kept, never the password or other SASL data. `STARTTLS` answered 220
//! hands the connection to TLS ([`crate::proto::Handoff`]).
//!
//! Limits: `limits.max_buffer_bytes` per direction, `limits.max_pending` commands awaiting a
//! reply, the transaction timeout from the last byte of a command's exchange.

mod fields;
pub(crate) mod parser;
mod session;

pub use fields::{Addresses, Email, Fields, NetworkTraffic, Response, SmtpFields, User, CUSTOM_FIELDS};
pub use parser::{
    line, login_user, parse_command, parse_reply, path_address, plain_user, Command, Headers, Reply,
};
pub use session::SmtpParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.smtp";

pub static PROTOCOL: Protocol = Protocol {
    name: "smtp",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[25, 587, 2525],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(SmtpParser::new(ctx)),
};

fn starts_ci(b: &[u8], p: &[u8]) -> bool {
    b.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
}

/// Content probe: a server greeting `220` naming SMTP on its first line, or a client's first
/// `EHLO`/`HELO`.
fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    if t != Transport::Tcp {
        return false;
    }
    match dir {
        Dir::ToServer => starts_ci(b, b"EHLO ") || starts_ci(b, b"HELO "),
        Dir::ToClient => {
            let first = b.split(|c| *c == b'\n').next().unwrap_or_default();
            (starts_ci(b, b"220 ") || starts_ci(b, b"220-"))
                && first.windows(4).any(|w| w.eq_ignore_ascii_case(b"SMTP"))
        }
    }
}

/// `wirebeat.protocols.smtp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default 25, 587 and 2525).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
