//! Application protocols: the registry, the parser contract, and transactions.
//!
//! Adding a protocol (see ARCHITECTURE.md, "Adding a protocol"): copy `template.rs`, write the
//! pure parser (bytes in, messages out; `Incomplete` is not `Malformed`), the pairing of
//! requests and responses into [`Txn`]s, the ECS fields struct, then add one line to
//! [`PROTOCOLS`] and a config section in `config::Protocols`.
//!
//! Parsers know nothing of pcap, threads or outputs: the flow layer hands them ordered bytes per
//! direction (TCP through [`stream::Reassembler`], UDP one datagram at a time) and the packet
//! clock; they return transactions.

pub mod dhcpv4;
pub mod dns;
pub mod http;
pub mod icmp;
pub mod stream;
pub mod template;
pub mod tls;

use crate::config;
use serde::Serialize;

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

/// Per-flow limits every parser honours; each has a counter when hit.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes a parser may buffer per direction while a message is incomplete.
    pub max_buffer_bytes: usize,
    /// Requests waiting for a response per flow; beyond it the oldest is published unanswered.
    pub max_pending: usize,
    /// A request unanswered this long (packet time) is published without a response.
    pub transaction_timeout_ns: i64,
    /// Out-of-order TCP bytes held per direction before the hole becomes a gap.
    pub max_out_of_order_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_buffer_bytes: 1 << 20,
            max_pending: 64,
            transaction_timeout_ns: 10_000_000_000,
            max_out_of_order_bytes: 1 << 20,
        }
    }
}

/// Everything a protocol constructor may need.
pub struct ParserContext<'a> {
    pub config: &'a config::Protocols,
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
    /// Anomaly and limit counters of this parser, drained by the worker.
    fn take_counters(&mut self) -> ParserCounters {
        ParserCounters::default()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParserCounters {
    pub messages: u64,
    pub malformed: u64,
    /// Limit hits: buffer full, too many pending requests, header count/size.
    pub limit_hits: u64,
    pub unmatched: u64,
}

impl ParserCounters {
    pub fn add(&mut self, o: &ParserCounters) {
        self.messages += o.messages;
        self.malformed += o.malformed;
        self.limit_hits += o.limit_hits;
        self.unmatched += o.unmatched;
    }
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
    /// Packetbeat's `status` ("OK", "Error", …).
    pub status: &'static str,
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
    pub fn new(
        protocol: &'static str,
        dataset: &'static str,
        start_ns: i64,
        fields: ProtoFields,
    ) -> Self {
        Txn {
            protocol,
            dataset,
            start_ns,
            end_ns: None,
            client_bytes: 0,
            server_bytes: 0,
            outcome: Outcome::Unknown,
            status: "OK",
            notes: Vec::new(),
            related_hosts: Vec::new(),
            related_hashes: Vec::new(),
            server_domain: None,
            fields,
        }
    }
}

/// Per-protocol fields; each variant serializes to its top-level ECS objects.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ProtoFields {
    Dns(dns::Fields),
    Http(http::Fields),
    Tls(tls::Fields),
    Dhcpv4(Box<dhcpv4::Fields>),
    Icmp(Box<icmp::Fields>),
    Template(template::Fields),
}

/// One entry of the registry.
pub struct Protocol {
    pub name: &'static str,
    pub transports: &'static [Transport],
    /// Enabled state and ports from the configuration.
    pub settings: fn(&config::Protocols) -> (bool, &[u16]),
    /// Content check on the first bytes a side sent (client first), for flows whose ports did
    /// not match any protocol.
    pub probe: fn(Transport, Dir, &[u8]) -> bool,
    pub make: fn(&ParserContext<'_>) -> Box<dyn Parser>,
}

/// The registry: the one list of protocols. Port lookups and probes go in this order.
pub static PROTOCOLS: &[&Protocol] = &[
    &dns::PROTOCOL,
    &http::PROTOCOL,
    &tls::PROTOCOL,
    &dhcpv4::PROTOCOL,
    &icmp::PROTOCOL,
    &template::PROTOCOL,
];

/// Fields outside ECS emitted by the protocols, for the index template and the field test.
pub fn custom_fields() -> Vec<(&'static str, &'static str, &'static str)> {
    [
        dns::CUSTOM_FIELDS,
        http::CUSTOM_FIELDS,
        tls::CUSTOM_FIELDS,
        dhcpv4::CUSTOM_FIELDS,
        icmp::CUSTOM_FIELDS,
    ]
    .concat()
}

/// Resolved protocol selection for a run: port tables built once, duplicates rejected.
pub struct Registry {
    tcp_ports: rustc_hash::FxHashMap<u16, usize>,
    udp_ports: rustc_hash::FxHashMap<u16, usize>,
    enabled: Vec<bool>,
    pub limits: Limits,
    pub config: config::Protocols,
}

impl Registry {
    /// Builds the port tables; two enabled protocols on one port of one transport is an error.
    pub fn new(cfg: &config::Protocols, limits: Limits) -> Result<Registry, String> {
        let mut tcp_ports = rustc_hash::FxHashMap::default();
        let mut udp_ports = rustc_hash::FxHashMap::default();
        let mut enabled = Vec::new();
        for (i, p) in PROTOCOLS.iter().enumerate() {
            let (on, ports) = (p.settings)(cfg);
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

    pub fn name(idx: usize) -> &'static str {
        PROTOCOLS.get(idx).map(|p| p.name).unwrap_or("unknown")
    }
}
