//! The application layer of a flow: protocol choice (ports, then content), TCP reassembly per
//! direction, and the parser that turns ordered bytes into transactions.
//!
//! Nothing is built before the first payload byte: a flow that only ever shows a SYN (a SYN
//! flood from random sources) keeps the protocol chosen by port and the initial sequence numbers,
//! a few bytes, instead of a parser and two reassemblers. The parser and the streams are made
//! when data first arrives, from the same choice, so the output is the same.

use crate::decode::{Packet, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::proto::stream::{Chunk, Reassembler, StreamStats};
use crate::proto::{Dir, Handoff, Parser, ParserCounters, Registry, Transport, Txn};
use std::sync::Arc;

/// How many payload-carrying packets a flow may show without a protocol before probing stops.
const MAX_PROBES: u8 = 8;

pub struct App {
    /// Index into `proto::PROTOCOLS` once chosen.
    pub proto: Option<usize>,
    /// Made on the first payload (by port, or by content when no port matched).
    parser: Option<Box<dyn Parser>>,
    /// Whether the parser of a port-chosen protocol was made (or could not be): tried once.
    parser_tried: bool,
    /// TCP only, made on the first payload; until then `isn` keeps what the SYNs said.
    streams: Option<Box<[Reassembler; 2]>>,
    /// Sequence numbers of the SYN of each side, seen before the streams exist.
    isn: [Option<u32>; 2],
    tcp: bool,
    probes: u8,
    /// Bytes were missing in a stream of this flow.
    pub gaps: bool,
    /// Bytes missing per direction (client's, server's): holes given up inside the window.
    pub missing: [u64; 2],
    /// The first TCP bytes were checked against the port-chosen protocol's probe.
    port_choice_checked: bool,
}

impl App {
    /// Bytes this state takes on the heap (its box, the streams, the parser's struct; not
    /// what the parser or the streams allocate later for data they hold).
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<App>()
            + self.streams.as_ref().map_or(0, |_| std::mem::size_of::<[Reassembler; 2]>())
            + self.parser.as_ref().map_or(0, |p| std::mem::size_of_val(&**p))
    }

    /// Whether the protocol parser exists yet (it is made on the first payload).
    pub fn has_parser(&self) -> bool {
        self.parser.is_some()
    }
}

/// Direction of a stream side: 0 is the client's (to the server), 1 the server's.
fn side_dir(side: usize) -> Dir {
    if side == 0 {
        Dir::ToServer
    } else {
        Dir::ToClient
    }
}

/// Where the reassembled chunks of a flow's two TCP streams go: the parser (made by port on
/// the first data, or by content probing), and the flow's gap accounting.
struct ChunkSink<'a> {
    registry: &'a Registry,
    stats: &'a mut AppStats,
    parser: &'a mut Option<Box<dyn Parser>>,
    proto: &'a mut Option<usize>,
    probes: &'a mut u8,
    tried: &'a mut bool,
    checked: &'a mut bool,
    missing: &'a mut [u64; 2],
    gaps: &'a mut bool,
    ip_proto: u8,
    ts: i64,
    out: &'a mut Vec<Txn>,
}

impl ChunkSink<'_> {
    /// The first bytes of a flow whose protocol the port chose: when that protocol's probe
    /// rejects them and another's accepts them (TLS on port 80, HTTP on 443), content wins.
    fn check_port_choice(&mut self, dir: Dir, d: &[u8]) {
        if std::mem::replace(self.checked, true) {
            return;
        }
        let (Some(i), Some(_)) = (*self.proto, self.parser.as_ref()) else { return };
        let t = Transport::Tcp;
        if self.registry.probe(i, t, dir, d) {
            return;
        }
        if let Some(j) = self.registry.by_content(t, dir, d).filter(|j| *j != i) {
            if let Some(mut old) = self.parser.take() {
                self.stats.parsers.add(&old.take_counters());
            }
            *self.proto = Some(j);
            *self.parser = self.registry.make(j, t, self.ip_proto);
            self.stats.content_overrides += 1;
        }
    }

    /// After bytes went to the parser: if it handed the stream on, close it and let the next
    /// bytes choose the protocol by content.
    fn check_handoff(&mut self) {
        let Some(ps) = self.parser.as_mut() else { return };
        if ps.handoff() != Some(Handoff::Switched) {
            return;
        }
        ps.close(self.ts, self.out);
        self.stats.parsers.add(&ps.take_counters());
        *self.parser = None;
        *self.proto = None;
        *self.probes = 0;
        self.stats.handoffs += 1;
    }

    fn chunk(&mut self, side: usize, c: Chunk<'_>) {
        let dir = side_dir(side);
        let t = Transport::Tcp;
        make_by_port(
            self.registry,
            self.stats,
            self.parser,
            *self.proto,
            self.tried,
            t,
            self.ip_proto,
        );
        match c {
            Chunk::Data(d) => {
                self.check_port_choice(dir, d);
                if self.parser.is_none() && self.proto.is_none() && *self.probes < MAX_PROBES {
                    *self.probes += 1;
                    if let Some(i) = self.registry.by_content(t, dir, d) {
                        *self.proto = Some(i);
                        *self.parser = self.registry.make(i, t, self.ip_proto);
                        self.stats.by_content += 1;
                    }
                }
                if let Some(ps) = self.parser.as_mut() {
                    ps.data(dir, self.ts, d, self.out);
                }
                self.check_handoff();
            }
            Chunk::Gap { len, counted } => {
                *self.gaps = true;
                self.missing[side] += counted;
                if let Some(ps) = self.parser.as_mut() {
                    ps.gap(dir, len);
                }
            }
        }
    }
}

