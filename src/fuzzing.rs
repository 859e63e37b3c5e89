//! Fuzzing entry points: arbitrary bytes in, the real data-path code driven, nothing out.
//!
//! The libFuzzer targets in `fuzz/fuzz_targets/` and the cargo tests (`tests/fuzz_regressions.rs`
//! replays saved inputs, `tests/corpus_mutations.rs` pushes mutated captures through
//! [`capture_file`]) call the same functions, so a crash found by one is replayed by the other.
//!
//! Each entry point reads its input as a small script (documented on the function) rather than
//! raw bytes where that helps the fuzzer reach deep code: [`defrag`] builds valid IP headers
//! around the fragment geometry it reads, [`reassembly`] reads segment descriptions. Nothing here
//! reads the clock or the environment (the event context is built once, from the default
//! configuration), so an input replays the same way everywhere.
//!
//! Invariant: no input may panic or loop without bound in any of these functions; a panic is a
//! bug in the code under test, not here. [`reassembly`] also asserts that the reassembler never
//! delivers more bytes than it was given.

use crate::capture::file::CaptureFile;
use crate::decode::{self, Decoder, FrameRef, Packet};
use crate::ecs::{EventContext, FlowEncoder};
use crate::flow::app::AppLayer;
use crate::flow::{Emit, FlowKey, FlowTable};
use crate::pipeline::PipelineSettings;
use crate::proto::stream::{Chunk, Reassembler};
use crate::proto::{Dir, Registry, Transport, Txn, PROTOCOLS};
use std::sync::{Arc, OnceLock};

/// Link types the first byte of a [`decode_frames`] input selects from (modulo its length); the
/// last entry is one the decoder does not know.
pub const LINKTYPES: &[u32] = &[
    decode::LINKTYPE_ETHERNET,
    decode::LINKTYPE_LINUX_SLL,
    decode::LINKTYPE_LINUX_SLL2,
    decode::LINKTYPE_NULL,
    decode::LINKTYPE_LOOP,
    decode::LINKTYPE_RAW,
    decode::LINKTYPE_RAW_OLD,
    decode::LINKTYPE_RAW_OLD2,
    decode::LINKTYPE_IPV4,
    decode::LINKTYPE_IPV6,
    decode::LINKTYPE_PPP,
    decode::LINKTYPE_PPP_HDLC,
    decode::LINKTYPE_PPP_ETHER,
    decode::LINKTYPE_C_HDLC,
    decode::LINKTYPE_NFLOG,
    decode::LINKTYPE_PKTAP,
    decode::LINKTYPE_FDDI,
    decode::LINKTYPE_IPOIB,
    0xffff,
];

/// Frames between two ticks of the data path (the pipeline ticks once per 8192-frame epoch;
/// more often here so timeouts and periodic reports are reached by short inputs).
const TICK_FRAMES: u64 = 64;

/// The settings of a default configuration with every protocol enabled (the template too), and
/// the event context; built once per process.
fn setup() -> &'static (PipelineSettings, Arc<EventContext>) {
    static SETUP: OnceLock<(PipelineSettings, Arc<EventContext>)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let mut cfg = crate::config::Config { name: Some("fuzz".into()), ..Default::default() };
        cfg.wirebeat.workers = 1;
        cfg.wirebeat.protocols.template.enabled = true;
        let cfg = crate::config::Settings::new(cfg).expect("the default configuration is valid");
        let settings = PipelineSettings::from_settings(&cfg, true);
        (settings, crate::pipeline::context(&cfg))
    })
}

fn registry() -> &'static Arc<Registry> {
    static REGISTRY: OnceLock<Arc<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        setup().0.registry.clone().expect("the default configuration enables protocols")
    })
}

/// Reads the input front to back; every read past the end yields zeros / empty slices, so any
/// input is a complete script.
struct Script<'a> {
    data: &'a [u8],
}

impl<'a> Script<'a> {
    fn done(&self) -> bool {
        self.data.is_empty()
    }
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }
}

