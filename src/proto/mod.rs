//! Application protocols: the registry, the parser contract, and transactions.
//!
//! Parsers know nothing of pcap, threads, flows, ECS or outputs: the flow layer hands them
//! ordered bytes per direction (TCP through [`stream::Reassembler`], UDP one datagram at a time,
//! ICMP one message at a time) and the packet clock; they return [`Txn`]s, which `ecs` turns
//! into events. So this module imports, of the crate, only the leaf modules `bytes`, `units`,
//! `time` and `community_id` (`flow` and `ecs` import `proto`, never the reverse).
//!
//! Every protocol has one shape, `src/proto/<name>/`:
//! - `mod.rs`: the descriptor [`Protocol`] (`pub static PROTOCOL`: name, dataset, transports,
//!   default ports, probe, custom fields, constructor) and the protocol's `Config`, the section
//!   `wirebeat.protocols.<name>` (`enabled`, `ports` and its options; `deny_unknown_fields`,
//!   defaults named in `Default`);
//! - `parser.rs`: pure, bytes in and messages out through [`crate::bytes`]; `Incomplete` is not
//!   `Malformed`, anomalies become notes, no input panics (more pure files may sit beside it:
//!   `dns/rdata.rs`, `tls/hello.rs`, `http/head.rs`, …);
//! - `session.rs`: the per-flow [`Parser`]: request/response pairing into [`Txn`]s, the
//!   [`Limits`], the [`ParserCounters`];
//! - `fields.rs`: the ECS `Fields` struct flattened into the event, and `CUSTOM_FIELDS`, the
//!   fields outside ECS it emits (mapped by the index templates);
//! - `tests.rs`: its unit tests (a single-file module keeps its own at its bottom).
//!
//! The descriptor is the only registry. The one list in `registry!` below generates the
//! modules, the [`Protocols`] config struct, [`PROTOCOLS`] and the [`ProtoFields`] enum;
//! [`custom_fields`] (index templates, field test) and [`content_datasets`] (Kibana) read the
//! descriptors. `template/` is a complete protocol to copy, kept compiling and tested.
//!
//! Adding a protocol `<name>`:
//! 1. Copy `src/proto/template/` to `src/proto/<name>/`; in it rename `template`/`Template`,
//!    set the descriptor (name, `DATASET`, transports, default ports, probe, `in_content:
//!    true`) and the `Config` options.
//! 2. Write `parser.rs`, the pairing in `session.rs`, and `Fields` and `CUSTOM_FIELDS` in
//!    `fields.rs`; unit tests in `tests.rs` (every prefix of a message is `Incomplete`).
//! 3. Add one line `<name>: <Variant>,` to the list in `registry!` below. Its order is the
//!    order of content probes and of the config sections.
//!
//! That is the whole code change. Then, outside the code: `UPDATE_CONTENT=1 cargo test --test
//! content_elasticsearch --test content_kibana` regenerates the checked-in Elastic content,
//! `tests/proto_<name>.rs` compares with the tshark truth of the corpus, a capture goes into
//! `tests/golden.rs`, and `packaging/wirebeat.yml` documents the section.

pub mod stream;

use serde::{Deserialize, Serialize};

/// Direction of bytes relative to the flow's initiator (the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
}

/// (dotted name, Elasticsearch type, description) of a field outside ECS.
pub type CustomField = (&'static str, &'static str, &'static str);

/// One protocol: everything the rest of wirebeat knows about it. Each protocol module defines
/// one as `pub static PROTOCOL` and `registry!` lists it.
pub struct Protocol {
    /// `network.protocol` and `type` of its events, and its config key.
    pub name: &'static str,
    /// `data_stream.dataset` of its events, e.g. `network_traffic.dns`.
    pub dataset: &'static str,
    pub transports: &'static [Transport],
    /// Ports of the default configuration (`Config::default` uses them).
    pub default_ports: &'static [u16],
    /// Content check on the first bytes a side sent (client first), for flows whose ports did
    /// not match any protocol.
    pub probe: fn(Transport, Dir, &[u8]) -> bool,
    /// Fields outside ECS its events carry, for the index templates and the field test.
    pub custom_fields: &'static [CustomField],
    /// False only for the template: an example kept compiling, not a product, so its dataset
    /// and fields stay out of the Elastic content (index templates, dashboards).
    pub in_content: bool,
    /// A parser for one flow.
    pub make: fn(&ParserContext<'_>) -> Box<dyn Parser>,
}

/// Per-flow limits every parser honours; each has a counter when hit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes a parser may buffer per direction while a message is incomplete.
    pub max_buffer_bytes: usize,
    /// Requests waiting for a response per flow; beyond it the oldest is published unanswered.
    pub max_pending: usize,
    /// A request unanswered this long (packet time) is published without a response.
    pub transaction_timeout_ns: i64,
    /// Memory (segment bytes plus per-segment overhead) held for out-of-order TCP segments per
    /// direction before the hole becomes a gap; also the window beyond which a segment is
    /// dropped.
    pub max_out_of_order_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Streams::default().limits()
    }
}

