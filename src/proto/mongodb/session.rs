//! The MongoDB session of one connection: per direction, messages framed by their header;
//! requests wait in a bounded pending list and a reply takes the request whose `requestID` its
//! `responseTo` names (not the oldest: a server may answer pipelined requests in any order).
//! Requests that get no reply (legacy OP_INSERT / OP_UPDATE / OP_DELETE / OP_KILL_CURSORS,
//! OP_MSG with `moreToCome`) are published at once. Limits: buffered bytes per direction
//! (a longer message is skipped, counted), pending requests, the transaction timeout.

use super::bson::{self, Doc, Value};
use super::fields::*;
use super::parser::{self, Body, Header};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

/// What a request tells.
#[derive(Debug, Default)]
struct Request {
    fields: MongodbFields,
    user: Option<String>,
    /// A login step: saslStart, saslContinue, authenticate.
    auth: bool,
    notes: Vec<String>,
    /// No reply will come.
    one_way: bool,
}

/// What a reply tells.
#[derive(Debug, Default)]
struct Reply {
    ok: Option<bool>,
    error: Option<String>,
    code: Option<String>,
    number_returned: Option<i64>,
    starting_from: Option<i64>,
    cursor_id: Option<i64>,
    /// `done` of a SASL step.
    done: bool,
    compressor: Option<&'static str>,
    notes: Vec<String>,
    opcode: &'static str,
}

struct Pending {
    id: i32,
    ts: i64,
    bytes: u64,
    req: Request,
}

#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// Bytes of an over-long message still to skip.
    skip: usize,
    /// After malformed or lost bytes: wait for a segment starting with a plausible header.
    lost: bool,
    /// Packet time of the first byte of the message being read.
    first_ts: Option<i64>,
}

