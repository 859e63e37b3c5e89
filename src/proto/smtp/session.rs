//! The SMTP per-connection session: the greeting, commands paired in order with their replies
//! (pipelining), the two-step `DATA` (354, message, final reply), `BDAT` chunks counted by size,
//! `AUTH` exchanges (334 challenges, the client's lines skipped), and `STARTTLS` handing the
//! connection to TLS.

use super::fields::{Addresses, Email, Fields, NetworkTraffic, Response, SmtpFields, User};
use super::parser::{line, login_user, parse_command, parse_reply, path_address, plain_user, Headers, Reply};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Limits, Outcome, Parser, ParserContext, ParserCounters, Protocols, Transport, Txn};
use std::collections::VecDeque;

/// What the client's next bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Command,
    /// A `DATA`, `AUTH` or `STARTTLS` waits for its reply: what follows depends on it.
    Hold,
    /// The message after 354, up to the line `.`.
    Body,
    /// Bytes of a `BDAT` chunk still to come.
    Chunk(u64),
    /// One line answering a 334 challenge.
    AuthLine,
    /// TLS after an accepted `STARTTLS`: nothing more is parsed.
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Bdat { last: bool },
    Auth,
    StartTls,
    Ehlo,
    Mail,
    Rcpt,
    Reset,
    Other,
}

struct Pending {
    ts: i64,
    last_ts: i64,
    bytes: u64,
    server_bytes: u64,
    kind: Kind,
    fields: SmtpFields,
    address: Option<String>,
    user: Option<String>,
    /// AUTH LOGIN without an initial response: the first client line is the user name.
    login_user_next: bool,
    notes: Vec<String>,
}

/// The mail transaction under way (MAIL … DATA/BDAT LAST).
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
    headers: Headers,
    bytes: u64,
    chunks: u64,
}

/// Most recipients kept per mail transaction.
const MAX_RECIPIENTS: usize = 100;

/// Client bytes held while a `DATA` waits for its 354 before they are taken as the message.
const MAX_HOLD: usize = 16 * 1024;

pub struct SmtpParser {
    cbuf: Vec<u8>,
    sbuf: Vec<u8>,
    client: Client,
    pending: VecDeque<Pending>,
    envelope: Envelope,
    greeted: bool,
    switched: bool,
    /// Packet time of the first byte of the reply being buffered.
    reply_ts: Option<i64>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
    /// A client that starts TLS without STARTTLS (implicit TLS to a plain SMTP server, as on
    /// port 465 misused): its TLS goes to this TLS parser, made with the run's TLS settings.
    tls: Option<Box<dyn Parser>>,
    tls_config: Option<crate::proto::tls::Config>,
    limits: Limits,
    /// Lines in a row that were neither a command nor a reply; at [`MAX_BAD_LINES`] the stream
    /// is taken for something else on an SMTP port and ignored from then on.
    bad_lines: u8,
    gave_up: bool,
}

/// Malformed lines in a row after which a flow is not SMTP (a binary stream on port 25 would
/// otherwise count one malformed message per line break of its bytes).
pub(super) const MAX_BAD_LINES: u8 = 8;

/// Whether `b` starts like a TLS handshake record (content type 22, version 3.x).
fn tls_record(b: &[u8]) -> bool {
    matches!(b, [0x16, 0x03, v, ..] if *v <= 0x04)
}

fn outcome(code: u16) -> Outcome {
    match code {
        200..=399 => Outcome::Success,
        400..=599 => Outcome::Failure,
        _ => Outcome::Unknown,
    }
}

impl SmtpParser {
    /// Counts a malformed line; too many in a row and the flow is given up on.
    fn bad_line(&mut self) {
        self.counters.malformed += 1;
        self.bad_lines = self.bad_lines.saturating_add(1);
        if self.bad_lines >= MAX_BAD_LINES {
            self.gave_up = true;
            self.cbuf.clear();
            self.sbuf.clear();
        }
    }

    pub fn new(ctx: &ParserContext<'_>) -> Self {
        SmtpParser {
            cbuf: Vec::new(),
            sbuf: Vec::new(),
            client: Client::Command,
            pending: VecDeque::new(),
            envelope: Envelope::default(),
            greeted: false,
            switched: false,
            reply_ts: None,
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
            tls: None,
            tls_config: ctx.config.tls.enabled.then(|| ctx.config.tls.clone()),
            limits: ctx.limits.clone(),
            bad_lines: 0,
            gave_up: false,
        }
    }