/// `wirebeat.streams`: per-flow limits of the application layer; each has a counter when hit.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Streams {
    /// Memory held for out-of-order segments per TCP direction (bytes plus per-segment
    /// overhead) before the hole is given up as a gap.
    pub max_out_of_order_bytes: usize,
    /// Bytes a parser buffers per direction for one incomplete message.
    pub max_buffer_bytes: usize,
    /// Requests waiting for their response per flow.
    pub max_pending_transactions: usize,
    /// A request unanswered this long is published without a response.
    pub transaction_timeout: crate::units::Duration,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            max_out_of_order_bytes: 1 << 20,
            max_buffer_bytes: 1 << 20,
            max_pending_transactions: 64,
            transaction_timeout: crate::units::Duration::from_secs(10),
        }
    }
}

/// Most bytes `streams.max_buffer_bytes` and `streams.max_out_of_order_bytes` allow: both are
/// per flow direction, so a few thousand busy flows at 64 MiB are already the machine's memory.
pub const MAX_STREAM_BYTES: usize = 64 << 20;

/// Most `streams.max_pending_transactions`: a request is held until its answer, and a peer
/// that pipelines more than this is not waiting for answers.
pub const MAX_PENDING_TRANSACTIONS: usize = 65_536;

/// Longest `streams.transaction_timeout`: an answer later than an hour is not one.
pub const MAX_TRANSACTION_TIMEOUT: crate::units::Duration = crate::units::Duration::from_secs(3600);

impl Streams {
    /// Pure checks of `wirebeat.streams` (keys relative to it).
    pub fn validate(&self) -> Result<(), crate::units::Invalid> {
        use crate::units::{Duration, Invalid};
        Invalid::positive("max_buffer_bytes", self.max_buffer_bytes > 0)?;
        Invalid::in_range("max_buffer_bytes", self.max_buffer_bytes, 1..=MAX_STREAM_BYTES)?;
        Invalid::positive("max_out_of_order_bytes", self.max_out_of_order_bytes > 0)?;
        Invalid::in_range(
            "max_out_of_order_bytes",
            self.max_out_of_order_bytes,
            1..=MAX_STREAM_BYTES,
        )?;
        Invalid::positive("max_pending_transactions", self.max_pending_transactions > 0)?;
        Invalid::in_range(
            "max_pending_transactions",
            self.max_pending_transactions,
            1..=MAX_PENDING_TRANSACTIONS,
        )?;
        Invalid::positive("transaction_timeout", !self.transaction_timeout.0.is_zero())?;
        Invalid::duration_in(
            "transaction_timeout",
            self.transaction_timeout,
            Duration(std::time::Duration::from_millis(1))..=MAX_TRANSACTION_TIMEOUT,
            None,
        )
    }

    /// The limits the parsers and the reassembler apply.
    pub fn limits(&self) -> Limits {
        Limits {
            max_buffer_bytes: self.max_buffer_bytes,
            max_pending: self.max_pending_transactions,
            transaction_timeout_ns: self.transaction_timeout.as_nanos(),
            max_out_of_order_bytes: self.max_out_of_order_bytes,
        }
    }
}

/// Everything a protocol constructor may need.
pub struct ParserContext<'a> {
    /// Every protocol's section; a protocol reads its own (`config.<name>`).
    pub config: &'a Protocols,
    pub limits: &'a Limits,
    pub transport: Transport,
    /// IP protocol number of the flow (1 ICMP, 58 ICMPv6, 6, 17; 0 when unknown).
    pub ip_proto: u8,
}

