//! The MySQL session of one connection: the handshake, the auth exchange, and each command
//! paired with its response (OK, ERR, result set, prepare OK), with the limits and counters.

use super::fields::{ErrorFields, Fields, MysqlFields, NetworkTraffic, User};
use super::parser::{self as p, Packet};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::{HashMap, VecDeque};

/// SERVER_MORE_RESULTS_EXISTS: another result follows this OK/EOF.
const MORE_RESULTS: u16 = 0x0008;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the server's greeting.
    Greeting,
    /// Greeting seen, waiting for the client's handshake response.
    Handshake,
    /// Commands and their responses.
    Commands,
    /// TLS after an SSLRequest, or the server refused the connection: nothing more to read.
    Done,
}

/// Where the response to the front command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resp {
    /// Nothing read yet (or the next result of a multi-result answer).
    First,
    /// Column definitions left, then (classic protocol) an EOF.
    Columns(u64),
    ColumnsEof,
    Rows,
    /// Packets left of a prepare OK (parameter and column definitions and their EOFs).
    Skip(u64),
    /// COM_FIELD_LIST: column definitions until EOF.
    UntilEof,
    /// Login or COM_CHANGE_USER: auth packets until OK or ERR.
    Auth,
    /// LOAD DATA LOCAL INFILE: the client sends the file, the server then answers OK/ERR.
    Infile,
}

#[derive(Debug)]
struct Pending {
    login: bool,
    code: u8,
    command: &'static str,
    start_ns: i64,
    end_ns: Option<i64>,
    client_bytes: u64,
    server_bytes: u64,
    resp: Resp,
    /// A response packet was seen.
    answered: bool,
    f: MysqlFields,
    notes: Vec<String>,
    error: Option<p::Err>,
    ok: bool,
    user: Option<String>,
}

struct Settings {
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    max_query: usize,
    max_rows: u64,
    max_stmts: usize,
}

pub struct MysqlParser {
    cfg: Settings,
    /// The client asked for TLS: reported once by [`Parser::handoff`], so the flow layer hands
    /// the rest of the connection to the TLS parser.
    tls_switched: bool,
    buf: [Vec<u8>; 2],
    /// Bytes of an oversized packet still to skip, per direction.
    skip: [usize; 2],
    /// Bytes were lost in this direction: wait for a chunk that starts a packet.
    lost: [bool; 2],
    phase: Phase,
    caps: u32,
    server_version: Option<String>,
    connection_id: Option<u32>,
    auth_plugin: Option<String>,
    /// Bytes of the greeting, counted in the login transaction.
    greeting_bytes: u64,
    user: Option<String>,
    database: Option<String>,
    pending: VecDeque<Pending>,
    stmts: HashMap<u32, String>,
    counters: ParserCounters,
    /// Transactions ended by a `gap` call (which has no output), published on the next call.
    parked: Vec<Txn>,
}

fn side(d: Dir) -> usize {
    usize::from(d == Dir::ToClient)
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s.to_owned(), false);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    (s.get(..end).unwrap_or_default().to_owned(), true)
}

