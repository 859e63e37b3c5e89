//! The CQL session of one connection: frames per direction (inside v5 segments once a v5
//! connection is set up), requests pending by stream id until the response with that id,
//! bounded by the pending limit, the buffer limit and the transaction timeout.

use super::fields::*;
use super::parser::{self, Decoded, Header, Message, ResultBody};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::{BTreeMap, VecDeque};

#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// v5 segment bytes not yet unwrapped (in segment mode).
    raw: Vec<u8>,
    segments: bool,
    /// Bytes of an over-long frame still to skip.
    skip: usize,
    /// After malformed or lost bytes: wait for a segment starting with a plausible header.
    lost: bool,
    first_ts: Option<i64>,
}

struct Pending {
    stream: i16,
    ts: i64,
    bytes: u64,
    op: u8,
    fields: RequestFields,
    user: Option<String>,
    notes: Vec<String>,
}

/// A response as `txn` takes it: end time, wire bytes, header, body if read, notes.
type Response = (i64, u64, Header, Option<Decoded>, Vec<String>);

pub struct CassandraParser {
    sides: [Side; 2],
    pending: VecDeque<Pending>,
    /// Compression a STARTUP asked for (`lz4`, `snappy`).
    compression: Option<String>,
    /// A v5 STARTUP is waiting for its answer: after it, segments.
    v5_startup: bool,
    ignored: Vec<String>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn idx(d: Dir) -> usize {
    usize::from(d == Dir::ToClient)
}

fn headers(h: &Header) -> Headers {
    Headers {
        version: h.version.to_string(),
        flags: parser::flag_names(h.flags),
        stream: i64::from(h.stream),
        op: parser::op_name(h.opcode),
        length: h.length as u64,
    }
}

/// The authentication identity of a SASL PLAIN token (`authzid \0 authcid \0 password`).
fn plain_user(token: &[u8]) -> Option<String> {
    let mut parts = token.split(|&b| b == 0);
    let (_authz, authc) = (parts.next()?, parts.next()?);
    parts.next()?;
    (!authc.is_empty()).then(|| String::from_utf8_lossy(authc).into_owned())
}

impl CassandraParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        CassandraParser {
            sides: [Side::default(), Side::default()],
            pending: VecDeque::new(),
            compression: None,
            v5_startup: false,
            ignored: ctx.config.cassandra.ignored_ops.iter().map(|o| o.to_ascii_uppercase()).collect(),
            max_buffer: ctx.limits.max_buffer_bytes.max(64),
            max_pending: ctx.limits.max_pending.max(1),
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn publish(&self, t: Txn, op: Option<u8>, out: &mut Vec<Txn>) {
        if op.is_some_and(|o| self.ignored.iter().any(|i| i == parser::op_name(o))) {
            return;
        }
        out.push(t);
    }

    fn txn(
        &self,
        req: Option<&Pending>,
        resp: Option<Response>,
        ts: i64,
    ) -> Txn {
        let mut cass = CassandraFields { request: req.map(|r| r.fields.clone()), response: None };
        let (mut notes, mut error, mut status, mut outcome, mut auth) =
            (Vec::new(), None, "OK", Outcome::Unknown, None);
        let is_login = req.is_some_and(|r| r.op == parser::AUTH_RESPONSE);
        match req {
            Some(r) => notes.extend(r.notes.iter().cloned()),
            None => {
                if !matches!(&resp, Some((_, _, h, _, _)) if h.opcode == parser::EVENT) {
                    notes.push("response without request".to_owned());
                }
            }
        }
        let mut end = None;
        let mut server_bytes = 0;
        if let Some((end_ns, bytes, h, decoded, rnotes)) = resp {
            end = Some(end_ns);
            server_bytes = bytes;
            notes.extend(rnotes);
            let mut r = ResponseFields { headers: Some(headers(&h)), ..ResponseFields::default() };
            outcome = Outcome::Success;
            if let Some(d) = decoded {
                r.warnings = d.warnings;
                match d.message {
                    Message::Result(res) => r.result = Some(result_fields(res)),
                    Message::Supported(m) => {
                        r.supported = m.into_iter().map(|(k, v)| (k, v.join(", "))).collect::<BTreeMap<_, _>>();
                    }
                    Message::Authenticate(class) => r.authentication = Some(Authentication { class }),
                    Message::Event { kind, change, detail } => {
                        let schema_change = (kind == "SCHEMA_CHANGE").then(|| {
                            let mut it = detail.into_iter();
                            SchemaChange {
                                change: change.clone().unwrap_or_default(),
                                target: it.next().unwrap_or_default(),
                                keyspace: it.next().unwrap_or_default(),
                                object: it.next(),
                            }
                        });
                        r.event = Some(EventFields { kind, change, schema_change });
                    }
                    Message::Error { code, message } => {
                        status = "Error";
                        outcome = Outcome::Failure;
                        error = Some(ErrorFields { code: format!("{code:#06x}"), message: message.clone() });
                        r.error = Some(ResponseError {
                            code: i64::from(code),
                            msg: message,
                            kind: parser::error_type(code),
                        });
                        if code == 0x0100 {
                            auth = Some(Outcome::Failure);
                        }
                    }
                    Message::AuthSuccess if is_login => auth = Some(Outcome::Success),
                    _ => {}
                }
            } else {
                outcome = Outcome::Unknown;
            }
            cass.response = Some(r);
        }
        if is_login && auth.is_none() {
            auth = Some(Outcome::Unknown);
        }
        let method = req.map(|r| parser::op_name(r.op).to_owned());
        let query = req.and_then(|r| r.fields.query.clone());
        let fields = Fields {
            error,
            user: req.and_then(|r| r.user.clone()).map(|name| User { name }),
            network_traffic: NetworkTraffic { cassandra: cass },
        };
        let mut t = Txn::new(&PROTOCOL, req.map(|r| r.ts).unwrap_or(ts), fields);
        t.end_ns = end;
        t.client_bytes = req.map(|r| r.bytes).unwrap_or(0);
        t.server_bytes = server_bytes;
        (t.status, t.outcome, t.auth, t.notes) = (status, outcome, auth, notes);
        (t.method, t.query) = (method, query);
        t
    }