    /// The client speaks TLS where a command was due: the rest of the flow goes to TLS.
    fn start_tls_parser(&mut self, ts: i64, out: &mut Vec<Txn>) {
        let Some(tls) = self.tls_config.clone() else {
            self.client = Client::Tls;
            return;
        };
        let config = Protocols { tls, ..Protocols::default() };
        let ctx = ParserContext { config: &config, limits: &self.limits, transport: Transport::Tcp, ip_proto: 6 };
        let mut p = (crate::proto::tls::PROTOCOL.make)(&ctx);
        p.data(Dir::ToServer, ts, &self.cbuf, out);
        self.cbuf.clear();
        self.sbuf.clear();
        self.tls = Some(p);
        self.client = Client::Tls;
    }

    fn command(&mut self, ts: i64, verb: String, args: String, used: usize, out: &mut Vec<Txn>) {
        let kind = match verb.as_str() {
            "DATA" => Kind::Data,
            "BDAT" => Kind::Bdat {
                last: args.split_whitespace().nth(1).is_some_and(|w| w.eq_ignore_ascii_case("LAST")),
            },
            "AUTH" => Kind::Auth,
            "STARTTLS" => Kind::StartTls,
            "EHLO" | "HELO" | "LHLO" => Kind::Ehlo,
            "MAIL" => Kind::Mail,
            "RCPT" => Kind::Rcpt,
            "RSET" => Kind::Reset,
            _ => Kind::Other,
        };
        let mut p = Pending {
            ts,
            last_ts: ts,
            bytes: used as u64,
            server_bytes: 0,
            kind,
            fields: SmtpFields { command: Some(verb), ..SmtpFields::default() },
            address: None,
            user: None,
            login_user_next: false,
            notes: Vec::new(),
        };
        let mut params = (!args.is_empty()).then(|| args.chars().take(1024).collect::<String>());
        match kind {
            Kind::Auth => {
                let mut w = args.split_whitespace();
                let mech = w.next().map(str::to_ascii_uppercase);
                let ir = w.next();
                match (mech.as_deref(), ir) {
                    (Some("PLAIN"), Some(ir)) => p.user = plain_user(ir),
                    (Some("LOGIN"), Some(ir)) => p.user = login_user(ir),
                    (Some("LOGIN"), None) => p.login_user_next = true,
                    _ => {}
                }
                params.clone_from(&mech);
                p.fields.auth_mechanism = mech;
                self.client = Client::Hold;
            }
            Kind::Data => self.client = Client::Hold,
            Kind::StartTls => self.client = Client::Hold,
            Kind::Bdat { .. } => {
                // bdat-cmd = "BDAT" SP chunk-size [SP "LAST"]: a server refuses other forms,
                // and the client sends no chunk for them.
                let w: Vec<&str> = args.split_whitespace().collect();
                let tail_ok = match w.get(1) {
                    None => true,
                    Some(l) => l.eq_ignore_ascii_case("LAST") && w.len() == 2,
                };
                let digits = w.first().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
                match w.first().map(|n| n.parse::<u64>()) {
                    Some(Ok(n)) if digits && tail_ok => {
                        if n > 0 {
                            self.client = Client::Chunk(n);
                        }
                    }
                    _ => p.notes.push("BDAT syntax error (no chunk follows)".into()),
                }
                self.envelope.chunks += 1;
            }
            Kind::Mail => {
                self.envelope = Envelope { from: path_address(&args), ..Envelope::default() };
                p.address.clone_from(&self.envelope.from);
            }
            Kind::Rcpt => {
                p.address = path_address(&args);
                if let Some(a) = &p.address {
                    if self.envelope.to.len() < MAX_RECIPIENTS {
                        self.envelope.to.push(a.clone());
                    }
                }
            }
            Kind::Reset | Kind::Ehlo => self.envelope = Envelope::default(),
            Kind::Other => {}
        }
        p.fields.params = params;
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(mut old) = self.pending.pop_front() {
                old.notes.push("too many commands awaiting a reply".into());
                out.push(self.txn(old, None));
            }
        }
        self.pending.push_back(p);
    }

    /// The pending command the client's message bytes belong to (the last DATA or BDAT).
    fn message_owner(&mut self) -> Option<&mut Pending> {
        self.pending.iter_mut().rev().find(|p| matches!(p.kind, Kind::Data | Kind::Bdat { .. }))
    }

    fn client_bytes(&mut self, ts: i64, out: &mut Vec<Txn>) {
        loop {
            match self.client {
                Client::Tls => {
                    self.cbuf.clear();
                    return;
                }
                Client::Hold => {
                    if self.cbuf.len() <= MAX_HOLD {
                        return;
                    }
                    // The reply to DATA was not seen: the client is sending its message.
                    let waits_data = self.pending.back().is_some_and(|p| p.kind == Kind::Data);
                    if !waits_data {
                        self.client = Client::Command;
                        continue;
                    }
                    if let Some(p) = self.pending.back_mut() {
                        p.notes.push("the reply to DATA was not seen".into());
                    }
                    self.client = Client::Body;
                }
                Client::Chunk(n) => {
                    if self.cbuf.is_empty() {
                        return;
                    }
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(self.cbuf.len());
                    self.envelope.headers.feed(self.cbuf.get(..take).unwrap_or_default());
                    self.cbuf.drain(..take);
                    self.envelope.bytes += take as u64;
                    if let Some(p) = self.message_owner() {
                        p.bytes += take as u64;
                        p.last_ts = ts;
                    }
                    let left = n - take as u64;
                    self.client = if left == 0 { Client::Command } else { Client::Chunk(left) };
                }
                Client::Body => match line(&self.cbuf) {
                    Ok((l, used)) => {
                        let end = l == b".";
                        if !end {
                            self.envelope.headers.feed(self.cbuf.get(..used).unwrap_or_default());
                            self.envelope.bytes += used as u64;
                        }
                        self.cbuf.drain(..used);
                        if let Some(p) = self.message_owner() {
                            p.bytes += used as u64;
                            p.last_ts = ts;
                        }
                        if end {
                            self.client = Client::Command;
                        }
                    }
                    Err(ParseError::Incomplete) => return,
                    Err(ParseError::Malformed(_)) => {
                        // A very long line of the message: count it and go on.
                        let n = self.cbuf.len().saturating_sub(1);
                        self.envelope.headers.feed(self.cbuf.get(..n).unwrap_or_default());
                        self.envelope.bytes += n as u64;
                        self.cbuf.drain(..n);
                        if let Some(p) = self.message_owner() {
                            p.bytes += n as u64;
                        }
                    }
                },
                Client::AuthLine => match line(&self.cbuf) {
                    Ok((l, used)) => {
                        let text = String::from_utf8_lossy(l).into_owned();
                        self.cbuf.drain(..used);
                        if let Some(p) = self.pending.back_mut().filter(|p| p.kind == Kind::Auth) {
                            p.bytes += used as u64;
                            p.last_ts = ts;
                            if std::mem::take(&mut p.login_user_next) {
                                p.user = login_user(&text);
                            }
                            if text.trim() == "*" {
                                p.notes.push("authentication cancelled by the client".into());
                            }
                        }
                        self.client = Client::Hold;
                    }
                    Err(ParseError::Incomplete) => return,
                    Err(ParseError::Malformed(_)) => {
                        self.bad_line();
                        self.cbuf.clear();
                        self.client = Client::Hold;
                        return;
                    }
                },
                Client::Command if tls_record(&self.cbuf) => {
                    self.counters.malformed += 1;
                    self.start_tls_parser(ts, out);
                    return;
                }
                Client::Command => match line(&self.cbuf) {
                    Ok((l, used)) => {
                        let parsed = (!l.is_empty()).then(|| parse_command(l));
                        self.cbuf.drain(..used);
                        match parsed {
                            None => {}
                            Some(Ok(c)) => {
                                self.bad_lines = 0;
                                self.counters.messages += 1;
                                self.command(ts, c.verb, c.args, used, out);
                            }
                            Some(Err(_)) => {
                                self.bad_line();
                                if self.gave_up {
                                    return;
                                }
                            }
                        }
                    }
                    Err(ParseError::Incomplete) => return,
                    Err(ParseError::Malformed(_)) => {
                        self.bad_line();
                        self.cbuf.clear();
                        return;
                    }
                },
            }
        }
    }

    fn reply(&mut self, ts: i64, r: Reply, used: usize, out: &mut Vec<Txn>) {
        self.counters.messages += 1;
        let start = self.reply_ts.take().unwrap_or(ts);
        let greeting = !self.greeted && r.code == 220;
        let front = if greeting { None } else { self.pending.front_mut() };
        let Some(front) = front else {
            let f = SmtpFields {
                greeting,
                response: Some(Response { code: r.code, text: r.text.clone() }),
                ..SmtpFields::default()
            };
            let fields = Fields { network_traffic: NetworkTraffic { smtp: f }, ..Fields::default() };
            let mut t = Txn::new(&PROTOCOL, start, fields);
            if greeting {
                t.server_domain =
                    r.text.split_whitespace().next().filter(|h| h.contains('.')).map(str::to_owned);
            } else {
                self.counters.unmatched += 1;
                t.notes.push("reply without a command".into());
            }
            self.greeted = true;
            t.end_ns = Some(ts);
            t.server_bytes = used as u64;
            t.outcome = outcome(r.code);
            if t.outcome == Outcome::Failure {
                t.status = "Error";
            }
            out.push(t);
            return;
        };
        self.greeted = true;
        front.server_bytes += used as u64;
        front.last_ts = ts;
        // Intermediate replies keep the command waiting.
        if front.kind == Kind::Data && r.code == 354 && front.fields.intermediate_code.is_none() {
            front.fields.intermediate_code = Some(354);
            if self.client == Client::Hold {
                self.client = Client::Body;
            }
            return;
        }
        if front.kind == Kind::Auth && r.code == 334 {
            front.fields.intermediate_code = Some(334);
            front.fields.auth_challenges = Some(front.fields.auth_challenges.unwrap_or(0) + 1);
            if self.client == Client::Hold {
                self.client = Client::AuthLine;
            }
            return;
        }
        let Some(mut p) = self.pending.pop_front() else { return };
        if p.kind == Kind::Ehlo {
            p.fields.extensions = r
                .more
                .iter()
                .filter_map(|l| l.split_whitespace().next())
                .map(|w| w.chars().take(64).collect::<String>().to_ascii_uppercase())
                .collect();
        }
        let holding = matches!(p.kind, Kind::Data | Kind::Auth | Kind::StartTls);
        if p.kind == Kind::StartTls && r.code == 220 {
            self.switched = true;
            self.client = Client::Tls;
        } else if holding && self.client == Client::Hold && self.pending.is_empty() {
            self.client = Client::Command;
        }
        out.push(self.txn(p, Some((ts, r))));
    }

    fn txn(&mut self, p: Pending, reply: Option<(i64, Reply)>) -> Txn {
        let Pending { ts, bytes, server_bytes, kind, mut fields, address, user, mut notes, .. } =
            p;
        let method = fields.command.clone();
        let query = method.as_ref().map(|m| match &fields.params {
            Some(a) => format!("{m} {a}"),
            None => m.clone(),
        });
        let mut email = Email::default();
        let ends_mail = matches!(kind, Kind::Data | Kind::Bdat { last: true });
        if ends_mail {
            let env = std::mem::take(&mut self.envelope);
            email.from = env.from.map(|a| Addresses { address: vec![a] });
            email.to = (!env.to.is_empty()).then_some(Addresses { address: env.to });
            email.subject = env.headers.subject;
            email.message_id = env.headers.message_id;
            fields.message_bytes = Some(env.bytes);
            if kind != Kind::Data {
                fields.chunks = Some(env.chunks);
            }
        } else if matches!(kind, Kind::Bdat { .. }) {
            fields.chunks = Some(self.envelope.chunks);
            fields.message_bytes = Some(self.envelope.bytes);
        } else if kind == Kind::Mail {
            email.from = address.clone().map(|a| Addresses { address: vec![a] });
        } else if kind == Kind::Rcpt {
            email.to = address.clone().map(|a| Addresses { address: vec![a] });
        }
        let code = reply.as_ref().map(|(_, r)| r.code);
        let mut end_ns = None;
        match reply {
            Some((end, r)) => {
                end_ns = Some(end);
                fields.response = Some(Response { code: r.code, text: r.text });
            }
            None if !notes.iter().any(|n| n.starts_with("no reply")) => notes.push("no reply".into()),
            None => {}
        }
        let mut related = Vec::new();
        if kind == Kind::Ehlo {
            if let Some(h) = fields.params.as_deref().and_then(|a| a.split_whitespace().next()) {
                if h.contains('.') && !h.starts_with('[') {
                    related.push(h.to_ascii_lowercase());
                }
            }
        }
        let all = Fields {
            email: (email != Email::default()).then_some(email),
            user: user.map(|name| User { name }),
            network_traffic: NetworkTraffic { smtp: fields },
        };
        let mut t = Txn::new(&PROTOCOL, ts, all);
        t.client_bytes = bytes;
        t.server_bytes = server_bytes;
        t.method = method;
        t.query = query;
        t.resource = address;
        t.related_hosts = related;
        t.end_ns = end_ns;
        t.outcome = code.map_or(Outcome::Unknown, outcome);
        if t.outcome == Outcome::Failure {
            t.status = "Error";
        }
        if kind == Kind::Auth {
            t.auth = Some(match code {
                Some(235) => Outcome::Success,
                Some(c) if c >= 400 => Outcome::Failure,
                _ => Outcome::Unknown,
            });
        }
        t.notes = notes;
        t
    }
}