/// What one run of the data path produced, for the tests' summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathSummary {
    pub frames: u64,
    pub events: u64,
    pub event_bytes: u64,
    /// The capture reader stopped on damage (or the bytes were not a capture).
    pub capture_error: bool,
}

/// One worker's data path as `pipeline` runs it: decoder (defragmentation on) → flow table with
/// every protocol → ECS encoding of flow reports and transactions.
pub struct DataPath {
    decoder: Decoder,
    flows: FlowTable,
    encoder: FlowEncoder,
    ctx: Arc<EventContext>,
    now_ns: i64,
    summary: PathSummary,
}

impl Default for DataPath {
    fn default() -> Self {
        DataPath::new()
    }
}

impl DataPath {
    pub fn new() -> Self {
        let (s, ctx) = setup();
        let flows = FlowTable::new(s.flows.clone()).with_app(AppLayer::new(registry().clone()));
        DataPath {
            decoder: Decoder::new(s.tunnels.clone(), Some(&s.defrag), s.defrag.max_datagrams),
            flows,
            encoder: FlowEncoder::new(ctx.clone(), 0),
            ctx: ctx.clone(),
            now_ns: i64::MIN,
            summary: PathSummary::default(),
        }
    }

    /// One frame through decode, flows and encoding; ticks every [`TICK_FRAMES`] frames on the
    /// largest timestamp seen, as the pipeline's epochs do.
    pub fn frame(&mut self, frame: &FrameRef<'_>) {
        let DataPath { decoder, flows, encoder, ctx, summary, .. } = self;
        let mut emit = |e: Emit<'_>| {
            let ev = match e {
                Emit::Flow(r) => encoder.encode(&r),
                Emit::Txn(f, t) => crate::ecs::txn::encode(ctx, f, &t),
            };
            summary.events += 1;
            summary.event_bytes += ev.json.len() as u64;
        };
        decoder.decode(frame, &mut |p: &Packet<'_>| flows.update(p, &mut emit));
        self.now_ns = self.now_ns.max(frame.ts_ns);
        self.summary.frames += 1;
        if self.summary.frames.is_multiple_of(TICK_FRAMES) {
            self.tick(self.now_ns);
        }
    }

    pub fn tick(&mut self, now_ns: i64) {
        self.run(now_ns, false);
    }

    /// End of input: pending fragments and every flow are flushed.
    pub fn finish(mut self) -> PathSummary {
        // No frame yet: the clock is 0, as in the pipeline.
        let now = if self.now_ns == i64::MIN { 0 } else { self.now_ns };
        self.run(now, true);
        self.summary
    }