pub struct MongodbParser {
    sides: [Side; 2],
    pending: VecDeque<Pending>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    max_doc: usize,
    counters: ParserCounters,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// (database, collection) of `db.coll.name`.
fn split_ns(ns: &str) -> (Option<String>, Option<String>) {
    match ns.split_once('.') {
        Some((d, c)) => (Some(d.to_owned()), Some(c.to_owned())),
        None => (Some(ns.to_owned()), None),
    }
}

/// The user name of a SCRAM client-first message (`n,,n=user,r=nonce`).
fn scram_user(payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    let bare = text.splitn(3, ',').nth(2)?;
    let name = bare.split(',').find_map(|a| a.strip_prefix("n="))?;
    (!name.is_empty()).then(|| name.replace("=2C", ",").replace("=3D", "="))
}

const AUTH_COMMANDS: &[&str] = &["saslStart", "saslContinue", "authenticate"];

impl MongodbParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        MongodbParser {
            sides: [Side::default(), Side::default()],
            pending: VecDeque::new(),
            max_buffer: ctx.limits.max_buffer_bytes.max(64),
            max_pending: ctx.limits.max_pending.max(1),
            timeout_ns: ctx.limits.transaction_timeout_ns,
            max_doc: ctx.config.mongodb.max_doc_length,
            counters: ParserCounters::default(),
        }
    }

    fn json(&self, d: &Doc<'_>) -> String {
        bson::to_json(d, self.max_doc)
    }

    /// A command document (OP_MSG body, OP_QUERY on `db.$cmd`) into the request.
    fn command(&self, r: &mut Request, d: &Doc<'_>, db: Option<String>) {
        if let Some((k, v)) = d.first() {
            let name = s(k);
            r.auth = AUTH_COMMANDS.contains(&name.as_str());
            let coll = v.str().or_else(|| d.get("collection").and_then(|c| c.str()));
            r.fields.collection = coll.filter(|c| !c.is_empty());
            r.fields.method = Some(name);
        }
        r.fields.database = d.get("$db").and_then(|v| v.str()).or(db);
        if r.auth {
            r.user = match d.get("payload") {
                Some(Value::Binary(_, p)) => scram_user(p),
                _ => None,
            }
            .or_else(|| d.get("user").and_then(|v| v.str()));
        }
        if let Some(Value::Int64(c)) = d.get("getMore") {
            r.fields.cursor_id = Some(c);
        }
        r.fields.query = Some(self.json(d));
    }

    fn request(&self, op: i32, body: &Body<'_>) -> Request {
        let mut r = Request::default();
        let f = &mut r.fields;
        f.opcode = parser::op_name(op);
        match body {
            Body::Msg { flags, body, sequences, .. } => {
                r.one_way = flags & parser::MORE_TO_COME != 0;
                let n: usize = sequences.iter().map(|q| q.docs.len() + q.more).sum();
                if !sequences.is_empty() {
                    r.fields.documents = Some(n as u64);
                }
                if let Some(d) = body {
                    self.command(&mut r, d, None);
                }
            }
            Body::Query { collection, skip, ret, query, fields, .. } => {
                f.full_collection_name = Some(collection.clone());
                f.number_to_skip = Some(i64::from(*skip));
                f.number_to_return = Some(i64::from(*ret));
                f.return_fields_selector = fields.as_ref().map(|d| self.json(d));
                let (db, coll) = split_ns(collection);
                if coll.as_deref() == Some("$cmd") {
                    // A command; drivers may wrap it as {$query: {...}, $readPreference: ...}.
                    let inner = match query.first() {
                        Some((b"$query" | b"query", Value::Doc(d))) => d,
                        _ => *query,
                    };
                    self.command(&mut r, &inner, db);
                } else {
                    f.method = Some("find".into());
                    f.database = db;
                    f.collection = coll;
                    f.query = Some(self.json(query));
                }
            }
            Body::Insert { collection, docs } => {
                r.one_way = true;
                f.method = Some("insert".into());
                f.full_collection_name = Some(collection.clone());
                (f.database, f.collection) = split_ns(collection);
                f.documents = Some(docs.len() as u64);
            }
            Body::Update { collection, selector, update, .. } => {
                r.one_way = true;
                f.method = Some("update".into());
                f.full_collection_name = Some(collection.clone());
                (f.database, f.collection) = split_ns(collection);
                f.selector = Some(self.json(selector));
                f.update = Some(self.json(update));
            }
            Body::Delete { collection, selector, .. } => {
                r.one_way = true;
                f.method = Some("delete".into());
                f.full_collection_name = Some(collection.clone());
                (f.database, f.collection) = split_ns(collection);
                f.selector = Some(self.json(selector));
            }
            Body::GetMore { collection, number_to_return, cursor_id } => {
                f.method = Some("getMore".into());
                f.full_collection_name = Some(collection.clone());
                (f.database, f.collection) = split_ns(collection);
                f.number_to_return = Some(i64::from(*number_to_return));
                f.cursor_id = Some(*cursor_id);
            }
            Body::KillCursors { cursor_ids } => {
                r.one_way = true;
                f.method = Some("killCursors".into());
                f.cursor_id = cursor_ids.first().copied();
            }
            // Undecoded (compressed, malformed) or deprecated: the header is all there is.
            Body::Reply { .. } | Body::Compressed { .. } | Body::Other => {}
        }
        r
    }

    /// The reply document's verdict (`ok`, `errmsg` / `$err`, `code`, the cursor batch).
    fn reply_doc(rep: &mut Reply, d: &Doc<'_>) {
        rep.ok = d.get("ok").and_then(|v| v.number()).map(|n| n != 0.0).or(rep.ok);
        let err = d.get("errmsg").or_else(|| d.get("$err")).and_then(|v| v.str());
        if d.get("$err").is_some() {
            rep.ok = Some(false);
        }
        rep.error = err.or(rep.error.take());
        rep.code = d.get("code").and_then(|v| v.int()).map(|c| c.to_string()).or(rep.code.take());
        rep.done = matches!(d.get("done"), Some(Value::Bool(true)));
        if let Some(Value::Doc(c)) = d.get("cursor") {
            if let Some(Value::Array(b)) = c.get("firstBatch").or_else(|| c.get("nextBatch")) {
                rep.number_returned = Some(b.len() as i64);
            }
            rep.cursor_id = c.get("id").and_then(|v| v.int());
        }
    }

    fn reply(op: i32, body: &Body<'_>) -> Reply {
        let mut rep = Reply { opcode: parser::op_name(op), ..Reply::default() };
        match body {
            Body::Msg { body: Some(d), .. } => Self::reply_doc(&mut rep, d),
            Body::Reply { flags, cursor_id, starting_from, number_returned, docs } => {
                rep.number_returned = Some(i64::from(*number_returned));
                rep.starting_from = Some(i64::from(*starting_from));
                rep.cursor_id = Some(*cursor_id);
                if flags & 1 != 0 {
                    rep.ok = Some(false);
                    rep.error = Some("cursor not found".into());
                }
                if flags & 2 != 0 {
                    rep.ok = Some(false);
                }
                // A command's reply (or a query failure) is the first document.
                if let Some(d) = docs.first() {
                    if d.get("ok").is_some() || d.get("$err").is_some() {
                        Self::reply_doc(&mut rep, d);
                    }
                }
                if rep.ok.is_none() {
                    rep.ok = Some(true);
                }
            }
            _ => {}
        }
        rep
    }

    fn txn(&self, req: Option<&Pending>, rep: Option<(i64, u64, Reply)>, ts: i64) -> Txn {
        let mut f = req.map(|p| p.req.fields.clone()).unwrap_or_default();
        let (mut notes, mut error) = (Vec::new(), None);
        let (mut status, mut outcome, mut auth, mut end) = ("OK", Outcome::Unknown, None, None);
        let (mut client_bytes, mut server_bytes) = (0, 0);
        let auth_cmd = req.is_some_and(|p| p.req.auth);
        let user = req.and_then(|p| p.req.user.clone());
        match req {
            Some(p) => {
                client_bytes = p.bytes;
                notes.extend(p.req.notes.iter().cloned());
            }
            None => notes.push("response without request".to_owned()),
        }
        if let Some((end_ns, bytes, rep)) = rep {
            if req.is_none() {
                f.opcode = rep.opcode;
            }
            end = Some(end_ns);
            server_bytes = bytes;
            f.number_returned = rep.number_returned.or(f.number_returned);
            f.starting_from = rep.starting_from;
            f.cursor_id = rep.cursor_id.or(f.cursor_id);
            f.compressor = f.compressor.or(rep.compressor);
            notes.extend(rep.notes);
            match rep.ok {
                Some(false) => {
                    status = "Error";
                    outcome = Outcome::Failure;
                    f.error = rep.error.clone().or_else(|| Some("ok: 0".into()));
                    error = Some(ErrorFields { code: rep.code.clone(), message: rep.error.clone() });
                }
                Some(true) => outcome = Outcome::Success,
                None => {}
            }
            if auth_cmd {
                auth = match rep.ok {
                    Some(false) => Some(Outcome::Failure),
                    Some(true) if rep.done => Some(Outcome::Success),
                    _ => None,
                };
            }
        } else if auth_cmd {
            auth = Some(Outcome::Unknown);
        }
        f.resource = match (&f.database, &f.collection) {
            (Some(d), Some(c)) => Some(format!("{d}.{c}")),
            (Some(d), None) => Some(d.clone()),
            _ => f.full_collection_name.clone(),
        };
        let (method, query, resource) = (f.method.clone(), f.query.clone(), f.resource.clone());
        let fields = Fields {
            error,
            user: user.map(|name| User { name }),
            network_traffic: NetworkTraffic { mongodb: f },
        };
        let mut t = Txn::new(&PROTOCOL, req.map(|p| p.ts).unwrap_or(ts), fields);
        (t.end_ns, t.client_bytes, t.server_bytes) = (end, client_bytes, server_bytes);
        (t.status, t.outcome, t.auth, t.notes) = (status, outcome, auth, notes);
        (t.method, t.query, t.resource) = (method, query, resource);
        t
    }

    /// One whole message of side `side`.
    fn message(&mut self, h: Header, m: &[u8], start: i64, ts: i64, out: &mut Vec<Txn>) {
        let raw = m.get(16..).unwrap_or_default();
        let mut notes = Vec::new();
        let mut compressor = None;
        let inflated;
        let (op, payload) = match parser::body(h.op, raw) {
            Ok(Body::Compressed { original_op, uncompressed_size, compressor: c, data }) => {
                compressor = Some(parser::compressor_name(c));
                match parser::decompress(c, data, uncompressed_size, self.max_buffer) {
                    Some(Ok(b)) => {
                        inflated = b;
                        (original_op, inflated.as_slice())
                    }
                    Some(Err(_)) => {
                        self.counters.malformed += 1;
                        notes.push("compressed body does not inflate".to_owned());
                        (original_op, &[][..])
                    }
                    None => {
                        notes.push(format!(
                            "compressed body ({}) not decoded",
                            parser::compressor_name(c)
                        ));
                        (original_op, &[][..])
                    }
                }
            }
            Ok(Body::Msg { checksum: Some(c), .. }) => {
                let covered = m.get(..m.len().saturating_sub(4)).unwrap_or_default();
                if parser::crc32c(covered) != c {
                    notes.push("OP_MSG checksum mismatch".to_owned());
                }
                (h.op, raw)
            }
            Ok(_) => (h.op, raw),
            Err(_) => {
                self.counters.malformed += 1;
                notes.push(format!("malformed {} body", parser::op_name(h.op)));
                (h.op, &[][..])
            }
        };
        let body = if payload.is_empty() {
            Body::Other
        } else {
            match parser::body(op, payload) {
                Ok(b) => b,
                Err(_) => {
                    self.counters.malformed += 1;
                    notes.push(format!("malformed {} body", parser::op_name(op)));
                    Body::Other
                }
            }
        };
        let is_reply = op == parser::OP_REPLY || (h.response_to != 0 && op == parser::OP_MSG);
        let bytes = h.length as u64;
        if is_reply {
            let mut rep = Self::reply(op, &body);
            rep.compressor = compressor;
            rep.notes = notes;
            if compressor.is_some() {
                rep.opcode = "OP_COMPRESSED";
            }
            let at = self.pending.iter().position(|p| p.id == h.response_to);
            let req = at.and_then(|i| self.pending.remove(i));
            if req.is_none() {
                self.counters.unmatched += 1;
            }
            out.push(self.txn(req.as_ref(), Some((ts, bytes, rep)), start));
            return;
        }
        let mut req = self.request(op, &body);
        if compressor.is_some() {
            req.fields.opcode = "OP_COMPRESSED";
            req.fields.compressor = compressor;
        }
        req.notes = notes;
        let p = Pending { id: h.request_id, ts: start, bytes, req };
        if p.req.one_way {
            // No reply will come: no end, no duration.
            out.push(self.txn(Some(&p), None, start));
            return;
        }
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(old) = self.pending.pop_front() {
                let mut t = self.txn(Some(&old), None, old.ts);
                t.notes.push("too many requests waiting for a reply".into());
                out.push(t);
            }
        }
        self.pending.push_back(p);
    }
}

