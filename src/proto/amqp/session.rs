//! The AMQP per-connection session: frames of each direction, synchronous methods paired with
//! their answer on the same channel, content (header and body frames) attached to the method
//! that carries it, logins judged from what follows `connection.start-ok`.
//!
//! - A synchronous request (`queue.declare`, `basic.get`, …, either side may send one:
//!   `connection.start` and `connection.tune` come from the broker) waits in the pending queue
//!   until a method of the same class and channel from the other side answers it (`-ok`,
//!   `basic.get-empty`). With `no-wait` set no answer comes: it is published at once.
//! - A `channel.close` (`connection.close`: every channel) from the other side answers the
//!   requests pending on that channel: they take its reply code and text (a passive declare of
//!   a missing queue: 404). The close itself then waits for its `close-ok`.
//! - `basic.publish`, `basic.deliver`, `basic.return` (asynchronous) and `basic.get-ok` carry
//!   content: the transaction is published when its body is complete (or the next method on
//!   that channel and direction arrives), with the content header's properties and body size.
//!   Other asynchronous methods (`basic.ack`, `basic.nack`, `basic.reject`, …) are transactions
//!   of their own.
//! - Login: after `connection.start-ok`, a `connection.close` with reply code 403
//!   (ACCESS_REFUSED) is an authentication failure (`Txn::auth`), `connection.open-ok` a
//!   success.
//!
//! A malformed frame or lost bytes (`gap`) resynchronise the direction on the next plausible
//! method frame. Limits: pending requests and content in progress (`limits.max_pending`), bytes
//! buffered per direction (`limits.max_buffer_bytes`); each hit is counted.

use super::fields::{AmqpFields, Fields, NetworkTraffic};
use super::parser::{self, ContentHeader, Frame, Method};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

/// Reply code of ACCESS_REFUSED.
const ACCESS_REFUSED: u16 = 403;
/// Bytes searched for a frame start when resynchronising, per call.
const MAX_RESYNC_SCAN: usize = 64 * 1024;

/// A transaction being assembled.
struct Open {
    start: i64,
    end: Option<i64>,
    channel: u16,
    from: Dir,
    class: u16,
    expects: &'static [u16],
    name: &'static str,
    fields: AmqpFields,
    client_bytes: u64,
    server_bytes: u64,
    notes: Vec<String>,
    auth: Option<Outcome>,
    answered: bool,
}