/// The parser contract. One instance per flow; `dir` tells which side sent the bytes.
pub trait Parser: Send {
    /// Ordered bytes of one direction (TCP) or one datagram (UDP) or one ICMP message.
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>);
    /// `len` bytes of this direction were lost (TCP only).
    fn gap(&mut self, _dir: Dir, _len: u64) {}
    /// The packet clock moved on: publish timed-out requests.
    fn tick(&mut self, _now_ns: i64, _out: &mut Vec<Txn>) {}
    /// The flow ended: publish whatever is pending.
    fn close(&mut self, ts_ns: i64, out: &mut Vec<Txn>);
    /// Asked after each delivery of bytes: `Some(Handoff::Switched)` once the rest of the
    /// stream is another protocol (HTTP `CONNECT` answered 2xx, `101 Switching Protocols`,
    /// STARTTLS accepted). The flow layer then closes this parser and picks the next one by
    /// content from the bytes that follow.
    fn handoff(&mut self) -> Option<Handoff> {
        None
    }
    /// Anomaly and limit counters of this parser, drained by the worker.
    fn take_counters(&mut self) -> ParserCounters {
        ParserCounters::default()
    }
}

crate::stats::local_counters! {
    pub struct ParserCounters {
        messages => app_messages,
        malformed => app_malformed,
        /// Limit hits: buffer full, too many pending requests, header count/size.
        limit_hits => app_limit_hits,
        unmatched => app_unmatched,
    }
}

/// What [`Parser::handoff`] tells the flow layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// This protocol ended; what follows in both directions is another one.
    Switched,
}

/// `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

/// A request/response pair (or a lone message) ready to become an ECS event.
#[derive(Debug, Clone)]
pub struct Txn {
    /// `network.protocol`, e.g. "dns".
    pub protocol: &'static str,
    /// `data_stream.dataset`, e.g. "network_traffic.dns".
    pub dataset: &'static str,
    /// First packet of the request (of the response when there was no request).
    pub start_ns: i64,
    /// Last packet of the response, when there was one.
    pub end_ns: Option<i64>,
    /// Bytes the client and the server sent for this transaction (application bytes).
    pub client_bytes: u64,
    pub server_bytes: u64,
    pub outcome: Outcome,
    /// Set by a parser whose transaction is a login (FTP `PASS`, a PostgreSQL/MySQL startup,
    /// SMB session setup, Kerberos AS/TGS): `Failure` when refused (FTP 530, PostgreSQL 28P01,
    /// MySQL 1045, `STATUS_LOGON_FAILURE`, `KDC_ERR_PREAUTH_FAILED`), `Success`, or `Unknown`
    /// when the outcome was not seen. `detect::brute_force` counts these; `None`: not a login.
    pub auth: Option<Outcome>,
    /// Packetbeat's `status` ("OK", "Error", …).
    pub status: &'static str,
    /// Packetbeat's top-level `method` (the verb: `GET`, `QUERY`, `SELECT`, `SET`, …), `query`
    /// (the request as a person reads it: `GET /index.html`, the SQL text, `SET key`) and
    /// `resource` (what it is about: the URL path, the DNS name, the key, the table). Old
    /// Packetbeat dashboards and saved searches read them; `None` leaves the field out.
    pub method: Option<String>,
    pub query: Option<String>,
    pub resource: Option<String>,
    /// Notes such as "response without request" or "bytes missing"; become `event.reason`.
    pub notes: Vec<String>,
    /// Host names for `related.hosts`, hashes for `related.hash`.
    pub related_hosts: Vec<String>,
    pub related_hashes: Vec<String>,
    /// The server's name when the protocol tells it (HTTP Host, TLS SNI): `server.domain`
    /// and `destination.domain`.
    pub server_domain: Option<String>,
    /// The protocol's own fields, serialized at the top level of the event.
    pub fields: ProtoFields,
}