impl MysqlParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        let c = &ctx.config.mysql;
        MysqlParser {
            tls_switched: false,
            cfg: Settings {
                max_buffer: ctx.limits.max_buffer_bytes.max(64),
                max_pending: ctx.limits.max_pending.max(1),
                timeout_ns: ctx.limits.transaction_timeout_ns,
                max_query: c.max_query_length,
                max_rows: c.max_rows,
                max_stmts: c.max_prepared_statements,
            },
            buf: [Vec::new(), Vec::new()],
            skip: [0, 0],
            lost: [false, false],
            phase: Phase::Greeting,
            caps: 0,
            server_version: None,
            connection_id: None,
            auth_plugin: None,
            greeting_bytes: 0,
            user: None,
            database: None,
            pending: VecDeque::new(),
            stmts: HashMap::new(),
            counters: ParserCounters::default(),
            parked: Vec::new(),
        }
    }

    fn deprecate_eof(&self) -> bool {
        self.caps & p::CLIENT_DEPRECATE_EOF != 0
    }

    fn new_pending(&self, login: bool, code: u8, ts: i64, wire: usize) -> Pending {
        Pending {
            login,
            code,
            command: if login { "LOGIN" } else { p::command_name(code) },
            start_ns: ts,
            end_ns: None,
            client_bytes: wire as u64,
            server_bytes: 0,
            resp: if login { Resp::Auth } else { Resp::First },
            answered: false,
            f: MysqlFields::default(),
            notes: Vec::new(),
            error: None,
            ok: false,
            user: None,
        }
    }

    /// Sets the query text, cut to `max_query_length`.
    fn set_query(&mut self, pd: &mut Pending, sql: &str) {
        let (q, cut_) = cut(sql, self.cfg.max_query);
        if cut_ {
            self.counters.limit_hits += 1;
            pd.notes.push(format!("query cut to {} bytes (max_query_length)", self.cfg.max_query));
        }
        pd.f.query = Some(q);
    }

    fn push(&mut self, pd: Pending, out: &mut Vec<Txn>) {
        if self.pending.len() >= self.cfg.max_pending {
            self.counters.limit_hits += 1;
            if let Some(mut old) = self.pending.pop_front() {
                old.notes.push("no response before max_pending_transactions later commands".into());
                self.publish(old, out);
            }
        }
        self.pending.push_back(pd);
    }

    fn publish(&mut self, pd: Pending, out: &mut Vec<Txn>) {
        if !pd.answered
            && !pd.f.tls_upgrade
            && !matches!(pd.code, p::COM_QUIT | p::COM_STMT_CLOSE | p::COM_STMT_SEND_LONG_DATA)
        {
            self.counters.unmatched += 1;
        }
        out.push(self.txn(pd));
    }

    fn txn(&self, mut pd: Pending) -> Txn {
        let mut f = std::mem::take(&mut pd.f);
        let f_tls = f.tls_upgrade;
        f.command = pd.command.to_owned();
        f.server_version.clone_from(&self.server_version);
        f.connection_id = self.connection_id;
        if f.database.is_none() {
            f.database.clone_from(&self.database);
        }
        let user = pd.user.clone().or_else(|| self.user.clone());
        if f.user.is_none() {
            f.user.clone_from(&user);
        }
        let error = pd.error.take();
        if let Some(e) = &error {
            f.error_code = Some(e.code);
            f.sql_state.clone_from(&e.sql_state);
            f.error_message = Some(e.message.clone());
        }
        let sql = !pd.login
            && matches!(pd.code, p::COM_QUERY | p::COM_STMT_PREPARE | p::COM_STMT_EXECUTE | p::COM_STMT_FETCH);
        let stmt = !pd.login && matches!(pd.code, p::COM_STMT_CLOSE | p::COM_STMT_RESET);
        let name = || Some(pd.command.trim_start_matches("COM_").to_owned());
        let method = match &f.query {
            Some(q) if sql => p::sql_method(q).or_else(name),
            _ => name(),
        };
        let resource = match (&f.query, pd.code) {
            (Some(q), _) if sql || stmt => p::sql_table(q),
            (Some(t), p::COM_FIELD_LIST) => Some(t.clone()),
            _ if pd.code == p::COM_INIT_DB && !pd.login => f.database.clone(),
            _ => None,
        };
        let query = match &f.query {
            Some(q) if sql || stmt => Some(q.clone()),
            _ => method.clone(),
        };
        let fields = Fields {
            user: user.map(|name| User { name }),
            error: error.as_ref().map(|e| ErrorFields { code: e.code.to_string(), message: e.message.clone() }),
            network_traffic: NetworkTraffic { mysql: f },
        };
        let mut t = Txn::new(&PROTOCOL, pd.start_ns, fields);
        t.end_ns = pd.end_ns;
        t.client_bytes = pd.client_bytes;
        t.server_bytes = pd.server_bytes;
        t.method = method;
        t.query = query;
        t.resource = resource;
        if error.is_some() {
            t.outcome = Outcome::Failure;
            t.status = "Error";
        } else if pd.answered || pd.ok {
            t.outcome = Outcome::Success;
        }
        if pd.login || pd.code == p::COM_CHANGE_USER {
            t.auth = Some(if error.is_some() {
                Outcome::Failure
            } else if pd.ok {
                Outcome::Success
            } else {
                Outcome::Unknown
            });
            if !pd.ok && error.is_none() {
                t.outcome = Outcome::Unknown;
            }
        }
        if !pd.answered
            && !matches!(pd.code, p::COM_QUIT | p::COM_STMT_CLOSE | p::COM_STMT_SEND_LONG_DATA)
            && !f_tls
        {
            pd.notes.push("no response seen".into());
        }
        t.notes = pd.notes;
        t
    }

    /// One packet of the client.
    fn client(&mut self, ts: i64, pk: Packet, out: &mut Vec<Txn>) {
        let wire = pk.wire as u64;
        if self.phase == Phase::Done {
            return;
        }
        if pk.seq != 0 {
            // Continuation of an auth exchange or of a LOCAL INFILE upload.
            if let Some(back) = self.pending.back_mut() {
                if matches!(back.resp, Resp::Auth | Resp::Infile) {
                    back.client_bytes += wire;
                    return;
                }
            }
            if self.phase == Phase::Handshake || (self.phase == Phase::Greeting && pk.seq == 1) {
                self.handshake(ts, &pk, out);
                return;
            }
            self.counters.unmatched += 1;
            return;
        }
        // A command (also when the capture started after the handshake).
        self.phase = Phase::Commands;
        let cmd = match p::command(&pk.payload, self.caps) {
            Ok(c) => c,
            Err(_) => {
                self.counters.malformed += 1;
                return;
            }
        };
        let mut pd = self.new_pending(false, cmd.code, ts, pk.wire);
        pd.f.statement_id = cmd.statement_id;
        if cmd.query_attributes > 0 {
            pd.f.query_attributes = Some(cmd.query_attributes);
        }
        match cmd.code {
            p::COM_QUERY | p::COM_STMT_PREPARE => {
                let sql = cmd.text.unwrap_or_default();
                self.set_query(&mut pd, &sql);
            }
            p::COM_INIT_DB => pd.f.database = cmd.text,
            p::COM_FIELD_LIST => pd.f.query = cmd.text,
            p::COM_STMT_EXECUTE | p::COM_STMT_CLOSE | p::COM_STMT_RESET | p::COM_STMT_FETCH => {
                let id = cmd.statement_id.unwrap_or(0);
                match self.stmts.get(&id).cloned() {
                    Some(sql) => pd.f.query = Some(sql),
                    None => pd.notes.push(format!("statement {id} was not prepared in this capture")),
                }
                if cmd.code == p::COM_STMT_CLOSE {
                    self.stmts.remove(&id);
                }
            }
            p::COM_CHANGE_USER => {
                pd.user.clone_from(&cmd.user);
                pd.f.user = cmd.user;
                pd.f.database = cmd.database;
                pd.resp = Resp::Auth;
            }
            _ => {}
        }
        match cmd.code {
            // No response.
            p::COM_QUIT | p::COM_STMT_CLOSE | p::COM_STMT_SEND_LONG_DATA => {
                pd.answered = true;
                pd.end_ns = Some(ts);
                self.publish(pd, out);
            }
            _ => self.push(pd, out),
        }
    }

    /// The client's answer to the greeting: HandshakeResponse41/320 or SSLRequest.
    fn handshake(&mut self, ts: i64, pk: &Packet, out: &mut Vec<Txn>) {
        let hr = match p::handshake_response(&pk.payload) {
            Ok(h) => h,
            Err(_) => {
                self.counters.malformed += 1;
                self.phase = Phase::Commands;
                return;
            }
        };
        self.caps &= hr.capabilities;
        if self.phase == Phase::Greeting {
            self.caps = hr.capabilities;
        }
        let mut pd = self.new_pending(true, 0, ts, pk.wire);
        pd.server_bytes = std::mem::take(&mut self.greeting_bytes);
        if hr.ssl_request {
            pd.f.tls_upgrade = true;
            pd.notes.push("TLS upgrade".into());
            pd.f.auth_plugin.clone_from(&self.auth_plugin);
            self.phase = Phase::Done;
            self.tls_switched = true;
            self.publish(pd, out);
            return;
        }
        self.user.clone_from(&hr.user);
        if hr.database.is_some() {
            self.database.clone_from(&hr.database);
        }
        if hr.auth_plugin.is_some() {
            self.auth_plugin.clone_from(&hr.auth_plugin);
        }
        pd.user.clone_from(&hr.user);
        self.phase = Phase::Commands;
        self.push(pd, out);
    }

    /// One packet of the server.
    fn server(&mut self, ts: i64, pk: Packet, out: &mut Vec<Txn>) {
        let wire = pk.wire as u64;
        match self.phase {
            Phase::Done => return,
            Phase::Greeting if pk.seq == 0 => {
                self.phase = Phase::Handshake;
                if let Some(e) = p::err(&pk.payload) {
                    // The server refused the connection before any login (e.g. 1130 host
                    // not allowed): not a credential check.
                    let mut pd = self.new_pending(true, 0, ts, 0);
                    pd.client_bytes = 0;
                    pd.server_bytes = wire;
                    pd.answered = true;
                    pd.end_ns = Some(ts);
                    pd.error = Some(e);
                    pd.notes.push("connection refused in the greeting".into());
                    self.phase = Phase::Done;
                    let mut t = self.txn(pd);
                    t.auth = None;
                    out.push(t);
                    return;
                }
                match p::greeting(&pk.payload) {
                    Ok(g) => {
                        self.greeting_bytes = wire;
                        self.server_version = Some(g.version);
                        self.connection_id = Some(g.connection_id);
                        self.caps = g.capabilities;
                        self.auth_plugin = g.auth_plugin;
                    }
                    Err(_) => {
                        self.counters.malformed += 1;
                        self.phase = Phase::Commands;
                    }
                }
                return;
            }
            _ => {}
        }
        let dep = self.deprecate_eof();
        let max_rows = self.cfg.max_rows;
        let Some(pd) = self.pending.front_mut() else {
            self.counters.unmatched += 1;
            return;
        };
        pd.server_bytes += wire;
        pd.end_ns = Some(ts);
        pd.answered = true;
        let b = pk.payload.as_slice();
        let first = b.first().copied();
        let mut done = false;
        let mut prepared = None;
        match pd.resp {
            Resp::Auth => match first {
                Some(0x00) => {
                    pd.ok = true;
                    done = true;
                }
                Some(0xff) => {
                    pd.error = p::err(b);
                    done = true;
                }
                Some(0xfe) => {
                    // Auth switch request: the plugin name follows.
                    let name = b.get(1..).unwrap_or_default();
                    let name = name.split(|&c| c == 0).next().unwrap_or_default();
                    if !name.is_empty() {
                        self.auth_plugin = Some(p::text(name));
                    }
                }
                Some(0x01) => match b.get(1) {
                    Some(3) if b.len() == 2 => push_note(&mut pd.notes, "caching_sha2 fast auth"),
                    Some(4) if b.len() == 2 => push_note(&mut pd.notes, "caching_sha2 full auth"),
                    _ => {}
                },
                _ => {}
            },
            Resp::Infile => match first {
                Some(0xff) => {
                    pd.error = p::err(b);
                    done = true;
                }
                _ => {
                    if let Some(o) = p::ok(b) {
                        pd.f.affected_rows = Some(o.affected_rows);
                        pd.f.warnings = Some(o.warnings);
                    }
                    done = true;
                }
            },
            Resp::First => match first {
                Some(0xff) => {
                    pd.error = p::err(b);
                    done = true;
                }
                Some(0x00) if pd.code == p::COM_STMT_PREPARE => match p::prepare_ok(b) {
                    Some(po) => {
                        let eofs = |n: u16| u64::from(n) + u64::from(n > 0 && !dep);
                        let left = eofs(po.params) + eofs(po.columns);
                        pd.f.statement_id = Some(po.statement_id);
                        pd.f.num_params = Some(po.params);
                        pd.f.num_fields = Some(u64::from(po.columns));
                        prepared = Some(po.statement_id);
                        if left == 0 {
                            done = true;
                        } else {
                            pd.resp = Resp::Skip(left);
                        }
                    }
                    None => {
                        push_note(&mut pd.notes, "malformed prepare response");
                        done = true;
                    }
                },
                Some(0x00) => {
                    if let Some(o) = p::ok(b) {
                        pd.f.affected_rows =
                            Some(pd.f.affected_rows.unwrap_or(0).saturating_add(o.affected_rows));
                        pd.f.insert_id = Some(o.insert_id).filter(|i| *i > 0).or(pd.f.insert_id);
                        pd.f.warnings = Some(o.warnings);
                        done = o.status & MORE_RESULTS == 0;
                    } else {
                        done = true;
                    }
                }
                Some(0xfb) if pd.code == p::COM_QUERY => pd.resp = Resp::Infile,
                Some(0xfe) if b.len() < 9 => done = true,
                _ if pd.code == p::COM_FIELD_LIST => {
                    pd.resp = Resp::UntilEof;
                }
                _ if matches!(pd.code, p::COM_QUERY | p::COM_STMT_EXECUTE | p::COM_STMT_FETCH) => {
                    match p::column_count(b) {
                        Some((n, defs)) if n > 0 => {
                            pd.f.num_fields = Some(n);
                            pd.f.num_rows.get_or_insert(0);
                            pd.resp = match (defs, dep) {
                                (true, _) => Resp::Columns(n),
                                (false, true) => Resp::Rows,
                                (false, false) => Resp::ColumnsEof,
                            };
                        }
                        _ => {
                            push_note(&mut pd.notes, "unexpected response packet");
                            done = true;
                        }
                    }
                }
                _ => done = true,
            },
            Resp::Columns(n) => {
                let left = n.saturating_sub(1);
                pd.resp = match (left, dep) {
                    (0, true) => Resp::Rows,
                    (0, false) => Resp::ColumnsEof,
                    _ => Resp::Columns(left),
                };
            }
            Resp::ColumnsEof => {
                if first == Some(0xff) {
                    pd.error = p::err(b);
                    done = true;
                } else {
                    pd.resp = Resp::Rows;
                }
            }
            Resp::Rows => {
                if first == Some(0xff) {
                    pd.error = p::err(b);
                    done = true;
                } else if p::ends_rows(b, dep) {
                    let status = if b.len() < 9 && !dep {
                        b.get(3..5).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
                    } else {
                        p::ok(b).map_or(0, |o| o.status)
                    };
                    if status & MORE_RESULTS != 0 {
                        pd.resp = Resp::First;
                    } else {
                        done = true;
                    }
                } else {
                    let rows = pd.f.num_rows.unwrap_or(0);
                    if rows < max_rows {
                        pd.f.num_rows = Some(rows + 1);
                    } else if !pd.notes.iter().any(|n| n.starts_with("rows counted up to")) {
                        pd.notes.push(format!("rows counted up to {max_rows} (max_rows)"));
                        self.counters.limit_hits += 1;
                    }
                }
            }
            Resp::Skip(n) => {
                if n <= 1 {
                    done = true;
                } else {
                    pd.resp = Resp::Skip(n - 1);
                }
            }
            Resp::UntilEof => {
                if first == Some(0xff) {
                    pd.error = p::err(b);
                    done = true;
                } else if p::is_eof(b) || (dep && first == Some(0xfe)) {
                    done = true;
                }
            }
        }
        if let (Some(id), Some(q)) = (prepared, pd.f.query.clone()) {
            if self.stmts.len() < self.cfg.max_stmts || self.stmts.contains_key(&id) {
                self.stmts.insert(id, q);
            } else {
                self.counters.limit_hits += 1;
                if let Some(pd) = self.pending.front_mut() {
                    pd.notes.push(format!(
                        "statement not remembered: {} prepared statements (max_prepared_statements)",
                        self.cfg.max_stmts
                    ));
                }
            }
        }
        if done {
            if let Some(pd) = self.pending.pop_front() {
                if pd.code == p::COM_INIT_DB && pd.error.is_none() {
                    self.database.clone_from(&pd.f.database);
                }
                if pd.code == p::COM_CHANGE_USER && pd.ok {
                    self.user.clone_from(&pd.user);
                    if pd.f.database.is_some() {
                        self.database.clone_from(&pd.f.database);
                    }
                }
                let mut pd = pd;
                if pd.login || pd.code == p::COM_CHANGE_USER {
                    pd.f.auth_plugin.clone_from(&self.auth_plugin);
                }
                self.publish(pd, out);
            }
        }
    }

    /// Feeds bytes of one direction.
    fn feed(&mut self, dir: Dir, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let s = side(dir);
        let mut bytes = bytes;
        let skip = self.skip[s].min(bytes.len());
        if skip > 0 {
            self.skip[s] -= skip;
            bytes = bytes.get(skip..).unwrap_or_default();
        }
        if self.lost[s] {
            if !plausible_start(dir, bytes) {
                return;
            }
            self.lost[s] = false;
        }
        let mut buf = std::mem::take(&mut self.buf[s]);
        buf.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            match p::packet(rest, self.cfg.max_buffer) {
                Ok(pk) => {
                    pos += pk.wire;
                    self.counters.messages += 1;
                    self.packet(dir, ts, pk, out);
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    // Larger than the buffer limit: read what is here, skip the rest.
                    self.counters.limit_hits += 1;
                    let len = rest
                        .get(..3)
                        .map_or(0, |h| usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16);
                    let have = rest.len().saturating_sub(4);
                    let payload = rest.get(4..).unwrap_or_default().to_vec();
                    let seq = rest.get(3).copied().unwrap_or(0);
                    self.skip[s] = len.saturating_sub(have);
                    pos = buf.len();
                    let pk = Packet { seq, payload, wire: len + 4 };
                    self.packet(dir, ts, pk, out);
                    if let Some(pd) = self.pending.back_mut() {
                        push_note(&mut pd.notes, "packet larger than max_buffer_bytes: read in part");
                    }
                }
            }
        }
        buf.drain(..pos.min(buf.len()));
        if buf.len() > self.cfg.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            self.lost[s] = true;
        }
        self.buf[s] = buf;
    }

    fn packet(&mut self, dir: Dir, ts: i64, pk: Packet, out: &mut Vec<Txn>) {
        match dir {
            Dir::ToServer => self.client(ts, pk, out),
            Dir::ToClient => self.server(ts, pk, out),
        }
    }
}