    fn run(&mut self, now_ns: i64, last: bool) {
        let DataPath { decoder, flows, encoder, ctx, summary, .. } = self;
        let mut count = |e: Emit<'_>| {
            let ev = match e {
                Emit::Flow(r) => encoder.encode(&r),
                Emit::Txn(f, t) => crate::ecs::txn::encode(ctx, f, &t),
            };
            summary.events += 1;
            summary.event_bytes += ev.json.len() as u64;
        };
        decoder.tick(now_ns, &mut |p: &Packet<'_>| flows.update(p, &mut count));
        flows.tick(now_ns, &mut count);
        if last {
            decoder.flush(&mut |p: &Packet<'_>| flows.update(p, &mut count));
            flows.flush(now_ns, &mut count);
        }
    }
}

/// The capture-file reader over `data`, every frame through the whole [`DataPath`].
pub fn capture_file(data: &[u8]) -> PathSummary {
    let mut capture = match CaptureFile::from_reader(
        Box::new(std::io::Cursor::new(data.to_vec())),
        "fuzz".into(),
    ) {
        Ok(c) => c,
        Err(_) => return PathSummary { capture_error: true, ..Default::default() },
    };
    let mut path = DataPath::new();
    let mut capture_error = false;
    loop {
        match capture.next_frame() {
            Ok(Some(f)) => {
                let frame = FrameRef {
                    ts_ns: f.ts_ns,
                    wire_len: f.wire_len,
                    linktype: f.linktype,
                    data: f.data,
                };
                path.frame(&frame);
            }
            Ok(None) => break,
            Err(_) => {
                capture_error = true;
                break;
            }
        }
    }
    // The reader's own accessors are part of what a run reports.
    let _ = (capture.format(), capture.linktypes(), capture.bytes_read(), capture.snaplen());
    PathSummary { capture_error, ..path.finish() }
}

/// The frame decoder alone. Input: link type selector (index into [`LINKTYPES`]), a flags byte
/// (bit 0: defragmentation off), then frames, each `len: u16, dt: u8` (seconds since the
/// previous frame) and `len` bytes; the decoder is ticked after every frame and flushed at the
/// end.
pub fn decode_frames(data: &[u8]) {
    let mut s = Script { data };
    let linktype = LINKTYPES[usize::from(s.u8()) % LINKTYPES.len()];
    let flags = s.u8();
    let settings = &setup().0;
    let defrag = (flags & 1 == 0).then_some(&settings.defrag);
    let mut decoder = Decoder::new(settings.tunnels.clone(), defrag, 16);
    let mut sink = |p: &Packet<'_>| {
        // The flow key is what the next stage derives first from a packet.
        let _ = FlowKey::of(p);
    };
    let mut ts: i64 = 1_600_000_000_000_000_000;
    while !s.done() {
        let len = usize::from(s.u16());
        ts = ts.saturating_add(i64::from(s.u8()) * 1_000_000_000);
        let bytes = s.take(len);
        let frame = FrameRef { ts_ns: ts, wire_len: bytes.len() as u32, linktype, data: bytes };
        decoder.decode(&frame, &mut sink);
        decoder.tick(ts, &mut sink);
    }
    decoder.flush(&mut sink);
}