    /// The body of a frame, or why it is not read.
    fn decode(&mut self, h: &Header, body: &[u8], notes: &mut Vec<String>) -> Option<Decoded> {
        if h.flags & parser::FLAG_COMPRESSION != 0 {
            let c = self.compression.as_deref().unwrap_or("unknown compressor");
            notes.push(format!("compressed body ({c}) not decoded"));
            return None;
        }
        match parser::body(h, body) {
            Ok(d) => Some(d),
            Err(_) => {
                self.counters.malformed += 1;
                notes.push(format!("malformed {} body", parser::op_name(h.opcode)));
                None
            }
        }
    }

    /// One whole frame. Returns true when the connection switches to v5 segments after it.
    fn frame(&mut self, h: Header, body: &[u8], start: i64, ts: i64, out: &mut Vec<Txn>) -> bool {
        let mut notes = Vec::new();
        let decoded = self.decode(&h, body, &mut notes);
        let bytes = (parser::HEADER_LEN + h.length) as u64;
        if !h.response {
            let mut fields = RequestFields { headers: headers(&h), query: None, consistency: None, prepared_id: None };
            let mut user = None;
            match decoded.map(|d| d.message) {
                Some(Message::Startup(opts)) => {
                    self.compression = opts
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("COMPRESSION"))
                        .map(|(_, v)| v.to_ascii_lowercase());
                    self.v5_startup = h.version >= 5;
                }
                Some(Message::Query { query, consistency }) => {
                    fields.query = Some(query);
                    fields.consistency = Some(parser::consistency_name(consistency));
                }
                Some(Message::Prepare(q)) => fields.query = Some(q),
                Some(Message::Execute { id, consistency }) => {
                    fields.prepared_id = Some(id);
                    fields.consistency = consistency.map(parser::consistency_name);
                }
                Some(Message::Batch { statements, count, .. }) => {
                    let mut q = statements.join("; ");
                    if count > statements.len() {
                        q.push_str(&format!("; … ({} more)", count - statements.len()));
                    }
                    fields.query = Some(q);
                }
                Some(Message::AuthResponse(Some(token))) => user = plain_user(&token),
                _ => {}
            }
            let p = Pending { stream: h.stream, ts: start, bytes, op: h.opcode, fields, user, notes };
            if self.pending.len() >= self.max_pending {
                self.counters.limit_hits += 1;
                if let Some(old) = self.pending.pop_front() {
                    let mut t = self.txn(Some(&old), None, old.ts);
                    t.notes.push("too many requests waiting for a response".into());
                    self.publish(t, Some(old.op), out);
                }
            }
            self.pending.push_back(p);
            return false;
        }
        let switch = self.v5_startup && h.version >= 5 && matches!(h.opcode, parser::READY | parser::AUTHENTICATE);
        if switch {
            self.v5_startup = false;
            if let Some(c) = &self.compression {
                notes.push(format!(
                    "protocol v5 segments compressed with {c} follow: the connection is not followed"
                ));
            }
        }
        let at = if h.opcode == parser::EVENT && h.stream < 0 {
            None
        } else {
            self.pending.iter().position(|p| p.stream == h.stream)
        };
        let req = at.and_then(|i| self.pending.remove(i));
        if req.is_none() && h.opcode != parser::EVENT {
            self.counters.unmatched += 1;
        }
        let op = req.as_ref().map(|r| r.op);
        let t = self.txn(req.as_ref(), Some((ts, bytes, h, decoded, notes)), start);
        self.publish(t, op, out);
        switch
    }