/// A content-carrying method waiting for its header and body frames.
struct Content {
    dir: Dir,
    open: Open,
    /// Body bytes still expected; `None` until the content header arrives.
    remaining: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Login {
    Before,
    /// `connection.start-ok` was sent; the broker's verdict has not come.
    Sent,
    Done,
}

pub struct AmqpParser {
    buf: [Vec<u8>; 2],
    resync: [bool; 2],
    pending: VecDeque<Open>,
    content: Vec<Content>,
    login: Login,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn side(dir: Dir) -> usize {
    usize::from(dir == Dir::ToClient)
}

fn add_bytes(o: &mut Open, dir: Dir, n: u64) {
    match dir {
        Dir::ToServer => o.client_bytes += n,
        Dir::ToClient => o.server_bytes += n,
    }
}

/// Copies the method's arguments into the fields (set ones only: an answer adds its counts).
fn merge_args(f: &mut AmqpFields, m: &Method) {
    let a = m.args.clone();
    macro_rules! set {
        ($($n:ident),*) => { $(if a.$n.is_some() { f.$n = a.$n; })* };
    }
    set!(
        reply_code, reply_text, exchange, exchange_type, queue, routing_key, consumer_tag,
        delivery_tag, message_count, consumer_count, passive, durable, exclusive, auto_delete,
        no_wait, no_ack, no_local, if_unused, if_empty, redelivered, multiple, requeue, mandatory,
        immediate, mechanism, product, version, virtual_host, prefetch_count
    );
    if a.arguments.as_ref().is_some_and(|t| !t.is_empty()) {
        f.arguments = a.arguments;
    }
}

fn merge_header(f: &mut AmqpFields, h: ContentHeader) {
    f.body_size = Some(h.body_size);
    f.content_type = h.content_type;
    f.content_encoding = h.content_encoding;
    f.headers = h.headers.filter(|t| !t.is_empty());
    f.delivery_mode = h.delivery_mode;
    f.priority = h.priority;
    f.correlation_id = h.correlation_id;
    f.reply_to = h.reply_to;
    f.expiration = h.expiration;
    f.message_id = h.message_id;
    f.timestamp = h.timestamp;
    f.kind = h.kind;
    f.user_id = h.user_id;
    f.app_id = h.app_id;
}

impl AmqpParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        AmqpParser {
            buf: [Vec::new(), Vec::new()],
            resync: [false; 2],
            pending: VecDeque::new(),
            content: Vec::new(),
            login: Login::Before,
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn open(dir: Dir, ts: i64, channel: u16, m: &Method, used: u64) -> Open {
        let mut fields = AmqpFields { method: Some(m.name.to_owned()), ..AmqpFields::default() };
        merge_args(&mut fields, m);
        let mut o = Open {
            start: ts,
            end: None,
            channel,
            from: dir,
            class: m.class,
            expects: parser::replies(m.class, m.method),
            name: m.name,
            fields,
            client_bytes: 0,
            server_bytes: 0,
            notes: m.notes.iter().map(|n| (*n).to_owned()).collect(),
            auth: None,
            answered: false,
        };
        add_bytes(&mut o, dir, used);
        o
    }

    fn finish(o: Open) -> Txn {
        let f = o.fields;
        let resource = f.queue.clone().or_else(|| f.exchange.clone()).filter(|r| !r.is_empty());
        let error = f.reply_code.is_some_and(|c| c >= 300);
        let mut t = Txn::new(
            &PROTOCOL,
            o.start,
            Fields { network_traffic: NetworkTraffic { amqp: f } },
        );
        t.end_ns = o.end;
        t.client_bytes = o.client_bytes;
        t.server_bytes = o.server_bytes;
        t.method = Some(o.name.to_owned());
        t.query = Some(match &resource {
            Some(r) => format!("{} {r}", o.name),
            None => o.name.to_owned(),
        });
        t.resource = resource;
        t.auth = o.auth;
        if error {
            t.status = "Error";
            t.outcome = Outcome::Failure;
        } else if o.answered || o.expects.is_empty() {
            t.outcome = Outcome::Success;
        }
        t.notes = o.notes;
        t
    }

    fn push_pending(&mut self, o: Open, out: &mut Vec<Txn>) {
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(mut old) = self.pending.pop_front() {
                old.notes.push("published unanswered: too many pending requests".into());
                out.push(Self::finish(old));
            }
        }
        self.pending.push_back(o);
    }

    /// Ends the content in progress on (dir, channel), if any.
    fn end_content(&mut self, dir: Dir, channel: u16, out: &mut Vec<Txn>) {
        if let Some(i) = self.content.iter().position(|c| c.dir == dir && c.open.channel == channel)
        {
            let mut c = self.content.swap_remove(i);
            match c.remaining {
                None => c.open.notes.push("content header missing".into()),
                Some(0) => {}
                Some(n) => c.open.notes.push(format!("{n} body bytes missing")),
            }
            out.push(Self::finish(c.open));
        }
    }

    fn start_content(&mut self, dir: Dir, open: Open, out: &mut Vec<Txn>) {
        if self.content.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            let c = self.content.remove(0);
            let mut o = c.open;
            o.notes.push("published before its content: too many messages in progress".into());
            out.push(Self::finish(o));
        }
        self.content.push(Content { dir, open, remaining: None });
    }

