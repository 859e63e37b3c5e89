//! Redis: RESP2 and RESP3 over TCP.
//!
//! The client sends commands (RESP arrays of bulk strings, or inline text lines), the server
//! answers each with one reply, in order: pairing is FIFO, so pipelined commands pair with
//! their replies by position. Exceptions handled:
//! - `CLIENT REPLY OFF` / `SKIP` / `ON`: commands the server will not answer are published at
//!   once, without a reply (noted);
//! - pub/sub: messages pushed to a subscriber (`message`, `pmessage`, `smessage` arrays in
//!   RESP2, every `>` push that is not a subscription confirmation in RESP3) are not replies and
//!   are not paired; a `SUBSCRIBE` of n channels gets n confirmations, the first completes it;
//! - RESP3 attributes (`|`) before a reply are skipped;
//! - `AUTH` and `HELLO … AUTH` are logins (`Txn::auth`), their secrets masked.
//!
//! Lost bytes or a malformed message put the direction out of sync: its bytes are dropped up to
//! a segment that starts like a message, and the pending commands are published unanswered
//! (pairing by position is lost).
//!
//! Limits (counted in `ParserCounters::limit_hits`): `limits.max_buffer_bytes` per direction,
//! `limits.max_pending` commands awaiting replies, `max_args` / `max_arg_length` kept per
//! command (noted by `args_truncated`).

mod fields;
mod parser;
mod session;

pub use fields::{Fields, NetworkTraffic, RedisFields, CUSTOM_FIELDS};
pub use parser::{parse_command, parse_reply, Keep, Kind, Message};
pub use session::RedisParser;

use super::{Dir, Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.redis";

pub static PROTOCOL: Protocol = Protocol {
    name: "redis",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[6379],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(RedisParser::new(ctx)),
};

/// Content probe: a client's first bytes are a RESP array of bulk strings (`*<n>\r\n$`).
fn probe(t: Transport, dir: Dir, b: &[u8]) -> bool {
    if t != Transport::Tcp || dir != Dir::ToServer {
        return false;
    }
    let Some(rest) = b.strip_prefix(b"*") else { return false };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=6).contains(&digits) && rest.get(digits..digits + 3) == Some(b"\r\n$")
}

/// `wirebeat.protocols.redis`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// TCP ports (default 6379).
    pub ports: Vec<u16>,
    /// Arguments of a command kept in `network_traffic.redis.args` and `query`.
    pub max_args: usize,
    /// Bytes of each kept argument.
    pub max_arg_length: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            ports: PROTOCOL.default_ports.to_vec(),
            max_args: 32,
            // Scripts (EVAL) are matched on by detection rules: keep them readable.
            max_arg_length: 1024,
        }
    }
}

#[cfg(test)]
mod tests;