/// IP defragmentation through the decoder (raw IP link type). Input: a settings byte (low four
/// bits: cache capacity 1..=16; high four: largest datagram in KiB, 0 = the default), then
/// fragments, each `flags: u8, offset: u16, len: u8, dt: u8` and `len` payload bytes, turned
/// into a valid IPv4 or IPv6 fragment. Flags: bit 0 IPv6, bit 1 more fragments, bits 2–3 the
/// datagram id, bits 4–5 the source address, bit 6 UDP instead of TCP, bit 7 a truncated frame.
pub fn defrag(data: &[u8]) {
    let mut s = Script { data };
    let settings = &setup().0;
    let conf = s.u8();
    let mut defrag = settings.defrag.clone();
    defrag.enabled = true;
    if conf >> 4 != 0 {
        defrag.max_datagram_bytes = usize::from(conf >> 4) * 1024;
    }
    let mut decoder =
        Decoder::new(settings.tunnels.clone(), Some(&defrag), usize::from(conf & 15) + 1);
    let mut sink = |p: &Packet<'_>| {
        let _ = FlowKey::of(p);
    };
    let mut ts: i64 = 1_600_000_000_000_000_000;
    let mut frame = Vec::with_capacity(2048);
    while !s.done() {
        let flags = s.u8();
        let offset = s.u16() & 0x1fff;
        let len = usize::from(s.u8());
        ts = ts.saturating_add(i64::from(s.u8()) * 100_000_000);
        let payload = s.take(len);
        let more = flags & 2 != 0;
        let id = u16::from((flags >> 2) & 3);
        let src = (flags >> 4) & 3;
        let proto = if flags & 64 != 0 { 17 } else { 6 };
        frame.clear();
        if flags & 1 == 0 {
            let total = (20 + payload.len()) as u16;
            let frag = offset | if more { 0x2000 } else { 0 };
            frame.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0]);
            frame[2..4].copy_from_slice(&total.to_be_bytes());
            frame[4..6].copy_from_slice(&id.to_be_bytes());
            frame[6..8].copy_from_slice(&frag.to_be_bytes());
            frame.extend_from_slice(&[10, 0, 0, src, 10, 0, 0, 100]);
            let sum = ipv4_checksum(&frame[..20]);
            frame[10..12].copy_from_slice(&sum.to_be_bytes());
        } else {
            let plen = (8 + payload.len()) as u16;
            frame.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, 44, 64]);
            frame[4..6].copy_from_slice(&plen.to_be_bytes());
            let mut addr = [0u8; 16];
            addr[0] = 0xfd;
            addr[15] = src;
            frame.extend_from_slice(&addr);
            addr[15] = 100;
            frame.extend_from_slice(&addr);
            let fo = (offset << 3) | u16::from(more);
            frame.extend_from_slice(&[proto, 0]);
            frame.extend_from_slice(&fo.to_be_bytes());
            frame.extend_from_slice(&u32::from(id).to_be_bytes());
        }
        frame.extend_from_slice(payload);
        let wire_len = frame.len() as u32;
        let cut = if flags & 128 != 0 { frame.len() / 2 } else { frame.len() };
        let f = FrameRef {
            ts_ns: ts,
            wire_len,
            linktype: decode::LINKTYPE_RAW,
            data: frame.get(..cut).unwrap_or(&frame),
        };
        decoder.decode(&f, &mut sink);
        decoder.tick(ts, &mut sink);
    }
    decoder.flush(&mut sink);
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// TCP reassembly of one direction. Input: the out-of-order limit (`u16`, bytes), then
/// segments, each `flags: u8` (bit 0 SYN, bit 1 FIN, bit 2 absolute sequence number as `u32`,
/// else a signed `i16` step from the end of the previous segment, bit 3 flush after it),
/// the sequence field, `len: u8` and `len` payload bytes.
///
/// Panics if the reassembler delivers more bytes than it was given.
pub fn reassembly(data: &[u8]) {
    let mut s = Script { data };
    let mut r = Reassembler::new(usize::from(s.u16()));
    let mut fed: u64 = 0;
    let mut delivered: u64 = 0;
    let mut next_seq: u32 = 0;
    let mut out = |c: Chunk<'_>| {
        if let Chunk::Data(d) = c {
            delivered += d.len() as u64;
        }
    };
    while !s.done() {
        let flags = s.u8();
        let seq = if flags & 4 != 0 {
            s.u32()
        } else {
            next_seq.wrapping_add_signed(i32::from(s.u16() as i16))
        };
        let len = usize::from(s.u8());
        let payload = s.take(len);
        fed += payload.len() as u64;
        r.segment(seq, flags & 1 != 0, flags & 2 != 0, payload, &mut out);
        next_seq = seq.wrapping_add(payload.len() as u32);
        if flags & 8 != 0 {
            r.flush(&mut out);
        }
    }
    r.flush(&mut out);
    assert!(delivered <= fed, "reassembler delivered {delivered} bytes of {fed} fed");
}

/// Index in [`PROTOCOLS`] of the protocol named `name`.
pub fn protocol_index(name: &str) -> Option<usize> {
    PROTOCOLS.iter().position(|p| p.name == name)
}

