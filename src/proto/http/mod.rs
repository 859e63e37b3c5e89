//! HTTP/1.0 and HTTP/1.1 over TCP.
//!
//! Each direction of a connection is a stream of messages: a head (start line and headers,
//! parsed with `httparse` in [`head`]) and a body framed by `Content-Length`, chunked
//! transfer coding or the end of the connection (decoded incrementally in [`body`]; bodies are
//! never buffered, only optionally captured up to a limit). Whether a message is a request or a
//! response comes from its start line, not from the direction, so a capture that starts with
//! the server's bytes still pairs correctly.
//!
//! Pairing: a request joins the pending queue when its head is read; the first final response
//! takes the oldest pending request (pipelining and keep-alive give many transactions per
//! connection). Interim 1xx responses (100-continue) are recorded on that request and do not
//! end it. A `101 Switching Protocols`, or a 2xx answer to `CONNECT`, ends HTTP on the
//! connection: both directions are ignored from there on. A request asking for an upgrade
//! (or a `CONNECT`) holds what its sender sends next until the response says whether HTTP goes
//! on.
//!
//! Lost bytes (`gap`): inside a body of known length the body is skipped by the gap's length and
//! parsing goes on; anywhere else the stream resynchronises on the next line that is a plausible
//! request or status line.
//!
//! Limits (each counted in `ParserCounters::limit_hits` and noted on the event): header count
//! (`max_headers`), header block size (`max_header_bytes`, the rest of the block is skipped),
//! pending requests (`limits.max_pending`, the oldest is published unanswered), bytes held per
//! direction (`limits.max_buffer_bytes`), captured body bytes (`max_body_bytes`).
//!
//! Field names: ECS (`http.*`, `url.*`, `user_agent.original`) where ECS has them; the header
//! maps `http.request.headers.<lowercase name>` / `http.response.headers.*` and
//! `http.response.status_phrase` are Packetbeat's names (custom fields, see [`CUSTOM_FIELDS`]).
//!
//! Files: `parser.rs` (the probe and the byte scans for resynchronisation; pure, like `head.rs`,
//! `body.rs` and `url.rs` beside it), `session.rs` (the per-connection state machine and
//! pairing), `fields.rs` (the ECS fields).

mod body;
mod fields;
mod head;
mod parser;
mod session;
mod url;

pub use fields::*;
pub use parser::probe;
pub use session::HttpParser;

use super::{Protocol, Transport};
use serde::{Deserialize, Serialize};

/// Dataset of this protocol's events.
pub const DATASET: &str = "network_traffic.http";

pub static PROTOCOL: Protocol = Protocol {
    name: "http",
    dataset: DATASET,
    transports: &[Transport::Tcp],
    default_ports: &[80, 8080, 8000, 5000, 8002, 3128],
    probe,
    custom_fields: CUSTOM_FIELDS,
    in_content: true,
    make: |ctx| Box::new(HttpParser::new(ctx)),
};

/// `wirebeat.protocols.http`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    pub ports: Vec<u16>,
    /// Headers (case-insensitive names) published as `http.request.headers.<name>` and
    /// `http.response.headers.<name>`; repeated headers are joined with ", ".
    pub send_headers: Vec<String>,
    /// Publish every header (still subject to `redact_headers`).
    pub send_all_headers: bool,
    /// Headers whose value is replaced by `*` (for `Authorization`-type headers the scheme is
    /// kept: `Basic *`), so their presence stays visible without the secret.
    pub redact_headers: Vec<String>,
    /// MIME types (or prefixes such as `text/`) whose bodies are captured into
    /// `http.*.body.content`. Empty: no body capture.
    pub include_body_for: Vec<String>,
    /// Bytes of a body captured at most (also bounded by `wirebeat.streams.max_buffer_bytes`).
    pub max_body_bytes: usize,
    /// Headers per message kept at most; more are counted and the message is flagged.
    pub max_headers: usize,
    /// Size of a header block kept at most; the rest is skipped, counted and flagged.
    pub max_header_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            ports: PROTOCOL.default_ports.to_vec(),
            send_headers: [
                "host",
                "user-agent",
                "referer",
                "content-type",
                "content-length",
                "content-encoding",
                "transfer-encoding",
                "location",
                "server",
                "x-forwarded-for",
                "upgrade",
                "authorization",
                "proxy-authorization",
                "cookie",
                "set-cookie",
            ]
            .map(String::from)
            .to_vec(),
            send_all_headers: false,
            redact_headers: ["authorization", "proxy-authorization", "cookie", "set-cookie"]
                .map(String::from)
                .to_vec(),
            include_body_for: Vec::new(),
            max_body_bytes: 64 * 1024,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Most `max_body_bytes`, `max_header_bytes`: what one message may hold in memory; both are
/// also bounded by `wirebeat.streams.max_buffer_bytes`.
pub const MAX_MESSAGE_PART_BYTES: usize = 64 << 20;

/// Most `max_headers` kept per message.
pub const MAX_HEADERS: usize = 10_000;

impl Config {
    /// Pure checks (keys relative to `wirebeat.protocols.http`). `max_body_bytes: 0` captures
    /// no body.
    pub fn validate(&self) -> Result<(), crate::units::Invalid> {
        use crate::units::Invalid;
        Invalid::in_range("max_body_bytes", self.max_body_bytes, 0..=MAX_MESSAGE_PART_BYTES)?;
        Invalid::in_range("max_headers", self.max_headers, 0..=MAX_HEADERS)?;
        Invalid::in_range("max_header_bytes", self.max_header_bytes, 1..=MAX_MESSAGE_PART_BYTES)
    }
}

#[cfg(test)]
mod tests;