/// Makes the parser of a protocol chosen by port, once, when the first payload arrives.
fn make_by_port(
    registry: &Registry,
    stats: &mut AppStats,
    parser: &mut Option<Box<dyn Parser>>,
    proto: Option<usize>,
    tried: &mut bool,
    t: Transport,
    ip_proto: u8,
) {
    if parser.is_none() && !*tried {
        if let Some(i) = proto {
            *tried = true;
            *parser = registry.make(i, t, ip_proto);
            if parser.is_some() {
                stats.by_port += 1;
            }
        }
    }
}

crate::stats::local_counters! {
    /// Counters of the application layer of one worker.
    pub struct AppStats {
        transactions => transactions,
        by_port => app_by_port,
        by_content => app_by_content,
        /// Flows whose port-chosen protocol rejected the first bytes and content chose another.
        content_overrides => app_content_overrides,
        /// Streams handed from one protocol to the next (HTTP CONNECT or 101, STARTTLS).
        handoffs => app_handoffs,
        ; parsers: ParserCounters, streams: StreamStats,
    }
}

pub struct AppLayer {
    pub registry: Arc<Registry>,
    pub stats: AppStats,
}

fn transport(proto: u8) -> Option<Transport> {
    match proto {
        6 => Some(Transport::Tcp),
        17 => Some(Transport::Udp),
        1 | 58 => Some(Transport::Icmp),
        _ => None,
    }
}

impl AppLayer {
    pub fn new(registry: Arc<Registry>) -> Self {
        AppLayer { registry, stats: AppStats::default() }
    }

    /// App state for a new flow; `None` when no protocol can apply (e.g. GRE, or no ports).
    pub fn start(
        &mut self,
        ip_proto: u8,
        has_ports: bool,
        server_port: u16,
        client_port: u16,
    ) -> Option<Box<App>> {
        let t = transport(ip_proto)?;
        if t != Transport::Icmp && !has_ports {
            return None;
        }
        let proto = self.registry.by_port(t, server_port, client_port);
        // A UDP flow no port names gets its state only when a datagram's content names a
        // protocol ([`AppLayer::probe_new`]): a million one-datagram flows of nothing known
        // allocate nothing.
        if t == Transport::Udp && proto.is_none() {
            return None;
        }
        Some(Box::new(App {
            proto,
            parser: None,
            parser_tried: false,
            streams: None,
            isn: [None; 2],
            tcp: t == Transport::Tcp,
            probes: 0,
            gaps: false,
            missing: [0; 2],
            port_choice_checked: false,
        }))
    }

    /// App state for a UDP flow that had none (no port matched), when this datagram's content
    /// names a protocol; `probes` counts the datagrams tried (at most [`MAX_PROBES`]).
    pub fn probe_new(
        &mut self,
        p: &Packet<'_>,
        from_client: bool,
        probes: &mut u8,
    ) -> Option<Box<App>> {
        if p.proto != 17 || p.payload.is_empty() || *probes >= MAX_PROBES {
            return None;
        }
        *probes += 1;
        let dir = if from_client { Dir::ToServer } else { Dir::ToClient };
        let i = self.registry.by_content(Transport::Udp, dir, p.payload)?;
        self.stats.by_content += 1;
        Some(Box::new(App {
            proto: Some(i),
            parser: self.registry.make(i, Transport::Udp, p.proto),
            parser_tried: true,
            streams: None,
            isn: [None; 2],
            tcp: false,
            probes: *probes,
            gaps: false,
            missing: [0; 2],
            port_choice_checked: false,
        }))
    }

