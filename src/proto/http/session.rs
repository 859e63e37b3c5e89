//! The HTTP session of one connection: per direction a state machine over heads and bodies,
//! pairing of requests with final responses (pipelining, interim 1xx, upgrades), the limits,
//! and the transaction event of each pair.

use super::body::{self, Body, Step};
use super::fields::*;
use super::head::{self, HeadError, HeadLimits, StartLine};
use super::parser::{last_two, resync, skip_scan, Resync};
use super::{url, PROTOCOL};
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::{BTreeMap, VecDeque};

/// Interim (1xx) status codes kept per request; more are counted, not listed.
pub(super) const MAX_INTERIM: usize = 8;

/// Settings resolved once per flow from the configuration and the stream limits.
struct Settings {
    send_headers: Vec<String>,
    send_all: bool,
    redact: Vec<String>,
    include_body_for: Vec<String>,
    max_body: usize,
    head: HeadLimits,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
}

/// One message (request or response) as it is read.
#[derive(Debug)]
struct Message {
    dir: Dir,
    start_ns: i64,
    end_ns: i64,
    start: StartLine,
    minor: Option<u8>,
    headers: BTreeMap<String, String>,
    host: Option<String>,
    user_agent: Option<String>,
    referrer: Option<String>,
    mime: Option<String>,
    /// Bytes on the wire: head and body.
    wire: u64,
    /// Body payload bytes (lost ones included).
    payload: u64,
    /// Body bytes lost in capture gaps.
    missing: u64,
    capture: Option<Vec<u8>>,
    notes: Vec<String>,
}

impl Message {
    fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    fn method(&self) -> &str {
        match &self.start {
            StartLine::Request { method, .. } => method,
            StartLine::Response { .. } => "",
        }
    }
}

#[derive(Debug)]
struct Request {
    id: u64,
    msg: Message,
    /// The body has been read completely.
    done: bool,
    interim: Vec<u16>,
    interim_bytes: u64,
}

#[derive(Debug)]
struct Response {
    msg: Message,
    req: Option<Request>,
}

/// What a direction is doing.
#[derive(Debug)]
enum State {
    /// Reading a head (the side buffer holds its first bytes).
    Head,
    /// The head passed `max_header_bytes`: the first lines are kept, the rest skipped until the
    /// blank line. `tail` holds the last two bytes seen, to find `\n\n` / `\n\r\n`.
    SkipHead {
        kept: Vec<u8>,
        skipped: u64,
        tail: [u8; 2],
        start_ns: i64,
    },
    ReqBody {
        id: u64,
        body: Body,
        hold: bool,
    },
    RespBody {
        resp: Box<Response>,
        body: Body,
    },
    /// After a request asking to switch protocols: bytes are held until the response.
    Hold,
    /// No longer HTTP (after 101 or a 2xx to CONNECT).
    Tunnel,
    /// Looking for the next plausible start line.
    Resync {
        at_line_start: bool,
    },
}

struct Side {
    buf: Vec<u8>,
    state: State,
    /// Where the end-of-head search stopped in `buf`.
    scanned: usize,
    /// Packet time of the first byte of the head being read.
    head_ts: Option<i64>,
    last_ns: i64,
    /// Held bytes were released: process them.
    wake: bool,
}

impl Side {
    fn new() -> Side {
        Side {
            buf: Vec::new(),
            state: State::Head,
            scanned: 0,
            head_ts: None,
            last_ns: 0,
            wake: false,
        }
    }
}

pub struct HttpParser {
    cfg: Settings,
    sides: [Side; 2],
    pending: VecDeque<Request>,
    next_id: u64,
    counters: ParserCounters,
    /// Transactions completed by a `gap` call (which has no output), published on the next call.
    parked: Vec<Txn>,
    /// The connection stopped being HTTP (`CONNECT` answered 2xx, `101`): reported once by
    /// [`Parser::handoff`], so the flow layer hands the rest to the protocol it finds there.
    switched: bool,
}

fn idx(d: Dir) -> usize {
    usize::from(d == Dir::ToClient)
}

fn dir_of(s: usize) -> Dir {
    if s == 0 {
        Dir::ToServer
    } else {
        Dir::ToClient
    }
}

