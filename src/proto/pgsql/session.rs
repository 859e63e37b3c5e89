//! The per-connection PostgreSQL session: framing of both directions, the login transaction and
//! one transaction per query cycle (a simple Query, or extended-protocol messages up to a Sync,
//! each answered by exactly one ReadyForQuery), prepared statements, COPY, limits and counters.

use super::fields::{Error, Fields, NetworkTraffic, PgsqlFields, User};
use super::parser::{
    backend, frame, frontend, startup_frame, Auth, Backend, Frontend, Notice, Startup,
};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::{HashMap, VecDeque};

/// Named prepared statements (and named portals) remembered per connection; beyond it the new
/// name is not remembered (counted), so its Execute shows no query text.
pub const MAX_STATEMENTS: usize = 1024;
/// Client message names kept per cycle (`request_messages`).
pub const MAX_REQUEST_MESSAGES: usize = 32;
/// Command tags kept per cycle (a simple query may hold many statements).
pub const MAX_TAGS: usize = 32;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// One direction's framing state: the bytes of the message being read (never more than one
/// message, and never more than the buffer limit) or the body bytes still to skip.
#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// Body bytes of the current message still to come and not kept (COPY data, rows, and
    /// messages over the buffer limit).
    skip: u64,
    /// The next message has no type byte (the client's startup packet).
    untyped: bool,
    /// Framing was lost (malformed bytes or a gap outside a skipped body): ignored from here.
    lost: bool,
}

/// The login: SSLRequest/GSSENCRequest, StartupMessage, authentication, up to the first
/// ReadyForQuery (or the ErrorResponse that refuses it).
#[derive(Default)]
struct Login {
    ts: i64,
    end: Option<i64>,
    client_bytes: u64,
    server_bytes: u64,
    f: PgsqlFields,
    /// The client sent a password or a SASL/GSS response.
    credentials_sent: bool,
    auth_ok: bool,
    error: Option<Notice>,
    notes: Vec<String>,
}

/// One query cycle, from its first client message to its ReadyForQuery.
#[derive(Default, Clone)]
struct Cycle {
    ts: i64,
    end: Option<i64>,
    client_bytes: u64,
    server_bytes: u64,
    query: Option<String>,
    truncated: bool,
    statement: Option<String>,
    requests: Vec<&'static str>,
    /// No client message was seen for it (the capture started mid-cycle).
    orphan: bool,
    tags: Vec<String>,
    num_fields: Option<u64>,
    rows: u64,
    rows_seen: bool,
    copy_bytes: Option<u64>,
    empty_query: bool,
    error: Option<Notice>,
    /// Its ReadyForQuery came.
    ready: bool,
    /// Already published (transaction timeout); it stays queued to absorb its late answer.
    published: bool,
    notes: Vec<String>,
}