/// One protocol parser, made by the registry as the flow layer makes it. Input: a byte that
/// picks the transport among the protocol's (and ICMP vs ICMPv6), then chunks, each
/// `ctl: u8, len: u16` and `len` bytes. `ctl` bit 0: the direction (the client sends first),
/// bit 1: a gap of `len` bytes instead of data (TCP), bit 2: a tick after the chunk; the other
/// bits advance the packet clock in seconds. At the end the parser is ticked far ahead and
/// closed, and every transaction's fields are serialized as they would be in an event.
///
/// An unknown protocol name does nothing.
pub fn parser(proto: &str, data: &[u8]) {
    let Some(idx) = protocol_index(proto) else { return };
    let p = PROTOCOLS[idx];
    let mut s = Script { data };
    let sel = usize::from(s.u8());
    let transport =
        p.transports.get(sel % p.transports.len().max(1)).copied().unwrap_or(Transport::Tcp);
    let ip_proto = match transport {
        Transport::Tcp => 6,
        Transport::Udp => 17,
        Transport::Icmp if sel & 0x80 != 0 => 58,
        Transport::Icmp => 1,
    };
    let Some(mut parser) = registry().make(idx, transport, ip_proto) else { return };
    let mut txns: Vec<Txn> = Vec::new();
    let mut ts: i64 = 1_600_000_000_000_000_000;
    while !s.done() {
        let ctl = s.u8();
        let len = s.u16();
        ts = ts.saturating_add(i64::from(ctl >> 3) * 1_000_000_000);
        let dir = if ctl & 1 == 0 { Dir::ToServer } else { Dir::ToClient };
        if ctl & 2 != 0 && transport == Transport::Tcp {
            parser.gap(dir, u64::from(len));
        } else {
            parser.data(dir, ts, s.take(usize::from(len)), &mut txns);
        }
        if ctl & 4 != 0 {
            parser.tick(ts, &mut txns);
        }
        drain(&mut txns);
    }
    parser.tick(ts.saturating_add(3_600_000_000_000), &mut txns);
    parser.close(ts, &mut txns);
    drain(&mut txns);
    let _ = parser.take_counters();
}

fn drain(txns: &mut Vec<Txn>) {
    for t in txns.drain(..) {
        let _ = serde_json::to_vec(&t.fields);
    }
}

/// Largest seed written (libFuzzer's `-max_len` follows the largest seed).
const MAX_SEED: usize = 16 * 1024;
/// Seeds per target taken from one capture.
const SEEDS_PER_CAPTURE: usize = 8;