/// Appends body bytes to a capture buffer, up to `limit`.
fn append(cap: &mut Option<Vec<u8>>, p: &[u8], limit: usize) {
    if let Some(c) = cap {
        let room = limit.saturating_sub(c.len());
        c.extend_from_slice(p.get(..room.min(p.len())).unwrap_or_default());
    }
}

impl HttpParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        let c = &ctx.config.http;
        let lower = |v: &[String]| v.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        HttpParser {
            cfg: Settings {
                send_headers: lower(&c.send_headers),
                send_all: c.send_all_headers,
                redact: lower(&c.redact_headers),
                include_body_for: lower(&c.include_body_for),
                max_body: c.max_body_bytes.min(ctx.limits.max_buffer_bytes),
                head: HeadLimits {
                    max_headers: c.max_headers.max(1),
                    max_bytes: c.max_header_bytes.clamp(64, ctx.limits.max_buffer_bytes.max(64)),
                },
                max_buffer: ctx.limits.max_buffer_bytes.max(64),
                max_pending: ctx.limits.max_pending.max(1),
                timeout_ns: ctx.limits.transaction_timeout_ns,
            },
            sides: [Side::new(), Side::new()],
            switched: false,
            pending: VecDeque::new(),
            next_id: 0,
            counters: ParserCounters::default(),
            parked: Vec::new(),
        }
    }

    /// Feeds bytes of side `s` through its buffer.
    fn feed(&mut self, s: usize, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let Some(side) = self.sides.get_mut(s) else { return };
        let mut buf = std::mem::take(&mut side.buf);
        if buf.is_empty() {
            let used = self.run(s, ts, bytes, out);
            buf.extend_from_slice(bytes.get(used..).unwrap_or_default());
        } else {
            buf.extend_from_slice(bytes);
            let used = self.run(s, ts, &buf, out);
            buf.drain(..used.min(buf.len()));
        }
        let side = &mut self.sides[s];
        if buf.len() > self.cfg.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            side.state = State::Resync { at_line_start: false };
            side.head_ts = None;
            side.scanned = 0;
        }
        if matches!(side.state, State::Tunnel) {
            buf.clear();
        }
        side.buf = buf;
    }

    /// Runs side `s`'s state machine over `input`; returns the bytes used (the rest is kept).
    fn run(&mut self, s: usize, ts: i64, input: &[u8], out: &mut Vec<Txn>) -> usize {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let state = std::mem::replace(&mut self.sides[s].state, State::Head);
            match state {
                State::Tunnel => {
                    self.sides[s].state = State::Tunnel;
                    return input.len();
                }
                State::Hold => {
                    let side = &mut self.sides[s];
                    if rest.len() > self.cfg.head.max_bytes {
                        // Never answered: these bytes were not HTTP after all (or are lost).
                        self.counters.limit_hits += 1;
                        side.state = State::Resync { at_line_start: false };
                        side.head_ts = None;
                        return input.len();
                    }
                    side.state = State::Hold;
                    if !rest.is_empty() {
                        side.head_ts.get_or_insert(ts);
                    }
                    return pos;
                }
                State::Resync { at_line_start } => {
                    match resync(rest, at_line_start, self.cfg.head.max_bytes) {
                        Resync::Found(off) => {
                            pos += off;
                            self.sides[s].scanned = 0;
                        }
                        Resync::Keep(off) => {
                            self.sides[s].state = State::Resync { at_line_start: true };
                            return pos + off;
                        }
                        Resync::Drop { ends_line } => {
                            self.sides[s].state = State::Resync { at_line_start: ends_line };
                            return input.len();
                        }
                    }
                }
                State::Head => {
                    if rest.is_empty() {
                        return pos;
                    }
                    let side = &mut self.sides[s];
                    match head::parse_head(rest, side.scanned, self.cfg.head) {
                        Ok(h) => {
                            side.scanned = 0;
                            let start_ns = side.head_ts.take().unwrap_or(ts);
                            pos += h.len;
                            let next = self.on_head(s, ts, start_ns, h, 0, out);
                            self.sides[s].state = next;
                        }
                        Err(HeadError::Incomplete { scanned }) => {
                            side.scanned = scanned;
                            side.head_ts.get_or_insert(ts);
                            return pos;
                        }
                        Err(HeadError::TooLarge { keep }) => {
                            let kept = rest.get(..keep).unwrap_or_default().to_vec();
                            side.state = State::SkipHead {
                                kept,
                                skipped: (rest.len() - keep.min(rest.len())) as u64,
                                tail: last_two([0, 0], rest),
                                start_ns: side.head_ts.take().unwrap_or(ts),
                            };
                            side.scanned = 0;
                            return input.len();
                        }
                        Err(HeadError::Malformed(_)) => {
                            self.counters.malformed += 1;
                            side.scanned = 0;
                            side.head_ts = None;
                            side.state = State::Resync { at_line_start: false };
                            pos += 1 + head::leading_blank(rest);
                        }
                    }
                }
                State::SkipHead { kept, skipped, tail, start_ns } => match skip_scan(tail, rest) {
                    Some(end) => {
                        pos += end;
                        match head::parse_truncated(&kept, self.cfg.head.max_headers) {
                            Ok(h) => {
                                let extra = skipped + end as u64;
                                let next = self.on_head(s, ts, start_ns, h, extra, out);
                                self.sides[s].state = next;
                            }
                            Err(_) => {
                                self.counters.malformed += 1;
                                self.sides[s].state = State::Resync { at_line_start: true };
                            }
                        }
                    }
                    None => {
                        self.sides[s].state = State::SkipHead {
                            kept,
                            skipped: skipped + rest.len() as u64,
                            tail: last_two(tail, rest),
                            start_ns,
                        };
                        return input.len();
                    }
                },
                State::ReqBody { id, mut body, hold } => {
                    let (w0, p0) = (body.wire, body.payload);
                    let limit = self.cfg.max_body;
                    let (used, step) = match self.find_req(id) {
                        Some(r) => {
                            let cap = &mut r.msg.capture;
                            body.feed(rest, &mut |p| append(cap, p, limit))
                        }
                        None => body.feed(rest, &mut |_| {}),
                    };
                    pos += used;
                    if let Some(r) = self.find_req(id) {
                        r.msg.wire += body.wire - w0;
                        r.msg.payload += body.payload - p0;
                        r.msg.end_ns = ts;
                        match step {
                            Step::NeedMore => {}
                            Step::Done => r.done = true,
                            Step::Error(e) => {
                                r.done = true;
                                r.msg.note(e);
                            }
                        }
                    }
                    self.sides[s].state = match step {
                        Step::NeedMore => State::ReqBody { id, body, hold },
                        Step::Done if hold => State::Hold,
                        Step::Done => State::Head,
                        Step::Error(_) => {
                            self.counters.malformed += 1;
                            State::Resync { at_line_start: false }
                        }
                    };
                    if step == Step::NeedMore {
                        return pos;
                    }
                }
                State::RespBody { mut resp, mut body } => {
                    let (w0, p0) = (body.wire, body.payload);
                    let limit = self.cfg.max_body;
                    let cap = &mut resp.msg.capture;
                    let (used, step) = body.feed(rest, &mut |p| append(cap, p, limit));
                    pos += used;
                    resp.msg.wire += body.wire - w0;
                    resp.msg.payload += body.payload - p0;
                    resp.msg.end_ns = ts;
                    match step {
                        Step::NeedMore => {
                            self.sides[s].state = State::RespBody { resp, body };
                            return pos;
                        }
                        Step::Done => {
                            self.publish(resp.req, Some(resp.msg), out);
                        }
                        Step::Error(e) => {
                            self.counters.malformed += 1;
                            resp.msg.note(e);
                            self.publish(resp.req, Some(resp.msg), out);
                            self.sides[s].state = State::Resync { at_line_start: false };
                        }
                    }
                }
            }
        }
    }

    /// The pending request with this id, also when a response in progress already took it.
    fn find_req(&mut self, id: u64) -> Option<&mut Request> {
        let [a, b] = &mut self.sides;
        let in_resp = [a, b].into_iter().find_map(|side| match &mut side.state {
            State::RespBody { resp, .. } => resp.req.as_mut().filter(|r| r.id == id),
            _ => None,
        });
        match in_resp {
            Some(r) => Some(r),
            None => self.pending.iter_mut().find(|r| r.id == id),
        }
    }

    /// Builds the message of a head (headers chosen, redacted, capture decided).
    fn message(&self, dir: Dir, start_ns: i64, ts: i64, h: &head::Head, extra: u64) -> Message {
        let mut m = Message {
            dir,
            start_ns,
            end_ns: ts,
            start: h.start.clone(),
            minor: h.minor,
            headers: BTreeMap::new(),
            host: None,
            user_agent: None,
            referrer: None,
            mime: None,
            wire: h.len as u64 + extra,
            payload: 0,
            missing: 0,
            capture: None,
            notes: h.anomalies.iter().map(|a| (*a).to_owned()).collect(),
        };
        for (name, value) in &h.headers {
            let lname = name.to_ascii_lowercase();
            match lname.as_str() {
                "host" if m.host.is_none() => m.host = Some(value.clone()),
                "user-agent" if m.user_agent.is_none() => m.user_agent = Some(value.clone()),
                "referer" if m.referrer.is_none() => m.referrer = Some(value.clone()),
                "content-type" if m.mime.is_none() => {
                    let t = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                    m.mime = (!t.is_empty()).then_some(t);
                }
                _ => {}
            }
            if !(self.cfg.send_all || self.cfg.send_headers.contains(&lname)) {
                continue;
            }
            let v = if self.cfg.redact.contains(&lname) {
                redact(&lname, value)
            } else {
                value.clone()
            };
            m.headers
                .entry(lname)
                .and_modify(|old| {
                    old.push_str(", ");
                    old.push_str(&v);
                })
                .or_insert(v);
        }
        if let Some(mime) = &m.mime {
            if self
                .cfg
                .include_body_for
                .iter()
                .any(|p| !p.is_empty() && mime.starts_with(p.as_str()))
            {
                m.capture = Some(Vec::new());
            }
        }
        if h.too_many_headers {
            m.note(format!("more than {} headers", self.cfg.head.max_headers));
        }
        if h.framing.transfer_encoding && h.framing.content_length.is_some() {
            m.note("both Transfer-Encoding and Content-Length");
        }
        m
    }

    /// A head was read on side `s`; returns that side's next state.
    fn on_head(
        &mut self,
        s: usize,
        ts: i64,
        start_ns: i64,
        h: head::Head,
        extra: u64,
        out: &mut Vec<Txn>,
    ) -> State {
        self.counters.messages += 1;
        let mut msg = self.message(dir_of(s), start_ns, ts, &h, extra);
        if h.too_many_headers {
            self.counters.limit_hits += 1;
        }
        if h.truncated {
            self.counters.limit_hits += 1;
            msg.note(format!("header block larger than {} bytes", self.cfg.head.max_bytes));
        }
        let f = &h.framing;
        let max_trailer = self.cfg.head.max_bytes;
        match &h.start {
            StartLine::Request { method, .. } => {
                let framing = if f.transfer_encoding {
                    if f.chunked {
                        body::Framing::Chunked
                    } else {
                        msg.note("request Transfer-Encoding does not end with chunked");
                        body::Framing::None
                    }
                } else {
                    f.content_length.map_or(body::Framing::None, body::Framing::Length)
                };
                let hold = method.eq_ignore_ascii_case("CONNECT") || f.upgrade;
                let body = Body::new(framing, max_trailer);
                if self.pending.len() >= self.cfg.max_pending {
                    self.counters.limit_hits += 1;
                    if let Some(mut old) = self.pending.pop_front() {
                        old.msg.note("pending request limit reached");
                        self.publish(Some(old), None, out);
                    }
                }
                let id = self.next_id;
                self.next_id += 1;
                let done = body.is_done();
                self.pending.push_back(Request {
                    id,
                    msg,
                    done,
                    interim: Vec::new(),
                    interim_bytes: 0,
                });
                match (done, hold) {
                    (true, true) => State::Hold,
                    (true, false) => State::Head,
                    (false, _) => State::ReqBody { id, body, hold },
                }
            }
            StartLine::Response { code, .. } if (100..200).contains(code) && *code != 101 => {
                match self.pending.front_mut() {
                    Some(r) => {
                        r.interim_bytes += msg.wire;
                        if r.interim.len() < MAX_INTERIM {
                            r.interim.push(*code);
                        } else {
                            let n = format!("more than {MAX_INTERIM} interim responses");
                            if !r.msg.notes.contains(&n) {
                                self.counters.limit_hits += 1;
                                r.msg.note(n);
                            }
                        }
                    }
                    None => {
                        msg.note("interim response");
                        self.publish(None, Some(msg), out);
                    }
                }
                State::Head
            }
            StartLine::Response { code, .. } => {
                let code = *code;
                let req = self.pending.pop_front();
                let method = req.as_ref().map(|r| r.msg.method().to_ascii_uppercase());
                let connect_ok = method.as_deref() == Some("CONNECT") && (200..300).contains(&code);
                let framing = if method.as_deref() == Some("HEAD")
                    || code < 200
                    || code == 204
                    || code == 304
                    || connect_ok
                {
                    body::Framing::None
                } else if f.transfer_encoding {
                    if f.chunked {
                        body::Framing::Chunked
                    } else {
                        body::Framing::UntilClose
                    }
                } else {
                    f.content_length.map_or(body::Framing::UntilClose, body::Framing::Length)
                };
                let other = &mut self.sides[1 - s.min(1)];
                if code == 101 || connect_ok {
                    self.switched = true;
                    let other = &mut self.sides[1 - s.min(1)];
                    other.state = State::Tunnel;
                    other.buf.clear();
                    other.head_ts = None;
                    self.publish(req, Some(msg), out);
                    return State::Tunnel;
                }
                if matches!(other.state, State::Hold) {
                    other.state = State::Head;
                    other.wake = true;
                }
                let body = Body::new(framing, max_trailer);
                if body.is_done() {
                    self.publish(req, Some(msg), out);
                    return State::Head;
                }
                State::RespBody { resp: Box::new(Response { msg, req }), body }
            }
        }
    }

    /// Publishes a transaction (either part may be missing).
    fn publish(&mut self, req: Option<Request>, resp: Option<Message>, out: &mut Vec<Txn>) {
        if req.is_none() || resp.is_none() {
            self.counters.unmatched += 1;
        }
        out.push(txn(req, resp));
    }

    /// A head cut short by missing bytes: a request whose start line was read is published at
    /// once (noted; without a response, as which one answers it cannot be told) instead of
    /// vanishing, which a large TCP gap after the request line made an evasion route. Pairing
    /// of the requests around it is as before. Anything less is counted as malformed.
    fn head_cut_by_gap(&mut self, s: usize, partial: &[u8], start_ns: i64, ts: i64) {
        let Ok(mut h) = head::parse_truncated(partial, self.cfg.head.max_headers) else {
            self.counters.malformed += 1;
            return;
        };
        if !matches!(h.start, StartLine::Request { .. }) {
            // A response head: its request (if any) is published unanswered at the end.
            self.counters.malformed += 1;
            return;
        }
        // Not over the size limit: cut by the gap (noted below).
        h.truncated = false;
        let mut out = Vec::new();
        let _ = self.on_head(s, ts, start_ns, h, 0, &mut out);
        if let Some(mut r) = self.pending.pop_back() {
            r.done = true;
            r.msg.note("head cut short by missing bytes");
            self.publish(Some(r), None, &mut out);
        }
        self.parked.extend(out);
    }

    fn publish_unanswered(&mut self, mut r: Request, why: &str, out: &mut Vec<Txn>) {
        r.msg.note(why);
        self.publish(Some(r), None, out);
    }
}