impl Cycle {
    fn request(&mut self, name: &'static str, bytes: u64) {
        self.client_bytes += bytes;
        if self.requests.len() < MAX_REQUEST_MESSAGES {
            self.requests.push(name);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before or during the login.
    Login,
    /// Query cycles.
    Ready,
    /// TLS or GSSAPI encryption from here: nothing more to read.
    Encrypted,
}

pub struct PgsqlParser {
    side: [Side; 2],
    phase: Phase,
    login: Option<Login>,
    /// The server's one-byte answer to an SSLRequest (`true`) or GSSENCRequest (`false`).
    await_encryption_reply: Option<bool>,
    /// The cycle the client is building (extended protocol, before its Sync).
    building: Option<Cycle>,
    pending: VecDeque<Cycle>,
    statements: HashMap<String, String>,
    portals: HashMap<String, String>,
    /// Of the login, repeated on every query of the connection.
    user: Option<String>,
    database: Option<String>,
    /// After an accepted SSLRequest: the TLS parser the rest of the connection goes to (made
    /// from `tls_config` then), so the handshake still becomes a `network_traffic.tls` event.
    tls: Option<Box<dyn Parser>>,
    tls_config: Option<Box<crate::proto::tls::Config>>,
    limits: crate::proto::Limits,
    max_query: usize,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn direction(dir: Dir) -> usize {
    if dir == Dir::ToServer {
        CLIENT
    } else {
        SERVER
    }
}

/// The first SQL keyword, uppercased (Packetbeat's `method`): leading blanks, parentheses and
/// comments are skipped.
pub fn first_keyword(q: &str) -> Option<String> {
    let mut s = q;
    loop {
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(rest) = t.strip_prefix("--") {
            s = rest.split_once('\n').map(|(_, r)| r).unwrap_or("");
        } else if let Some(rest) = t.strip_prefix("/*") {
            s = rest.split_once("*/").map(|(_, r)| r).unwrap_or("");
        } else {
            s = t;
            break;
        }
    }
    let word: String =
        s.chars().take_while(|c| c.is_ascii_alphabetic() || *c == '_').take(32).collect();
    (!word.is_empty()).then(|| word.to_ascii_uppercase())
}

/// SQLSTATE class 28: invalid authorization specification (28000) and invalid password (28P01).
fn is_auth_failure(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("28"))
}

impl PgsqlParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        let cfg = &ctx.config.pgsql;
        let mut side: [Side; 2] = Default::default();
        side[CLIENT].untyped = true;
        PgsqlParser {
            side,
            phase: Phase::Login,
            login: None,
            await_encryption_reply: None,
            building: None,
            pending: VecDeque::new(),
            statements: HashMap::new(),
            portals: HashMap::new(),
            user: None,
            database: None,
            tls: None,
            tls_config: ctx.config.tls.enabled.then(|| Box::new(ctx.config.tls.clone())),
            limits: ctx.limits.clone(),
            max_query: cfg.max_query_length.clamp(1, ctx.limits.max_buffer_bytes.max(1)),
            max_buffer: ctx.limits.max_buffer_bytes.max(16),
            max_pending: ctx.limits.max_pending.max(1),
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn fields(&self, f: PgsqlFields, error: Option<&Notice>) -> Fields {
        let mut f = f;
        if f.database.is_none() {
            f.database.clone_from(&self.database);
        }
        if f.user.is_none() {
            f.user.clone_from(&self.user);
        }
        if let Some(e) = error {
            f.error_code.clone_from(&e.code);
            f.error_message.clone_from(&e.message);
            f.error_severity.clone_from(&e.severity);
        }
        Fields {
            user: f.user.clone().map(|name| User { name }),
            error: error.map(|e| Error { code: e.code.clone(), message: e.message.clone() }),
            network_traffic: NetworkTraffic { pgsql: f },
        }
    }

    fn login_txn(&mut self, l: Login) -> Txn {
        let asked = l.f.auth_method.is_some();
        let fields = self.fields(l.f, l.error.as_ref());
        let mut t = Txn::new(&PROTOCOL, l.ts, fields);
        t.method = Some("LOGIN".into());
        t.end_ns = l.end;
        t.client_bytes = l.client_bytes;
        t.server_bytes = l.server_bytes;
        t.notes = l.notes;
        if let Some(e) = &l.error {
            t.outcome = Outcome::Failure;
            t.status = "Error";
            if is_auth_failure(e.code.as_deref()) {
                t.auth = Some(Outcome::Failure);
            }
        } else if l.auth_ok {
            t.outcome = Outcome::Success;
            t.auth = Some(Outcome::Success);
        } else if l.credentials_sent {
            t.auth = Some(Outcome::Unknown);
            t.notes.push("no answer to the credentials seen".into());
        } else if asked {
            // psql does this when it has no password: it asks the user, then reconnects.
            t.notes.push("the client left when asked for credentials".into());
        }
        t
    }

    fn cycle_txn(&self, c: Cycle) -> Txn {
        let f = PgsqlFields {
            query: c.query.clone(),
            statement: c.statement.clone(),
            request_messages: c.requests,
            command_tag: c.tags,
            num_fields: c.num_fields,
            num_rows: c.rows_seen.then_some(c.rows),
            copy_bytes: c.copy_bytes,
            ..PgsqlFields::default()
        };
        let fields = self.fields(f, c.error.as_ref());
        let mut t = Txn::new(&PROTOCOL, c.ts, fields);
        t.method = c.query.as_deref().and_then(first_keyword);
        t.query = c.query;
        t.end_ns = c.end;
        t.client_bytes = c.client_bytes;
        t.server_bytes = c.server_bytes;
        t.notes = c.notes;
        if c.truncated {
            t.notes.push(format!("query text cut at {} bytes (max_query_length)", self.max_query));
        }
        if c.empty_query {
            t.notes.push("empty query".into());
        }
        if c.orphan {
            t.notes.push("response without request".into());
        }
        if c.error.is_some() {
            t.outcome = Outcome::Failure;
            t.status = "Error";
        } else if c.ready {
            t.outcome = Outcome::Success;
        }
        t
    }

    /// Queues a finished client cycle, publishing the oldest unanswered one beyond the limit.
    fn push_cycle(&mut self, c: Cycle, out: &mut Vec<Txn>) {
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(mut old) = self.pending.pop_front() {
                if !old.published {
                    old.notes.push("no response before max_pending_transactions".into());
                    out.push(self.cycle_txn(old));
                }
            }
        }
        self.pending.push_back(c);
    }

    fn text(&self, q: &[u8], full: usize) -> (String, bool) {
        (String::from_utf8_lossy(q).into_owned(), full > self.max_query)
    }

    fn building(&mut self, ts: i64) -> &mut Cycle {
        self.building.get_or_insert_with(|| Cycle { ts, ..Cycle::default() })
    }

    fn remember(map: &mut HashMap<String, String>, name: &str, value: String, c: &mut ParserCounters) {
        if name.is_empty() || map.contains_key(name) || map.len() < MAX_STATEMENTS {
            map.insert(name.to_owned(), value);
        } else {
            c.limit_hits += 1;
        }
    }

    /// The current cycle the server is answering: the oldest pending one, or a new orphan.
    fn answering(&mut self, ts: i64) -> Option<&mut Cycle> {
        if self.pending.is_empty() {
            self.counters.unmatched += 1;
            // An extended cycle whose Sync was not seen yet is answered as it streams.
            let c = self
                .building
                .take()
                .unwrap_or_else(|| Cycle { ts, orphan: true, ..Cycle::default() });
            self.pending.push_back(c);
        }
        self.pending.front_mut()
    }

    fn on_startup(&mut self, ts: i64, s: Startup, bytes: u64, out: &mut Vec<Txn>) {
        match s {
            Startup::Cancel { pid } => {
                let f = PgsqlFields { backend_pid: Some(u64::from(pid)), ..PgsqlFields::default() };
                let mut t = Txn::new(&PROTOCOL, ts, self.fields(f, None));
                t.method = Some("CANCEL".into());
                t.client_bytes = bytes;
                t.notes.push(format!("cancel request for backend {pid}"));
                out.push(t);
                // Nothing follows a CancelRequest on its connection.
                self.side[CLIENT].untyped = false;
            }
            Startup::SslRequest | Startup::GssEncRequest => {
                let ssl = s == Startup::SslRequest;
                let l = self.login.get_or_insert_with(|| Login { ts, ..Login::default() });
                l.client_bytes += bytes;
                l.notes.push(
                    if ssl { "client asked for TLS (SSLRequest)" } else { "client asked for GSSAPI encryption" }
                        .into(),
                );
                self.await_encryption_reply = Some(ssl);
                // The next client packet is untyped again (a StartupMessage after 'N').
                self.side[CLIENT].untyped = true;
            }
            Startup::Startup { version, params } => {
                self.side[CLIENT].untyped = false;
                let l = self.login.get_or_insert_with(|| Login { ts, ..Login::default() });
                l.client_bytes += bytes;
                l.f.protocol_version = Some(format!("{}.{}", version >> 16, version & 0xffff));
                for (k, v) in params {
                    match k.as_str() {
                        "user" => l.f.user = Some(v),
                        "database" => l.f.database = Some(v),
                        "application_name" => l.f.application_name = Some(v),
                        _ => {}
                    }
                }
                if l.f.database.is_none() {
                    // The server's default: the database named like the user.
                    l.f.database.clone_from(&l.f.user);
                }
                self.user.clone_from(&l.f.user);
                self.database.clone_from(&l.f.database);
            }
        }
    }

    fn on_frontend(&mut self, ts: i64, m: Frontend, full: usize, bytes: u64, out: &mut Vec<Txn>) {
        if self.phase == Phase::Login {
            if let Some(l) = self.login.as_mut() {
                match m {
                    Frontend::Password => {
                        l.credentials_sent = true;
                        l.client_bytes += bytes;
                        return;
                    }
                    Frontend::Terminate => {
                        l.client_bytes += bytes;
                        return;
                    }
                    _ => {}
                }
            }
            // Queries before any ReadyForQuery: the capture started after the login.
            self.phase = Phase::Ready;
        }
        match m {
            Frontend::Query(q) => {
                if let Some(b) = self.building.take() {
                    self.push_cycle(b, out);
                }
                let (query, truncated) = self.text(&q, full);
                let mut c = Cycle { ts, query: Some(query), truncated, ..Cycle::default() };
                c.request("Query", bytes);
                self.push_cycle(c, out);
            }
            Frontend::Parse { statement, query } => {
                let (text, truncated) = self.text(&query, full);
                Self::remember(&mut self.statements, &statement, text.clone(), &mut self.counters);
                let c = self.building(ts);
                c.request("Parse", bytes);
                if c.query.is_none() {
                    c.query = Some(text);
                    c.truncated = truncated;
                    c.statement = (!statement.is_empty()).then_some(statement);
                }
            }
            Frontend::Bind { portal, statement } => {
                Self::remember(&mut self.portals, &portal, statement.clone(), &mut self.counters);
                let text = self.statements.get(&statement).cloned();
                let c = self.building(ts);
                c.request("Bind", bytes);
                if c.query.is_none() {
                    c.query = text;
                    c.statement = (!statement.is_empty()).then_some(statement);
                }
            }
            Frontend::Execute { portal } => {
                let stmt = self.portals.get(&portal).cloned();
                let text = stmt.as_ref().and_then(|s| self.statements.get(s)).cloned();
                let c = self.building(ts);
                c.request("Execute", bytes);
                if c.query.is_none() {
                    c.query = text;
                    c.statement = stmt.filter(|s| !s.is_empty());
                }
            }
            Frontend::Describe => self.building(ts).request("Describe", bytes),
            Frontend::Flush => self.building(ts).request("Flush", bytes),
            Frontend::FunctionCall => {
                let mut c = Cycle { ts, ..Cycle::default() };
                c.request("FunctionCall", bytes);
                self.push_cycle(c, out);
            }
            Frontend::Close { statement, name } => {
                if statement {
                    self.statements.remove(&name);
                } else {
                    self.portals.remove(&name);
                }
                self.building(ts).request("Close", bytes);
            }
            Frontend::Sync => {
                let mut c = self.building.take().unwrap_or(Cycle { ts, ..Cycle::default() });
                c.request("Sync", bytes);
                self.push_cycle(c, out);
            }
            Frontend::CopyData | Frontend::CopyDone | Frontend::CopyFail => {
                let c = match self.pending.back_mut() {
                    Some(c) => c,
                    None => self.building(ts),
                };
                c.client_bytes += bytes;
                if m == Frontend::CopyData {
                    *c.copy_bytes.get_or_insert(0) += bytes.saturating_sub(5);
                }
            }
            Frontend::Password => {
                self.counters.unmatched += 1;
            }
            Frontend::Terminate => {
                if let Some(b) = self.building.take() {
                    self.push_cycle(b, out);
                }
            }
        }
    }

    fn on_backend(&mut self, ts: i64, m: Backend, bytes: u64, out: &mut Vec<Txn>) {
        if self.phase == Phase::Login {
            let login_msg = matches!(
                m,
                Backend::Authentication(..)
                    | Backend::ParameterStatus { .. }
                    | Backend::BackendKeyData { .. }
                    | Backend::Notice(_)
                    | Backend::NegotiateProtocolVersion
                    | Backend::Error(_)
                    | Backend::ReadyForQuery(_)
            );
            if let (true, Some(l)) = (login_msg, self.login.as_mut()) {
                l.server_bytes += bytes;
                l.end = Some(ts);
                let done = match m {
                    Backend::Authentication(a, mechanisms) => {
                        if a == Auth::Ok {
                            l.auth_ok = true;
                        } else if l.f.auth_method.is_none() {
                            l.f.auth_method = a.method();
                        }
                        if !mechanisms.is_empty() {
                            l.f.auth_mechanisms = mechanisms;
                        }
                        false
                    }
                    Backend::ParameterStatus { name, value } => {
                        if name == "server_version" {
                            l.f.server_version = Some(value);
                        }
                        false
                    }
                    Backend::BackendKeyData { pid } => {
                        l.f.backend_pid = Some(u64::from(pid));
                        false
                    }
                    Backend::Error(e) => {
                        l.error = Some(e);
                        true
                    }
                    Backend::ReadyForQuery(_) => {
                        self.phase = Phase::Ready;
                        true
                    }
                    _ => false,
                };
                if done {
                    if let Some(l) = self.login.take() {
                        let t = self.login_txn(l);
                        out.push(t);
                    }
                }
                return;
            }
            // Not a login message (or no login seen): the capture started after the login.
            self.phase = Phase::Ready;
            if let Some(l) = self.login.take() {
                let t = self.login_txn(l);
                out.push(t);
            }
        }
        // Asynchronous messages outside any cycle belong to none.
        if self.pending.is_empty()
            && matches!(
                m,
                Backend::ParameterStatus { .. } | Backend::Notice(_) | Backend::Notification
            )
        {
            return;
        }
        let Some(c) = self.answering(ts) else { return };
        c.server_bytes += bytes;
        c.end = Some(ts);
        match m {
            Backend::RowDescription { fields } => c.num_fields = Some(u64::from(fields)),
            Backend::DataRow => {
                c.rows += 1;
                c.rows_seen = true;
            }
            Backend::CommandComplete(tag) => {
                if c.tags.len() < MAX_TAGS {
                    c.tags.push(tag);
                }
                if c.num_fields.is_some() {
                    c.rows_seen = true;
                }
            }
            Backend::EmptyQuery => c.empty_query = true,
            Backend::Error(e) if c.error.is_none() => c.error = Some(e),
            Backend::CopyData => {
                *c.copy_bytes.get_or_insert(0) += bytes.saturating_sub(5);
            }
            Backend::CopyIn | Backend::CopyOut | Backend::CopyBoth => {
                c.copy_bytes.get_or_insert(0);
            }
            Backend::ReadyForQuery(_) => {
                if let Some(mut c) = self.pending.pop_front() {
                    c.ready = true;
                    if !c.published {
                        out.push(self.cycle_txn(c));
                    }
                }
            }
            Backend::Authentication(..) | Backend::BackendKeyData { .. } => {
                c.notes.push("authentication message after the login".into());
            }
            _ => {}
        }
    }

    /// The start of a message on `s` whose body is not kept: handled from its header.
    fn on_streamed(&mut self, s: usize, ts: i64, kind: u8, total: usize, out: &mut Vec<Txn>) {
        let bytes = total as u64;
        if s == CLIENT {
            let m = if kind == b'd' { Some(Frontend::CopyData) } else { None };
            match m {
                Some(m) => self.on_frontend(ts, m, total, bytes, out),
                None => self.oversized(s, ts, kind, total),
            }
        } else {
            let m = match kind {
                b'd' => Some(Backend::CopyData),
                b'D' => Some(Backend::DataRow),
                _ => None,
            };
            match m {
                Some(m) => self.on_backend(ts, m, bytes, out),
                None => self.oversized(s, ts, kind, total),
            }
        }
    }

    /// A message over the buffer limit: skipped, counted and noted.
    fn oversized(&mut self, s: usize, ts: i64, kind: u8, total: usize) {
        self.counters.limit_hits += 1;
        let note = format!(
            "{} message '{}' of {total} bytes skipped (over max_buffer_bytes)",
            if s == CLIENT { "client" } else { "server" },
            char::from(kind)
        );
        let c = if s == CLIENT {
            if self.building.is_none() && !self.pending.is_empty() {
                self.pending.back_mut()
            } else {
                Some(self.building(ts))
            }
        } else {
            self.answering(ts)
        };
        let Some(c) = c else { return };
        c.notes.push(note);
        if s == CLIENT {
            c.client_bytes += total as u64;
        } else {
            c.server_bytes += total as u64;
        }
    }

    fn malformed(&mut self, s: usize, ts: i64, why: &'static str) {
        self.counters.malformed += 1;
        self.side[s].lost = true;
        self.side[s].buf.clear();
        let note = format!(
            "malformed {} message: {why}; the rest of that direction is not read",
            if s == CLIENT { "client" } else { "server" }
        );
        if let Some(l) = self.login.as_mut() {
            l.notes.push(note);
        } else if let Some(c) = self.pending.front_mut() {
            c.notes.push(note);
        } else {
            self.building(ts).notes.push(note);
        }
    }

    /// The server accepted TLS: the TLS parser (when TLS is enabled) reads the rest.
    fn start_tls(&mut self) {
        if let Some(cfg) = self.tls_config.take() {
            let config = crate::proto::Protocols { tls: *cfg, ..Default::default() };
            let ctx = ParserContext {
                config: &config,
                limits: &self.limits,
                transport: crate::proto::Transport::Tcp,
                ip_proto: 6,
            };
            self.tls = Some(Box::new(crate::proto::tls::TlsParser::new(&ctx)));
        }
    }

    /// Reads what it can of `input` on side `s`.
    fn feed(&mut self, s: usize, ts: i64, mut input: &[u8], out: &mut Vec<Txn>) {
        if self.phase == Phase::Encrypted {
            if let Some(t) = self.tls.as_mut() {
                let dir = if s == CLIENT { Dir::ToServer } else { Dir::ToClient };
                t.data(dir, ts, input, out);
            }
            return;
        }
        while !input.is_empty() && !self.side[s].lost && self.phase != Phase::Encrypted {
            let side = &mut self.side[s];
            if side.skip > 0 {
                let n = usize::try_from(side.skip).unwrap_or(usize::MAX).min(input.len());
                side.skip -= n as u64;
                input = input.get(n..).unwrap_or_default();
                continue;
            }
            // The server's one-byte answer to an SSLRequest/GSSENCRequest.
            if s == SERVER && side.buf.is_empty() {
                if let Some(ssl) = self.await_encryption_reply {
                    let Some(&b) = input.first() else { break };
                    self.await_encryption_reply = None;
                    let accepted = b == if ssl { b'S' } else { b'G' };
                    if accepted || b == b'N' {
                        input = input.get(1..).unwrap_or_default();
                        self.counters.messages += 1;
                        if let Some(l) = self.login.as_mut() {
                            l.server_bytes += 1;
                            l.end = Some(ts);
                            l.f.tls_upgrade = Some(accepted);
                        }
                        if accepted {
                            self.phase = Phase::Encrypted;
                            if let Some(mut l) = self.login.take() {
                                l.notes.push(
                                    if ssl { "TLS upgrade: the rest of the connection is encrypted" } else { "GSSAPI encryption: the rest of the connection is encrypted" }
                                        .into(),
                                );
                                out.push(self.login_txn(l));
                            }
                            if ssl {
                                self.start_tls();
                                self.feed(s, ts, input, out);
                            }
                            return;
                        }
                        continue;
                    }
                    // Otherwise a typed message (an ErrorResponse of an old server).
                }
            }
            let side = &mut self.side[s];
            let untyped = s == CLIENT && side.untyped;
            let head = if untyped { 4 } else { 5 };
            if side.buf.len() < head {
                let n = (head - side.buf.len()).min(input.len());
                side.buf.extend_from_slice(input.get(..n).unwrap_or_default());
                input = input.get(n..).unwrap_or_default();
                if side.buf.len() < head {
                    break;
                }
            }
            // A client that starts with a typed message: the capture began after the startup
            // (a type byte read as a length is far above the startup packet limit).
            if untyped
                && matches!(startup_frame(&side.buf), Err(ParseError::Malformed(_)))
                && !matches!(frame(&side.buf, true), Err(ParseError::Malformed(_)))
            {
                side.untyped = false;
                continue;
            }
            let total = if untyped {
                match startup_frame(&side.buf) {
                    Err(ParseError::Malformed(why)) => {
                        self.malformed(s, ts, why);
                        break;
                    }
                    _ => {
                        let b = side.buf.get(..4).unwrap_or_default();
                        b.iter().fold(0usize, |a, x| a << 8 | usize::from(*x))
                    }
                }
            } else {
                match frame(&side.buf, s == CLIENT) {
                    Ok(f) => {
                        let streamed = f.kind == b'd' || (s == SERVER && f.kind == b'D');
                        if streamed || f.total > self.max_buffer {
                            side.buf.clear();
                            side.skip = f.body_len() as u64;
                            self.counters.messages += 1;
                            self.on_streamed(s, ts, f.kind, f.total, out);
                            continue;
                        }
                        f.total
                    }
                    Err(ParseError::Malformed(why)) => {
                        self.malformed(s, ts, why);
                        break;
                    }
                    Err(ParseError::Incomplete) => break,
                }
            };
            let side = &mut self.side[s];
            if side.buf.len() < total {
                let n = (total - side.buf.len()).min(input.len());
                side.buf.extend_from_slice(input.get(..n).unwrap_or_default());
                input = input.get(n..).unwrap_or_default();
                if side.buf.len() < total {
                    break;
                }
            }
            let msg = std::mem::take(&mut side.buf);
            self.message(s, ts, &msg, untyped, out);
            // Keep the allocation for the next message.
            let mut msg = msg;
            msg.clear();
            if self.side[s].buf.is_empty() {
                self.side[s].buf = msg;
            }
        }
    }

    /// One whole message of side `s`.
    fn message(&mut self, s: usize, ts: i64, msg: &[u8], untyped: bool, out: &mut Vec<Txn>) {
        let bytes = msg.len() as u64;
        if untyped {
            match startup_frame(msg) {
                Ok((st, _)) => {
                    self.counters.messages += 1;
                    self.on_startup(ts, st, bytes, out);
                }
                Err(ParseError::Malformed(why)) => self.malformed(s, ts, why),
                Err(ParseError::Incomplete) => self.malformed(s, ts, "startup packet cut short"),
            }
            return;
        }
        let kind = msg.first().copied().unwrap_or(0);
        let body = msg.get(5..).unwrap_or_default();
        if s == CLIENT {
            match frontend(kind, body, self.max_query) {
                Ok(m) => {
                    self.counters.messages += 1;
                    let full = body.len();
                    self.on_frontend(ts, m, full, bytes, out);
                }
                Err(ParseError::Malformed(why)) => self.malformed(s, ts, why),
                Err(ParseError::Incomplete) => self.malformed(s, ts, "message cut short"),
            }
        } else {
            match backend(kind, body) {
                Ok(m) => {
                    self.counters.messages += 1;
                    self.on_backend(ts, m, bytes, out);
                }
                Err(ParseError::Malformed(why)) => self.malformed(s, ts, why),
                Err(ParseError::Incomplete) => self.malformed(s, ts, "message cut short"),
            }
        }
    }
}

impl Parser for PgsqlParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        self.feed(direction(dir), ts_ns, bytes, out);
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        if let Some(t) = self.tls.as_mut() {
            t.gap(dir, len);
            return;
        }
        let side = &mut self.side[direction(dir)];
        if side.skip >= len {
            // Inside a body that is skipped anyway (COPY data, a row): framing survives.
            side.skip -= len;
            return;
        }
        side.lost = true;
        side.buf.clear();
        let note = "bytes missing: the rest of that direction is not read".to_owned();
        if let Some(c) = self.pending.front_mut() {
            c.notes.push(note);
        } else if let Some(l) = self.login.as_mut() {
            l.notes.push(note);
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        if let Some(t) = self.tls.as_mut() {
            t.tick(now_ns, out);
        }
        let timeout = self.timeout_ns;
        let mut expired = Vec::new();
        for c in self.pending.iter_mut() {
            if !c.published && now_ns.saturating_sub(c.ts) > timeout {
                c.published = true;
                let mut copy = c.clone();
                copy.published = false;
                copy.notes.push("no ReadyForQuery within the transaction timeout".into());
                expired.push(copy);
            }
        }
        for c in expired {
            out.push(self.cycle_txn(c));
        }
    }

    fn close(&mut self, ts_ns: i64, out: &mut Vec<Txn>) {
        if let Some(t) = self.tls.as_mut() {
            t.close(ts_ns, out);
        }
        if let Some(l) = self.login.take() {
            out.push(self.login_txn(l));
        }
        if let Some(b) = self.building.take() {
            self.pending.push_back(b);
        }
        while let Some(mut c) = self.pending.pop_front() {
            if !c.published {
                c.notes.push("connection ended before ReadyForQuery".into());
                out.push(self.cycle_txn(c));
            }
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        let mut c = std::mem::take(&mut self.counters);
        if let Some(t) = self.tls.as_mut() {
            c.add(&t.take_counters());
        }
        c
    }
}