    /// Feeds one packet of the flow.
    pub fn packet(&mut self, app: &mut App, p: &Packet<'_>, from_client: bool, out: &mut Vec<Txn>) {
        let Some(t) = transport(p.proto) else { return };
        let before = out.len();
        let dir = if from_client { Dir::ToServer } else { Dir::ToClient };
        let ts = p.ts_ns;
        if app.tcp && app.streams.is_none() {
            if let Some(tcp) = p.tcp {
                let side = usize::from(!from_client);
                if p.payload.is_empty() {
                    // No data yet: remember the ISN, build nothing.
                    // The last SYN before any data sets the start (a retried SYN may carry
                    // another ISN, and the data follows that one).
                    if tcp.flags & TCP_SYN != 0 {
                        app.isn[side] = Some(tcp.seq);
                    }
                    return;
                }
                let max = self.registry.limits.max_out_of_order_bytes;
                let mut streams = Box::new([Reassembler::new(max), Reassembler::new(max)]);
                for (s, isn) in streams.iter_mut().zip(app.isn) {
                    if let Some(seq) = isn {
                        s.segment(seq, true, false, &[], &mut |_| {});
                    }
                }
                app.streams = Some(streams);
            }
        }
        match (t, app.streams.as_mut(), p.tcp) {
            (Transport::Tcp, Some(streams), Some(tcp)) => {
                let side = usize::from(!from_client);
                let syn = tcp.flags & TCP_SYN != 0;
                let fin = tcp.flags & (TCP_FIN | TCP_RST) != 0;
                let mut sink = ChunkSink {
                    registry: &self.registry,
                    stats: &mut self.stats,
                    parser: &mut app.parser,
                    proto: &mut app.proto,
                    probes: &mut app.probes,
                    tried: &mut app.parser_tried,
                    checked: &mut app.port_choice_checked,
                    missing: &mut app.missing,
                    gaps: &mut app.gaps,
                    ip_proto: p.proto,
                    ts,
                    out,
                };
                // What this packet acknowledges settles holes of the other direction first:
                // the parser sees that side's loss before this side's reply to it.
                if tcp.flags & TCP_ACK != 0 {
                    streams[1 - side].acked(tcp.ack, &mut |c| sink.chunk(1 - side, c));
                }
                streams[side].segment(tcp.seq, syn, fin, p.payload, &mut |c| sink.chunk(side, c));
            }
            (Transport::Udp | Transport::Icmp, _, _) => {
                if p.payload.is_empty() && t == Transport::Udp {
                    return;
                }
                make_by_port(
                    &self.registry,
                    &mut self.stats,
                    &mut app.parser,
                    app.proto,
                    &mut app.parser_tried,
                    t,
                    p.proto,
                );
                if app.parser.is_none() && app.proto.is_none() && app.probes < MAX_PROBES {
                    app.probes += 1;
                    if let Some(i) = self.registry.by_content(t, dir, p.payload) {
                        app.proto = Some(i);
                        app.parser = self.registry.make(i, t, p.proto);
                        self.stats.by_content += 1;
                    }
                }
                if let Some(ps) = app.parser.as_mut() {
                    ps.data(dir, ts, p.payload, out);
                }
            }
            _ => {}
        }
        self.collect(app, out.len() - before);
    }

    pub fn tick(&mut self, app: &mut App, now_ns: i64, out: &mut Vec<Txn>) {
        if let Some(ps) = app.parser.as_mut() {
            let before = out.len();
            ps.tick(now_ns, out);
            self.stats.transactions += (out.len() - before) as u64;
        }
    }

    /// The flow ends: held TCP segments are delivered (with gaps), then the parser closes.
    pub fn close(&mut self, app: &mut App, ts_ns: i64, out: &mut Vec<Txn>) {
        let before = out.len();
        if let Some(streams) = app.streams.as_mut() {
            for (side, s) in streams.iter_mut().enumerate() {
                let dir = side_dir(side);
                let parser = &mut app.parser;
                let (gaps, missing) = (&mut app.gaps, &mut app.missing);
                s.flush(&mut |c| match c {
                    Chunk::Data(d) => {
                        if let Some(ps) = parser.as_mut() {
                            ps.data(dir, ts_ns, d, out);
                        }
                    }
                    Chunk::Gap { len, counted } => {
                        *gaps = true;
                        missing[side] += counted;
                        if let Some(ps) = parser.as_mut() {
                            ps.gap(dir, len);
                        }
                    }
                });
            }
        }
        if let Some(ps) = app.parser.as_mut() {
            ps.close(ts_ns, out);
        }
        self.collect(app, out.len() - before);
        if let Some(streams) = app.streams.as_mut() {
            for s in streams.iter_mut() {
                self.stats.streams.add(&s.stats);
                s.stats = StreamStats::default();
            }
        }
    }

    /// Counts the transactions just produced and drains the parser's counters.
    fn collect(&mut self, app: &mut App, produced: usize) {
        self.stats.transactions += produced as u64;
        if let Some(ps) = app.parser.as_mut() {
            let c = ps.take_counters();
            if c != ParserCounters::default() {
                self.stats.parsers.add(&c);
            }
        }
    }
}