    fn method(&mut self, dir: Dir, ts: i64, channel: u16, m: Method, used: u64, out: &mut Vec<Txn>) {
        self.end_content(dir, channel, out);
        let (class, id) = (m.class, m.method);
        if (class, id) == (10, 11) {
            self.login = Login::Sent;
        }
        if parser::is_reply(class, id) {
            let at = self.pending.iter().position(|p| {
                p.channel == channel && p.from != dir && p.class == class && p.expects.contains(&id)
            });
            let Some(mut o) = at.and_then(|i| self.pending.remove(i)) else {
                self.counters.unmatched += 1;
                let mut o = Self::open(dir, ts, channel, &m, used);
                o.notes.push("response without request".into());
                out.push(Self::finish(o));
                return;
            };
            merge_args(&mut o.fields, &m);
            o.fields.response_method = Some(m.name.to_owned());
            o.notes.extend(m.notes.iter().map(|n| (*n).to_owned()));
            o.end = Some(ts);
            o.answered = true;
            add_bytes(&mut o, dir, used);
            if (class, id) == (10, 41) && self.login == Login::Sent {
                self.login = Login::Done;
                o.auth = Some(Outcome::Success);
            }
            if parser::carries_content(class, id) {
                self.start_content(dir, o, out);
            } else {
                out.push(Self::finish(o));
            }
            return;
        }
        let mut o = Self::open(dir, ts, channel, &m, used);
        if matches!((class, id), (10, 50) | (20, 40)) {
            // A close answers what the other side was waiting for on that channel (all of
            // them for the connection).
            let mut i = 0;
            while i < self.pending.len() {
                let hit = self.pending.get(i).is_some_and(|p| {
                    p.from != dir && (class == 10 || p.channel == channel) && p.name != m.name
                });
                if !hit {
                    i += 1;
                    continue;
                }
                if let Some(mut p) = self.pending.remove(i) {
                    p.fields.reply_code = m.args.reply_code;
                    p.fields.reply_text = m.args.reply_text.clone();
                    p.notes.push(format!("answered by {}", m.name));
                    p.end = Some(ts);
                    p.answered = true;
                    out.push(Self::finish(p));
                }
            }
            if class == 10 && self.login == Login::Sent {
                self.login = Login::Done;
                if m.args.reply_code == Some(ACCESS_REFUSED) {
                    o.auth = Some(Outcome::Failure);
                }
            }
        }
        if !o.expects.is_empty() {
            if o.fields.no_wait == Some(true) {
                o.answered = true;
                out.push(Self::finish(o));
            } else {
                self.push_pending(o, out);
            }
        } else if parser::carries_content(class, id) {
            self.start_content(dir, o, out);
        } else {
            out.push(Self::finish(o));
        }
    }

    fn frame(&mut self, dir: Dir, ts: i64, frame: Frame, used: u64, out: &mut Vec<Txn>) {
        match frame {
            Frame::Method { channel, method } => self.method(dir, ts, channel, method, used, out),
            Frame::Header { channel, header } => {
                let Some(i) = self
                    .content
                    .iter()
                    .position(|c| c.dir == dir && c.open.channel == channel && c.remaining.is_none())
                else {
                    self.counters.unmatched += 1;
                    return;
                };
                let done = header.body_size == 0;
                if let Some(c) = self.content.get_mut(i) {
                    c.remaining = Some(header.body_size);
                    c.open.notes.extend(header.notes.iter().map(|n| (*n).to_owned()));
                    merge_header(&mut c.open.fields, header);
                    c.open.fields.body_bytes = Some(0);
                    add_bytes(&mut c.open, dir, used);
                    c.open.end = Some(ts);
                }
                if done {
                    self.end_content(dir, channel, out);
                }
            }
            Frame::Body { channel, len } => {
                let Some(i) = self
                    .content
                    .iter()
                    .position(|c| c.dir == dir && c.open.channel == channel && c.remaining.is_some())
                else {
                    self.counters.unmatched += 1;
                    return;
                };
                let mut done = false;
                if let Some(c) = self.content.get_mut(i) {
                    let left = c.remaining.unwrap_or(0).saturating_sub(len);
                    c.remaining = Some(left);
                    done = left == 0;
                    let seen = c.open.fields.body_bytes.unwrap_or(0);
                    c.open.fields.body_bytes = Some(seen + len);
                    add_bytes(&mut c.open, dir, used);
                    c.open.end = Some(ts);
                }
                if done {
                    self.end_content(dir, channel, out);
                }
            }
            Frame::ProtocolHeader(_) | Frame::Heartbeat => {}
        }
    }