/// Redacted value: `*`, keeping the scheme of credentials (`Basic *`).
pub(super) fn redact(name: &str, value: &str) -> String {
    if name.ends_with("authorization") {
        if let Some((scheme, _)) = value.split_once(' ') {
            return format!("{scheme} *");
        }
    }
    "*".to_owned()
}

fn body_fields(m: &Message) -> Option<BodyFields> {
    let content = m.capture.as_ref().filter(|c| !c.is_empty());
    (m.payload > 0 || content.is_some()).then(|| BodyFields {
        bytes: m.payload,
        content: content.map(|c| String::from_utf8_lossy(c).into_owned()),
    })
}

/// The transaction of a request and/or its response.
fn txn(req: Option<Request>, resp: Option<Message>) -> Txn {
    let start = req.as_ref().map(|r| r.msg.start_ns).or(resp.as_ref().map(|r| r.start_ns));
    let mut url = None;
    let mut user_agent = None;
    let mut request = None;
    let mut response = None;
    let mut notes = Vec::new();
    let (mut client_bytes, mut server_bytes) = (0, 0);
    let mut add_bytes = |dir: Dir, n: u64| match dir {
        Dir::ToServer => client_bytes += n,
        Dir::ToClient => server_bytes += n,
    };
    let mut version = None;
    let mut interim = Vec::new();
    if let Some(r) = &req {
        let m = &r.msg;
        add_bytes(m.dir, m.wire);
        let other = if m.dir == Dir::ToServer { Dir::ToClient } else { Dir::ToServer };
        add_bytes(other, r.interim_bytes);
        interim.clone_from(&r.interim);
        if let StartLine::Request { method, target } = &m.start {
            url = Some(url::from_request(method, target, m.host.as_deref()));
            request = Some(RequestFields {
                method: method.clone(),
                bytes: m.wire,
                body: body_fields(m),
                mime_type: m.mime.clone(),
                referrer: m.referrer.clone(),
                headers: m.headers.clone(),
            });
        }
        user_agent = m.user_agent.clone().map(|original| UserAgent { original });
        version = m.minor;
        if m.missing > 0 {
            notes.push(format!("request: {} body bytes missing", m.missing));
        }
        notes.extend(m.notes.iter().map(|n| format!("request: {n}")));
    }
    if let Some(m) = &resp {
        add_bytes(m.dir, m.wire);
        if let StartLine::Response { code, reason } = &m.start {
            response = Some(ResponseFields {
                status_code: Some(*code),
                status_phrase: (!reason.is_empty()).then(|| reason.clone()),
                bytes: Some(m.wire),
                body: body_fields(m),
                mime_type: m.mime.clone(),
                headers: m.headers.clone(),
                interim_status_codes: std::mem::take(&mut interim),
            });
        }
        version = version.or(m.minor);
        if m.missing > 0 {
            notes.push(format!("response: {} body bytes missing", m.missing));
        }
        notes.extend(m.notes.iter().map(|n| format!("response: {n}")));
    }
    if response.is_none() && !interim.is_empty() {
        response = Some(ResponseFields {
            status_code: None,
            status_phrase: None,
            bytes: None,
            body: None,
            mime_type: None,
            headers: BTreeMap::new(),
            interim_status_codes: interim,
        });
    }
    if req.is_none() {
        notes.push("response without request".into());
    }
    // The flow's initiator is the HTTP server when the capture started mid-connection with the
    // server's bytes: `source` is then the server, so `server.domain` must not name it.
    let inverted = match (&req, &resp) {
        (Some(r), _) => r.msg.dir == Dir::ToClient,
        (None, Some(m)) => m.dir == Dir::ToServer,
        (None, None) => false,
    };
    if inverted {
        notes.push("the flow's initiator is the HTTP server (connection picked up mid-way)".into());
    }
    let status_code = resp.as_ref().and_then(|m| match m.start {
        StartLine::Response { code, .. } => Some(code),
        StartLine::Request { .. } => None,
    });
    let domain = url.as_ref().and_then(|u| u.domain.clone());
    // Packetbeat's top-level fields: `GET`, `GET /path`, `/path`.
    let packetbeat = req.as_ref().and_then(|r| match &r.msg.start {
        StartLine::Request { method, target } => Some((method.clone(), target.clone())),
        StartLine::Response { .. } => None,
    });
    let mut t = Txn::new(&PROTOCOL, start.unwrap_or(0),
        Fields {
            http: HttpFields { version: version.map(|v| format!("1.{v}")), request, response },
            url,
            user_agent,
        },
    );
    t.end_ns = resp.as_ref().map(|m| m.end_ns);
    if let Some((method, target)) = packetbeat {
        let path = target.split(['?', '#']).next().unwrap_or_default().to_owned();
        t.query = Some(format!("{method} {path}"));
        t.resource = Some(path);
        t.method = Some(method);
    }
    t.client_bytes = client_bytes;
    t.server_bytes = server_bytes;
    match status_code {
        Some(c) if c >= 400 => {
            t.outcome = Outcome::Failure;
            t.status = "Error";
        }
        Some(_) => t.outcome = Outcome::Success,
        None => {}
    }
    t.notes = notes;
    if let Some(d) = domain {
        t.related_hosts.push(d.clone());
        t.server_domain = (!inverted).then_some(d);
    }
    t
}