fn push_note(notes: &mut Vec<String>, n: &str) {
    if !notes.iter().any(|x| x == n) {
        notes.push(n.to_owned());
    }
}

/// Whether a chunk after lost bytes starts with a packet: a command (sequence 0, a known
/// command byte) from the client, a response packet (sequence 1) from the server.
fn plausible_start(dir: Dir, b: &[u8]) -> bool {
    let Some(h) = b.get(..5) else { return false };
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    len > 0
        && match dir {
            Dir::ToServer => h[3] == 0 && p::command_name(h[4]) != "COM_UNKNOWN",
            Dir::ToClient => h[3] == 1,
        }
}

impl Parser for MysqlParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        out.append(&mut self.parked);
        if self.phase == Phase::Done {
            return;
        }
        self.feed(dir, ts_ns, bytes, out);
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let s = side(dir);
        self.buf[s].clear();
        self.skip[s] = 0;
        self.lost[s] = true;
        if dir == Dir::ToClient {
            // The response in progress cannot be followed: it ends here.
            if let Some(mut pd) = self.pending.pop_front() {
                if pd.answered {
                    push_note(&mut pd.notes, "response cut short by missing bytes");
                    let mut out = Vec::new();
                    self.publish(pd, &mut out);
                    self.parked.extend(out);
                } else {
                    self.pending.push_front(pd);
                }
            }
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        out.append(&mut self.parked);
        while self.pending.front().is_some_and(|pd| {
            now_ns.saturating_sub(pd.end_ns.unwrap_or(pd.start_ns)) > self.cfg.timeout_ns
        }) {
            if let Some(mut pd) = self.pending.pop_front() {
                pd.notes.push("no response within the transaction timeout".into());
                self.publish(pd, out);
            }
        }
    }

    fn handoff(&mut self) -> Option<crate::proto::Handoff> {
        std::mem::take(&mut self.tls_switched).then_some(crate::proto::Handoff::Switched)
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        out.append(&mut self.parked);
        while let Some(pd) = self.pending.pop_front() {
            self.publish(pd, out);
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