    /// Reads the frames in side `i`'s buffer.
    fn frames(&mut self, i: usize, ts: i64, out: &mut Vec<Txn>) {
        let mut buf = std::mem::take(&mut self.sides[i].buf);
        let mut at = 0;
        let mut switched = false;
        loop {
            let rest = buf.get(at..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            match parser::header(rest) {
                Ok(h) if parser::HEADER_LEN + h.length > self.max_buffer => {
                    self.counters.limit_hits += 1;
                    let total = parser::HEADER_LEN + h.length;
                    self.sides[i].skip = total - rest.len().min(total);
                    at += rest.len().min(total);
                }
                Ok(h) => {
                    let Some(body) = rest.get(parser::HEADER_LEN..parser::HEADER_LEN + h.length)
                    else {
                        break;
                    };
                    self.counters.messages += 1;
                    let start = self.sides[i].first_ts.unwrap_or(ts);
                    let sw = self.frame(h, body, start, ts, out);
                    at += parser::HEADER_LEN + h.length;
                    self.sides[i].first_ts = Some(ts);
                    if sw {
                        switched = true;
                        break;
                    }
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    self.sides[i].lost = true;
                    at = buf.len();
                }
            }
        }
        buf.drain(..at.min(buf.len()));
        if switched {
            // Both directions now carry segments; what follows in these bytes is one.
            for s in &mut self.sides {
                s.segments = true;
            }
            let mut rest = std::mem::take(&mut buf);
            let side = &mut self.sides[i];
            side.raw.append(&mut rest);
            self.sides[i].buf = buf;
            self.segments(i, ts, out);
            return;
        }
        if buf.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            self.sides[i].lost = true;
        }
        self.sides[i].buf = buf;
    }

    /// Unwraps v5 segments of side `i` into its frame buffer, then reads the frames.
    fn segments(&mut self, i: usize, ts: i64, out: &mut Vec<Txn>) {
        if self.compression.is_some() {
            // Compressed segments (8-byte headers) are not decoded.
            self.sides[i].raw.clear();
            self.sides[i].lost = true;
            return;
        }
        let mut raw = std::mem::take(&mut self.sides[i].raw);
        let mut at = 0;
        while let Ok(seg) = parser::segment(raw.get(at..).unwrap_or_default()) {
            self.sides[i].buf.extend_from_slice(seg.payload);
            at += seg.len;
        }
        raw.drain(..at.min(raw.len()));
        if raw.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            raw.clear();
        }
        self.sides[i].raw = raw;
        self.frames(i, ts, out);
    }
}

fn result_fields(r: ResultBody) -> ResultFields {
    let kind = parser::result_type(&r);
    let mut f = ResultFields { kind, ..ResultFields::default() };
    match r {
        ResultBody::Rows { num_rows, keyspace, table, columns } => {
            f.rows = Some(Rows { num_rows, meta: RowsMeta { keyspace, table, col_count: columns } })
        }
        ResultBody::SetKeyspace(k) => f.keyspace = Some(k),
        ResultBody::Prepared { id } => f.prepared = Some(Prepared { prepared_id: id }),
        ResultBody::SchemaChange { change, target, keyspace, name } => {
            f.schema_change = Some(SchemaChange { change, target, keyspace, object: name })
        }
        ResultBody::Void | ResultBody::Unknown(_) => {}
    }
    f
}

impl Parser for CassandraParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let i = idx(dir);
        let mut bytes = bytes;
        let Some(side) = self.sides.get_mut(i) else { return };
        if side.skip > 0 {
            let n = side.skip.min(bytes.len());
            side.skip -= n;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        if bytes.is_empty() {
            return;
        }
        if side.lost {
            if side.segments || parser::header(bytes).is_err() {
                return;
            }
            side.lost = false;
        }
        if side.buf.is_empty() && side.raw.is_empty() {
            side.first_ts = Some(ts_ns);
        }
        if side.segments {
            side.raw.extend_from_slice(bytes);
            self.segments(i, ts_ns, out);
        } else {
            side.buf.extend_from_slice(bytes);
            self.frames(i, ts_ns, out);
        }
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let Some(side) = self.sides.get_mut(idx(dir)) else { return };
        if side.skip > 0 {
            side.skip = side.skip.saturating_sub(usize::try_from(len).unwrap_or(usize::MAX));
            return;
        }
        side.buf.clear();
        side.raw.clear();
        side.lost = true;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = self.txn(Some(&p), None, p.ts);
                t.notes.push("no response within the transaction timeout".into());
                self.publish(t, Some(p.op), out);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            let t = self.txn(Some(&p), None, p.ts);
            self.publish(t, Some(p.op), out);
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