impl Parser for HttpParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        out.append(&mut self.parked);
        let s = idx(dir);
        self.sides[s].last_ns = ts_ns;
        self.feed(s, ts_ns, bytes, out);
        // A response released bytes held after an upgrade request: parse them now. Each round
        // needs another held side, so two rounds are enough.
        for _ in 0..2 {
            for o in 0..2 {
                if std::mem::take(&mut self.sides[o].wake) {
                    self.feed(o, ts_ns, &[], out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let s = idx(dir);
        let side = &mut self.sides[s];
        let partial = std::mem::take(&mut side.buf);
        side.scanned = 0;
        let head_ts = side.head_ts.take();
        let last_ns = side.last_ns;
        let state = std::mem::replace(&mut side.state, State::Resync { at_line_start: true });
        let next = match state {
            State::Tunnel => State::Tunnel,
            State::Head if !partial.is_empty() => {
                self.head_cut_by_gap(s, &partial, head_ts.unwrap_or(last_ns), last_ns);
                State::Resync { at_line_start: true }
            }
            State::SkipHead { kept, start_ns, .. } => {
                self.head_cut_by_gap(s, &kept, start_ns, last_ns);
                State::Resync { at_line_start: true }
            }
            State::ReqBody { id, mut body, hold } => {
                let kept = body.gap(len);
                let done = body.is_done();
                if let Some(r) = self.find_req(id) {
                    if kept {
                        r.msg.wire += len;
                        r.msg.payload += len;
                        r.msg.missing += len;
                    } else {
                        r.msg.note("body cut short by missing bytes");
                        r.done = true;
                    }
                    r.done |= done;
                }
                match (kept, done) {
                    (true, false) => State::ReqBody { id, body, hold },
                    (true, true) if hold => State::Hold,
                    (true, true) => State::Head,
                    (false, _) => State::Resync { at_line_start: true },
                }
            }
            State::RespBody { mut resp, mut body } => {
                let kept = body.gap(len);
                if kept {
                    resp.msg.wire += len;
                    resp.msg.payload += len;
                    resp.msg.missing += len;
                } else {
                    resp.msg.note("body cut short by missing bytes");
                }
                if kept && !body.is_done() {
                    State::RespBody { resp, body }
                } else {
                    let mut out = Vec::new();
                    self.publish(resp.req, Some(resp.msg), &mut out);
                    self.parked.extend(out);
                    if kept {
                        State::Head
                    } else {
                        State::Resync { at_line_start: true }
                    }
                }
            }
            _ => State::Resync { at_line_start: true },
        };
        self.sides[s].state = next;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        out.append(&mut self.parked);
        // The timeout runs from the request's end or the server's last byte, whichever is
        // later: requests pipelined behind a response that is still streaming wait their turn.
        let server_last = self.sides[idx(Dir::ToClient)].last_ns;
        while self.pending.front().is_some_and(|r| {
            r.done && now_ns.saturating_sub(r.msg.end_ns.max(server_last)) > self.cfg.timeout_ns
        }) {
            if let Some(r) = self.pending.pop_front() {
                self.publish_unanswered(r, "no response within the transaction timeout", out);
            }
        }
    }

    fn handoff(&mut self) -> Option<crate::proto::Handoff> {
        std::mem::take(&mut self.switched).then_some(crate::proto::Handoff::Switched)
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        out.append(&mut self.parked);
        for s in 0..2 {
            if let State::ReqBody { id, .. } = self.sides[s].state {
                if let Some(r) = self.find_req(id) {
                    r.msg.note("body incomplete at the end of the connection");
                }
            }
        }
        for s in 0..2 {
            let last = self.sides[s].last_ns;
            let state = std::mem::replace(&mut self.sides[s].state, State::Head);
            if let State::RespBody { mut resp, body } = state {
                if body.until_close() {
                    resp.msg.end_ns = last.max(resp.msg.start_ns);
                } else {
                    resp.msg.note("body incomplete at the end of the connection");
                }
                self.publish(resp.req, Some(resp.msg), out);
            }
        }
        while let Some(r) = self.pending.pop_front() {
            self.publish_unanswered(r, "no response seen", out);
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}