impl Parser for SmtpParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if let Some(t) = self.tls.as_mut() {
            return t.data(dir, ts_ns, bytes, out);
        }
        if self.gave_up {
            return;
        }
        let buf = if dir == Dir::ToServer { &mut self.cbuf } else { &mut self.sbuf };
        if buf.len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            if bytes.len() > self.max_buffer {
                return;
            }
        }
        buf.extend_from_slice(bytes);
        if dir == Dir::ToServer {
            self.client_bytes(ts_ns, out);
            return;
        }
        if self.switched {
            self.sbuf.clear();
            return;
        }
        loop {
            if self.sbuf.is_empty() {
                self.reply_ts = None;
                break;
            }
            self.reply_ts.get_or_insert(ts_ns);
            match parse_reply(&self.sbuf) {
                Ok((r, used)) => {
                    self.bad_lines = 0;
                    self.sbuf.drain(..used);
                    self.reply(ts_ns, r, used, out);
                    // A reply may release client bytes held for it.
                    self.client_bytes(ts_ns, out);
                    if self.switched {
                        self.sbuf.clear();
                        break;
                    }
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    // Drop the line without a code (a server echoing raw line feeds) and go on.
                    self.bad_line();
                    if self.gave_up {
                        self.reply_ts = None;
                        break;
                    }
                    match self.sbuf.iter().position(|&b| b == b'\n') {
                        Some(nl) => drop(self.sbuf.drain(..=nl)),
                        None => {
                            self.sbuf.clear();
                            self.reply_ts = None;
                            break;
                        }
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        if let Some(t) = self.tls.as_mut() {
            return t.gap(dir, len);
        }
        if dir == Dir::ToClient {
            self.sbuf.clear();
            self.reply_ts = None;
            return;
        }
        match self.client {
            Client::Chunk(n) => {
                let left = n.saturating_sub(len);
                self.client = if left == 0 { Client::Command } else { Client::Chunk(left) };
            }
            Client::Body => {}
            _ => self.cbuf.clear(),
        }
        if let Some(p) = self.pending.back_mut() {
            p.notes.push("bytes missing in the client's stream".into());
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        if let Some(t) = self.tls.as_mut() {
            t.tick(now_ns, out);
        }
        while self.pending.front().is_some_and(|p| now_ns - p.last_ts > self.timeout_ns) {
            if let Some(mut p) = self.pending.pop_front() {
                p.notes.push("no reply within the transaction timeout".into());
                if self.client == Client::Hold {
                    self.client = Client::Command;
                }
                out.push(self.txn(p, None));
            }
        }
    }

    fn close(&mut self, ts_ns: i64, out: &mut Vec<Txn>) {
        if let Some(t) = self.tls.as_mut() {
            t.close(ts_ns, out);
        }
        while let Some(p) = self.pending.pop_front() {
            out.push(self.txn(p, None));
        }
    }

    fn handoff(&mut self) -> Option<crate::proto::Handoff> {
        (self.switched && self.client == Client::Tls).then(|| {
            self.client = Client::Command;
            crate::proto::Handoff::Switched
        })
    }

    fn take_counters(&mut self) -> ParserCounters {
        let mut c = std::mem::take(&mut self.counters);
        if let Some(t) = self.tls.as_mut() {
            c.add(&t.take_counters());
        }
        c
    }
}