    /// Drops bytes up to the next offset where a known method frame parses.
    fn resynchronise(&mut self, s: usize) -> bool {
        let Some(buf) = self.buf.get(s) else { return false };
        let limit = buf.len().min(MAX_RESYNC_SCAN);
        let at = (0..limit).find(|&i| {
            matches!(
                buf.get(i..).map(parser::parse),
                Some(Ok((Frame::Method { ref method, .. }, _))) if method.name != "unknown"
            )
        });
        match (at, self.buf.get_mut(s)) {
            (Some(i), Some(b)) => {
                b.drain(..i);
                true
            }
            (None, Some(b)) => {
                if b.len() > MAX_RESYNC_SCAN {
                    b.drain(..limit);
                }
                false
            }
            _ => false,
        }
    }
}

impl Parser for AmqpParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let s = side(dir);
        let Some(len) = self.buf.get(s).map(Vec::len) else { return };
        if len + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            if let Some(b) = self.buf.get_mut(s) {
                b.clear();
            }
            if let Some(r) = self.resync.get_mut(s) {
                *r = true;
            }
            return;
        }
        if let Some(b) = self.buf.get_mut(s) {
            b.extend_from_slice(bytes);
        }
        loop {
            if self.resync.get(s) == Some(&true) {
                if !self.resynchronise(s) {
                    break;
                }
                if let Some(r) = self.resync.get_mut(s) {
                    *r = false;
                }
            }
            let Some(buf) = self.buf.get(s) else { break };
            match parser::parse(buf) {
                Ok((frame, used)) => {
                    if let Some(b) = self.buf.get_mut(s) {
                        b.drain(..used);
                    }
                    self.counters.messages += 1;
                    self.frame(dir, ts_ns, frame, used as u64, out);
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    if let Some(b) = self.buf.get_mut(s) {
                        b.drain(..1.min(b.len()));
                    }
                    if let Some(r) = self.resync.get_mut(s) {
                        *r = true;
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let s = side(dir);
        if let Some(b) = self.buf.get_mut(s) {
            b.clear();
        }
        if let Some(r) = self.resync.get_mut(s) {
            *r = true;
        }
        for c in self.content.iter_mut().filter(|c| c.dir == dir) {
            c.open.notes.push("bytes missing".into());
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.start > self.timeout_ns) {
            if let Some(mut p) = self.pending.pop_front() {
                p.notes.push("no response within the transaction timeout".into());
                out.push(Self::finish(p));
            }
        }
        let timeout = self.timeout_ns;
        let (late, keep): (Vec<Content>, Vec<Content>) = std::mem::take(&mut self.content)
            .into_iter()
            .partition(|c| now_ns - c.open.end.unwrap_or(c.open.start) > timeout);
        self.content = keep;
        for mut c in late {
            c.open.notes.push("content incomplete within the transaction timeout".into());
            out.push(Self::finish(c.open));
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        for c in std::mem::take(&mut self.content) {
            let mut o = c.open;
            if c.remaining != Some(0) {
                o.notes.push("content incomplete at the end of the connection".into());
            }
            out.push(Self::finish(o));
        }
        while let Some(p) = self.pending.pop_front() {
            out.push(Self::finish(p));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