impl Txn {
    /// A transaction of `protocol` starting at `start_ns`, with nothing seen yet but its fields.
    pub fn new(protocol: &'static Protocol, start_ns: i64, fields: impl Into<ProtoFields>) -> Self {
        Txn {
            protocol: protocol.name,
            dataset: protocol.dataset,
            start_ns,
            end_ns: None,
            client_bytes: 0,
            server_bytes: 0,
            outcome: Outcome::Unknown,
            auth: None,
            status: "OK",
            method: None,
            query: None,
            resource: None,
            notes: Vec::new(),
            related_hosts: Vec::new(),
            related_hashes: Vec::new(),
            server_domain: None,
            fields: fields.into(),
        }
    }
}

/// Generates, from one line `<module>: <Variant>` per protocol, everything that lists the
/// protocols: the modules, [`Protocols`], [`PROTOCOLS`] and [`ProtoFields`]. A protocol module
/// must define `PROTOCOL: Protocol`, `Config` (with `enabled` and `ports`) and `Fields`.
macro_rules! registry {
    ($($module:ident: $variant:ident,)*) => {
        $(pub mod $module;)*

        /// `wirebeat.protocols`: one section per protocol, each the protocol's own `Config`.
        #[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct Protocols {
            $(pub $module: $module::Config,)*
        }

        impl Protocols {
            /// (enabled, ports) of every protocol, in the order of [`PROTOCOLS`].
            pub fn settings(&self) -> Vec<(bool, &[u16])> {
                vec![$((self.$module.enabled, self.$module.ports.as_slice()),)*]
            }
        }

        /// The registry: the one list of protocols. Port lookups and probes go in this order.
        pub static PROTOCOLS: &[&Protocol] = &[$(&$module::PROTOCOL,)*];

        /// Per-protocol fields; each variant serializes to its top-level ECS objects. Boxed so
        /// a [`Txn`] stays small whatever the protocol.
        #[derive(Debug, Clone, Serialize)]
        #[serde(untagged)]
        pub enum ProtoFields {
            $($variant(Box<$module::Fields>),)*
        }

        $(impl From<$module::Fields> for ProtoFields {
            fn from(f: $module::Fields) -> Self {
                ProtoFields::$variant(Box::new(f))
            }
        })*
    };
}

registry! {
    dns: Dns,
    http: Http,
    tls: Tls,
    icmp: Icmp,
    dhcpv4: Dhcpv4,
    mysql: Mysql,
    amqp: Amqp,
    thrift: Thrift,
    pgsql: Pgsql,
    mongodb: Mongodb,
    cassandra: Cassandra,
    redis: Redis,
    memcache: Memcache,
    nfs: Nfs,
    sip: Sip,
    kerberos: Kerberos,
    ssh: Ssh,
    smtp: Smtp,
    imap: Imap,
    pop3: Pop3,
    quic: Quic,
    rdp: Rdp,
    ftp: Ftp,
    smb: Smb,
    template: Template,
}

impl Protocols {
    /// Pure checks of `wirebeat.protocols` (keys relative to it): ports are never 0, and each
    /// protocol's own limits.
    pub fn validate(&self) -> Result<(), crate::units::Invalid> {
        use crate::units::Invalid;
        for (p, (_, ports)) in PROTOCOLS.iter().zip(self.settings()) {
            if let Some(i) = ports.iter().position(|port| *port == 0) {
                return Err(Invalid::new(
                    format!("{}.ports[{i}]", p.name),
                    "must be between 1 and 65535, got 0",
                ));
            }
        }
        self.http.validate().map_err(|e| e.under("http"))
    }
}

/// The services Packetbeat parses beside the web and name protocols (databases, caches,
/// messaging, RPC, file sharing, VoIP), by `network.protocol`. Their events also carry
/// Packetbeat's `method`, `query` and `resource` under `network_traffic.<dataset>.*`, the layout
/// the Elastic Agent integration's compatibility pipeline writes and Elastic's prebuilt rules on
/// them read (`network_traffic.mongodb.method`, `network_traffic.pgsql.query`, …); Kibana's
/// "Databases, caches and messaging" dashboard shows them.
pub const SERVICE_PROTOCOLS: &[&str] = &[
    "mysql",
    "pgsql",
    "redis",
    "memcache",
    "mongodb",
    "cassandra",
    "amqp",
    "thrift",
    "nfs",
    "sip",
];

