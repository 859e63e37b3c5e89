//! The DHCPv4 session: one transaction per datagram (the messages of one exchange travel in
//! different flows, so nothing is paired or kept per flow); a datagram over
//! `max_buffer_bytes` is read only that far and counted as a limit hit.

use super::fields::{fields_of, Fields, NetworkTraffic};
use super::parser::{self, Message};
use super::PROTOCOL;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};

pub struct Dhcpv4Parser {
    max_datagram: usize,
    counters: ParserCounters,
}

impl Dhcpv4Parser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        Dhcpv4Parser {
            max_datagram: ctx.limits.max_buffer_bytes.max(parser::HEADER_LEN),
            counters: ParserCounters::default(),
        }
    }

    /// The transaction (a single message) of a parsed datagram.
    fn txn(m: &Message, dir: Dir, ts_ns: i64, len: usize) -> Txn {
        let f = fields_of(m);
        let mut t = Txn::new(&PROTOCOL, ts_ns,
            Fields { dhcpv4: f.clone(), network_traffic: NetworkTraffic { dhcpv4: f.clone() } },
        );
        match dir {
            Dir::ToServer => t.client_bytes = len as u64,
            Dir::ToClient => t.server_bytes = len as u64,
        }
        match m.message_type() {
            Some(5) => t.outcome = Outcome::Success,
            Some(6) => {
                t.outcome = Outcome::Failure;
                t.status = "Error";
            }
            _ => {}
        }
        t.notes = m.notes.iter().map(|n| (*n).to_owned()).collect();
        if let Some(o) = f.option {
            t.related_hosts.extend(o.hostname);
            t.related_hosts.extend(o.client_fqdn.and_then(|q| q.name));
        }
        t
    }
}

impl Parser for Dhcpv4Parser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let mut read = bytes;
        if bytes.len() > self.max_datagram {
            self.counters.limit_hits += 1;
            read = bytes.get(..self.max_datagram).unwrap_or(bytes);
        }
        match parser::parse_datagram(read) {
            Ok(mut m) => {
                self.counters.messages += 1;
                if read.len() < bytes.len() {
                    m.notes.push("datagram larger than max_buffer_bytes: read in part");
                }
                if !m.notes.is_empty() {
                    self.counters.malformed += 1;
                }
                out.push(Self::txn(&m, dir, ts_ns, bytes.len()));
            }
            Err(_) => self.counters.malformed += 1,
        }
    }

    fn close(&mut self, _ts_ns: i64, _out: &mut Vec<Txn>) {}

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