/// Seed inputs for every target from one capture file, handed to `out(target, input)`: the
/// capture itself (cut to [`MAX_SEED`]) for `capture_file`; its frames for `decode` (grouped by
/// link type); its TCP segments for `reassembly`; its application payloads, in the parser
/// script format, for `parser_<name>` of the protocol the registry picks by port. `defrag` seeds
/// are made by [`defrag_seeds`].
pub fn seeds(capture: &[u8], out: &mut dyn FnMut(&str, Vec<u8>)) {
    use std::collections::HashMap;
    out("capture_file", capture[..capture.len().min(MAX_SEED)].to_vec());
    let Ok(mut file) =
        CaptureFile::from_reader(Box::new(std::io::Cursor::new(capture.to_vec())), "seed".into())
    else {
        return;
    };
    let settings = &setup().0;
    let registry = registry();
    let mut decoder = Decoder::new(settings.tunnels.clone(), Some(&settings.defrag), 64);
    // Per link type: a decode script of the first frames.
    let mut frames: HashMap<u32, Vec<u8>> = HashMap::new();
    // Per flow (canonical endpoints): protocol, client, script; and per TCP direction segments.
    type Key = (std::net::IpAddr, u16, std::net::IpAddr, u16, u8);
    let mut flows: HashMap<Key, (usize, Key, Vec<u8>)> = HashMap::new();
    let mut streams: HashMap<Key, Vec<u8>> = HashMap::new();
    let mut on_packet = |p: &Packet<'_>| {
        let Some((sport, dport)) = p.ports else { return };
        let k: Key = (p.src, sport, p.dst, dport, p.proto);
        if p.proto == 6 {
            if let Some(tcp) = p.tcp {
                let s = streams.entry(k).or_insert_with(|| 1024u16.to_be_bytes().to_vec());
                if s.len() + p.payload.len() < MAX_SEED {
                    let flags = 4
                        | u8::from(tcp.flags & decode::TCP_SYN != 0)
                        | (u8::from(tcp.flags & decode::TCP_FIN != 0) << 1);
                    s.push(flags);
                    s.extend_from_slice(&tcp.seq.to_be_bytes());
                    let n = p.payload.len().min(255);
                    s.push(n as u8);
                    s.extend_from_slice(&p.payload[..n]);
                }
            }
        }
        let transport = match p.proto {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 | 58 => Transport::Icmp,
            _ => return,
        };
        if p.payload.is_empty() {
            return;
        }
        let rev: Key = (p.dst, dport, p.src, sport, p.proto);
        let canon = if k <= rev { k } else { rev };
        let entry = match flows.get_mut(&canon) {
            Some(e) => e,
            None => {
                let idx = match transport {
                    Transport::Icmp => registry.by_port(transport, 0, 0),
                    _ => registry.by_port(transport, dport, sport),
                };
                let Some(idx) = idx else { return };
                let sel = PROTOCOLS[idx].transports.iter().position(|t| *t == transport);
                let sel = sel.unwrap_or(0) as u8 | if p.proto == 58 { 0x80 } else { 0 };
                flows.entry(canon).or_insert((idx, k, vec![sel]))
            }
        };
        let script = &mut entry.2;
        if script.len() + p.payload.len() < MAX_SEED {
            let ctl = u8::from(entry.1 != k);
            let n = p.payload.len().min(usize::from(u16::MAX));
            script.push(ctl);
            script.extend_from_slice(&(n as u16).to_be_bytes());
            script.extend_from_slice(&p.payload[..n]);
        }
    };
    let mut n = 0usize;
    while let Ok(Some(f)) = file.next_frame() {
        n += 1;
        if n > 20_000 {
            break;
        }
        let script = frames.entry(f.linktype).or_insert_with(|| {
            let idx =
                LINKTYPES.iter().position(|l| *l == f.linktype).unwrap_or(LINKTYPES.len() - 1);
            vec![idx as u8, 0]
        });
        if script.len() + f.data.len() < MAX_SEED {
            script.extend_from_slice(&(f.data.len() as u16).to_be_bytes());
            script.push(0);
            script.extend_from_slice(f.data);
        }
        let frame =
            FrameRef { ts_ns: f.ts_ns, wire_len: f.wire_len, linktype: f.linktype, data: f.data };
        decoder.decode(&frame, &mut on_packet);
    }
    decoder.flush(&mut on_packet);
    for (_, script) in frames {
        out("decode", script);
    }
    let mut by_proto: HashMap<usize, usize> = HashMap::new();
    let mut flows: Vec<_> = flows.into_values().collect();
    flows.sort_by_key(|f| std::cmp::Reverse(f.2.len()));
    for (idx, _, script) in flows {
        let count = by_proto.entry(idx).or_default();
        if *count < SEEDS_PER_CAPTURE {
            *count += 1;
            out(&format!("parser_{}", PROTOCOLS[idx].name), script);
        }
    }
    let mut streams: Vec<_> = streams.into_values().filter(|s| s.len() > 2).collect();
    streams.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in streams.into_iter().take(SEEDS_PER_CAPTURE) {
        out("reassembly", s);
    }
}

/// A few well-formed fragment trains for `defrag` (in its script format): IPv4 and IPv6, in
/// order, reversed, overlapping and duplicated.
pub fn defrag_seeds() -> Vec<Vec<u8>> {
    let frag = |flags: u8, offset: u16, len: u8| {
        let mut v = vec![flags];
        v.extend_from_slice(&offset.to_be_bytes());
        v.push(len);
        v.push(1);
        v.extend((0..len).map(|i| i.wrapping_mul(7)));
        v
    };
    let mut seeds = Vec::new();
    for v6 in [0u8, 1] {
        let mut in_order = vec![0x00];
        in_order.extend(frag(v6 | 2, 0, 64));
        in_order.extend(frag(v6, 8, 40));
        let mut reversed = vec![0x00];
        reversed.extend(frag(v6, 8, 40));
        reversed.extend(frag(v6 | 2, 0, 64));
        let mut overlap = vec![0x11];
        overlap.extend(frag(v6 | 2, 0, 64));
        overlap.extend(frag(v6 | 2, 4, 64));
        overlap.extend(frag(v6 | 2, 4, 64));
        overlap.extend(frag(v6 | 4, 0, 16));
        overlap.extend(frag(v6, 12, 8));
        seeds.extend([in_order, reversed, overlap]);
    }
    seeds
}
