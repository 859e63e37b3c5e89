//! IMAP (RFC 9051, RFC 3501), a light parser: one event per tagged command with its tagged
//! completion (`OK`/`NO`/`BAD`), paired by tag; the greeting as its own event. Untagged
//! responses are counted on the command that was running, and literals (`{n}`, `{n+}`) are
//! skipped by count on both sides, so FETCH bodies are never buffered nor emitted and a literal
//! argument never desynchronises the parser. `LOGIN` and `AUTHENTICATE` are logins
//! (`Txn::auth`); `LOGIN`'s user goes to `user.name`, the password is never kept (nor any SASL
//! data). `STARTTLS` answered `OK` hands the connection to TLS.

mod fields;
mod parser;
mod session;

pub use fields::{Fields, ImapFields, NetworkTraffic, User, CUSTOM_FIELDS};
pub use parser::{first_astring, literal_at_end, parse_command, parse_response, Command, Response};
pub use session::ImapParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.imap";

pub static PROTOCOL: Protocol = Protocol {
    name: "imap",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[143],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(ImapParser::new(ctx)),
};

/// Content probe: a greeting `* OK` / `* PREAUTH` naming IMAP on its first line, or a client's
/// first tagged `CAPABILITY`, `LOGIN`, `AUTHENTICATE` or `STARTTLS`.
fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    if t != Transport::Tcp {
        return false;
    }
    let first = b.split(|c| *c == b'\n').next().unwrap_or_default();
    match dir {
        Dir::ToClient => {
            (first.starts_with(b"* OK") || first.starts_with(b"* PREAUTH"))
                && first.windows(4).any(|w| w.eq_ignore_ascii_case(b"IMAP"))
        }
        Dir::ToServer => {
            let l = first.strip_suffix(b"\r").unwrap_or(first);
            parse_command(l).is_some_and(|c| {
                matches!(c.name.as_str(), "CAPABILITY" | "LOGIN" | "AUTHENTICATE" | "STARTTLS")
            })
        }
    }
}

/// `wirebeat.protocols.imap`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default 143).
    pub ports: Vec<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config { enabled: true, ports: PROTOCOL.default_ports.to_vec() }
    }
}

#[cfg(test)]
mod tests;