/// Fields outside ECS emitted by the protocols, for the index template and the field test.
pub fn custom_fields() -> Vec<CustomField> {
    PROTOCOLS
        .iter()
        .filter(|p| p.in_content)
        .flat_map(|p| p.custom_fields.iter().copied())
        .collect()
}

/// Datasets of the protocols' events, in registry order, for the Kibana content.
pub fn content_datasets() -> impl Iterator<Item = &'static str> {
    PROTOCOLS.iter().filter(|p| p.in_content).map(|p| p.dataset)
}

/// Resolved protocol selection for a run: port tables built once, duplicates rejected.
pub struct Registry {
    tcp_ports: rustc_hash::FxHashMap<u16, usize>,
    udp_ports: rustc_hash::FxHashMap<u16, usize>,
    enabled: Vec<bool>,
    pub limits: Limits,
    pub config: Protocols,
}

impl Registry {
    /// Builds the port tables; two enabled protocols on one port of one transport is an error.
    pub fn new(cfg: &Protocols, limits: Limits) -> Result<Registry, String> {
        let mut tcp_ports = rustc_hash::FxHashMap::default();
        let mut udp_ports = rustc_hash::FxHashMap::default();
        let mut enabled = Vec::new();
        for (i, (p, (on, ports))) in PROTOCOLS.iter().zip(cfg.settings()).enumerate() {
            enabled.push(on);
            if !on {
                continue;
            }
            for t in p.transports {
                let table = match t {
                    Transport::Tcp => &mut tcp_ports,
                    Transport::Udp => &mut udp_ports,
                    Transport::Icmp => continue,
                };
                for port in ports {
                    if let Some(other) = table.insert(*port, i) {
                        return Err(format!(
                            "port {port}/{} is configured for both {} and {}",
                            if *t == Transport::Tcp { "tcp" } else { "udp" },
                            PROTOCOLS[other].name,
                            p.name
                        ));
                    }
                }
            }
        }
        Ok(Registry { tcp_ports, udp_ports, enabled, limits, config: cfg.clone() })
    }

    /// Whether any protocol is enabled (if none, flows skip the application layer entirely).
    pub fn any_enabled(&self) -> bool {
        self.enabled.iter().any(|e| *e)
    }

    fn ctx(&self, transport: Transport, ip_proto: u8) -> ParserContext<'_> {
        ParserContext { config: &self.config, limits: &self.limits, transport, ip_proto }
    }

    /// The protocol for a flow by its ports (server port first).
    pub fn by_port(
        &self,
        transport: Transport,
        server_port: u16,
        client_port: u16,
    ) -> Option<usize> {
        let table = match transport {
            Transport::Tcp => &self.tcp_ports,
            Transport::Udp => &self.udp_ports,
            Transport::Icmp => {
                return PROTOCOLS
                    .iter()
                    .enumerate()
                    .find(|(i, p)| self.enabled[*i] && p.transports.contains(&Transport::Icmp))
                    .map(|(i, _)| i)
            }
        };
        table.get(&server_port).or_else(|| table.get(&client_port)).copied()
    }

    /// The protocol whose probe accepts these first bytes.
    pub fn by_content(&self, transport: Transport, dir: Dir, first: &[u8]) -> Option<usize> {
        PROTOCOLS.iter().enumerate().find_map(|(i, p)| {
            (self.enabled[i]
                && p.transports.contains(&transport)
                && (p.probe)(transport, dir, first))
            .then_some(i)
        })
    }

    pub fn make(&self, idx: usize, transport: Transport, ip_proto: u8) -> Option<Box<dyn Parser>> {
        PROTOCOLS.get(idx).map(|p| (p.make)(&self.ctx(transport, ip_proto)))
    }

    /// Whether protocol `idx`'s own probe accepts these first bytes.
    pub fn probe(&self, idx: usize, transport: Transport, dir: Dir, first: &[u8]) -> bool {
        PROTOCOLS.get(idx).is_some_and(|p| (p.probe)(transport, dir, first))
    }

    pub fn name(idx: usize) -> &'static str {
        PROTOCOLS.get(idx).map(|p| p.name).unwrap_or("unknown")
    }
}

#[cfg(test)]
mod tests;