fn idx(d: Dir) -> usize {
    usize::from(d == Dir::ToClient)
}

impl Parser for MongodbParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let i = idx(dir);
        let mut bytes = bytes;
        let Some(side) = self.sides.get_mut(i) else { return };
        if side.skip > 0 {
            let n = side.skip.min(bytes.len());
            side.skip -= n;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        if side.lost {
            if bytes.is_empty() || parser::header(bytes).is_err() {
                return;
            }
            side.lost = false;
        }
        if bytes.is_empty() {
            return;
        }
        if side.buf.is_empty() {
            side.first_ts = Some(ts_ns);
        }
        side.buf.extend_from_slice(bytes);
        let mut buf = std::mem::take(&mut side.buf);
        let mut at = 0;
        loop {
            let rest = buf.get(at..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            match parser::header(rest) {
                Ok(h) if h.length > self.max_buffer => {
                    // Longer than this direction may hold: skipped, counted.
                    self.counters.limit_hits += 1;
                    let side = &mut self.sides[i];
                    side.skip = h.length - rest.len().min(h.length);
                    at += rest.len().min(h.length);
                }
                Ok(h) => {
                    let Some(m) = rest.get(..h.length) else { break };
                    self.counters.messages += 1;
                    let start = self.sides[i].first_ts.unwrap_or(ts_ns);
                    self.message(h, m, start, ts_ns, out);
                    at += h.length;
                    self.sides[i].first_ts = Some(ts_ns);
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
        let side = &mut self.sides[i];
        if buf.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            side.lost = true;
        }
        side.buf = buf;
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let Some(side) = self.sides.get_mut(idx(dir)) else { return };
        if side.skip > 0 {
            side.skip = side.skip.saturating_sub(usize::try_from(len).unwrap_or(usize::MAX));
            return;
        }
        side.buf.clear();
        side.lost = true;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = self.txn(Some(&p), None, p.ts);
                t.notes.push("no response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            let t = self.txn(Some(&p), None, p.ts);
            out.push(t);
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
