//! The IMAP per-connection session: commands paired with their tagged completion by tag
//! (several may run at once), untagged responses counted on the oldest command, literals
//! (`{n}`) skipped by count on both sides so that message bodies and literal arguments never
//! desynchronise the line parser; LOGIN / AUTHENTICATE outcomes; STARTTLS hands over to TLS.

use super::fields::{Fields, ImapFields, NetworkTraffic, User};
use super::parser::{first_astring, literal_at_end, parse_command, parse_response, Response};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::smtp::line;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Login,
    Authenticate,
    StartTls,
    Idle,
    Other,
}

struct Pending {
    ts: i64,
    last_ts: i64,
    bytes: u64,
    server_bytes: u64,
    kind: Kind,
    fields: ImapFields,
    user: Option<String>,
}

/// Line and literal framing of one direction.
#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    /// Literal bytes still to skip.
    skip: u64,
    /// The next line continues the message whose line announced a literal.
    cont: bool,
}

pub struct ImapParser {
    c: Side,
    s: Side,
    pending: VecDeque<Pending>,
    /// AUTHENTICATE under way: the client's lines are SASL data.
    sasl: bool,
    greeted: bool,
    switched: bool,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

impl ImapParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        ImapParser {
            c: Side::default(),
            s: Side::default(),
            pending: VecDeque::new(),
            sasl: false,
            greeted: false,
            switched: false,
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn txn(p: Pending, end: Option<(i64, String, String)>) -> Txn {
        let Pending { ts, bytes, server_bytes, kind, mut fields, user, .. } = p;
        let method = fields.command.clone();
        let query = method.as_ref().map(|m| match &fields.args {
            Some(a) if !a.is_empty() => format!("{m} {a}"),
            _ => m.clone(),
        });
        let mut notes = Vec::new();
        let mut outcome = Outcome::Unknown;
        let mut end_ns = None;
        match end {
            Some((t, status, text)) => {
                outcome = if status == "OK" { Outcome::Success } else { Outcome::Failure };
                fields.status = Some(status);
                fields.text = Some(text);
                end_ns = Some(t);
            }
            None => notes.push("no completion response".to_owned()),
        }
        let mut t = Txn::new(
            &PROTOCOL,
            ts,
            Fields { user: user.map(|name| User { name }), network_traffic: NetworkTraffic { imap: fields } },
        );
        t.client_bytes = bytes;
        t.server_bytes = server_bytes;
        t.method = method;
        t.query = query;
        t.end_ns = end_ns;
        t.outcome = outcome;
        if outcome == Outcome::Failure {
            t.status = "Error";
        }
        if matches!(kind, Kind::Login | Kind::Authenticate) {
            t.auth = Some(outcome);
        }
        t.notes = notes;
        t
    }

    fn client_line(&mut self, ts: i64, l: &[u8], used: usize, out: &mut Vec<Txn>) {
        let lit = literal_at_end(l);
        if std::mem::take(&mut self.c.cont) || self.sasl {
            // The rest of a command after a literal, or SASL data: never parsed, never kept
            // (but the login of a PLAIN or LOGIN exchange's first line).
            let sasl = self.sasl;
            if let Some(p) = self.pending.back_mut() {
                p.bytes += used as u64;
                p.last_ts = ts;
                if sasl && p.kind == Kind::Authenticate && p.user.is_none() {
                    let text = String::from_utf8_lossy(l);
                    p.user = match p.fields.args.as_deref() {
                        Some("PLAIN") => crate::proto::smtp::plain_user(&text),
                        Some("LOGIN") => crate::proto::smtp::login_user(&text),
                        _ => None,
                    };
                }
            }
        } else if l.is_empty() {
        } else if let Some(c) = parse_command(l) {
            self.counters.messages += 1;
            let kind = match c.name.as_str() {
                "LOGIN" => Kind::Login,
                "AUTHENTICATE" => Kind::Authenticate,
                "STARTTLS" => Kind::StartTls,
                "IDLE" => Kind::Idle,
                _ => Kind::Other,
            };
            let mut user = None;
            let args = match kind {
                Kind::Login => {
                    user = first_astring(&c.args);
                    user.clone()
                }
                Kind::Authenticate => {
                    self.sasl = true;
                    c.args.split_whitespace().next().map(str::to_ascii_uppercase)
                }
                _ => (!c.args.is_empty()).then_some(c.args),
            };
            if self.pending.len() >= self.max_pending {
                self.counters.limit_hits += 1;
                if let Some(old) = self.pending.pop_front() {
                    let mut t = Self::txn(old, None);
                    t.notes.push("too many commands awaiting completion".into());
                    out.push(t);
                }
            }
            self.pending.push_back(Pending {
                ts,
                last_ts: ts,
                bytes: used as u64,
                server_bytes: 0,
                kind,
                fields: ImapFields {
                    tag: Some(c.tag),
                    command: Some(c.name),
                    args,
                    ..ImapFields::default()
                },
                user,
            });
        } else if self.pending.back().is_some_and(|p| p.kind == Kind::Idle)
            && l.eq_ignore_ascii_case(b"DONE")
        {
            if let Some(p) = self.pending.back_mut() {
                p.bytes += used as u64;
            }
        } else {
            self.counters.malformed += 1;
        }
        if let Some(n) = lit {
            self.c.skip = n;
            self.c.cont = true;
        }
    }

    fn server_line(&mut self, ts: i64, l: &[u8], used: usize, out: &mut Vec<Txn>) {
        let lit = literal_at_end(l);
        if let Some(n) = lit {
            self.s.skip = n;
        }
        let continued = std::mem::replace(&mut self.s.cont, lit.is_some());
        if continued {
            if let Some(p) = self.pending.front_mut() {
                p.server_bytes += used as u64;
            }
            return;
        }
        match parse_response(l) {
            Some(Response::Tagged { tag, status, text }) => {
                self.counters.messages += 1;
                self.greeted = true;
                let Some(i) = self.pending.iter().position(|p| p.fields.tag.as_deref() == Some(tag.as_str())) else {
                    self.counters.unmatched += 1;
                    let mut t = Txn::new(&PROTOCOL, ts, Fields::default());
                    t.notes.push("completion without a command".into());
                    t.server_bytes = used as u64;
                    t.end_ns = Some(ts);
                    t.outcome = if status == "OK" { Outcome::Success } else { Outcome::Failure };
                    if let crate::proto::ProtoFields::Imap(f) = &mut t.fields {
                        f.network_traffic.imap = ImapFields {
                            tag: Some(tag),
                            status: Some(status),
                            text: Some(text),
                            ..ImapFields::default()
                        };
                    }
                    out.push(t);
                    return;
                };
                let Some(mut p) = self.pending.remove(i) else { return };
                p.server_bytes += used as u64;
                if p.kind == Kind::Authenticate {
                    self.sasl = false;
                }
                if p.kind == Kind::StartTls && status == "OK" {
                    self.switched = true;
                }
                out.push(Self::txn(p, Some((ts, status, text))));
            }
            Some(Response::Untagged { status, text }) => {
                self.counters.messages += 1;
                let first = !std::mem::replace(&mut self.greeted, true);
                if first && self.pending.is_empty() && status.is_some() {
                    let mut t = Txn::new(&PROTOCOL, ts, Fields::default());
                    t.server_bytes = used as u64;
                    t.end_ns = Some(ts);
                    t.outcome = if status.as_deref() == Some("BYE") {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    };
                    if let crate::proto::ProtoFields::Imap(f) = &mut t.fields {
                        f.network_traffic.imap =
                            ImapFields { greeting: true, status, text: Some(text), ..ImapFields::default() };
                    }
                    out.push(t);
                    return;
                }
                if let Some(p) = self.pending.front_mut() {
                    p.server_bytes += used as u64;
                    p.last_ts = ts;
                    p.fields.untagged = Some(p.fields.untagged.unwrap_or(0) + 1);
                }
            }
            Some(Response::Continue) => {
                if let Some(p) = self.pending.back_mut() {
                    p.server_bytes += used as u64;
                    p.last_ts = ts;
                }
            }
            None => self.counters.malformed += 1,
        }
    }

    fn drain(&mut self, dir: Dir, ts: i64, out: &mut Vec<Txn>) {
        loop {
            let side = if dir == Dir::ToServer { &mut self.c } else { &mut self.s };
            if side.skip > 0 {
                let take = usize::try_from(side.skip).unwrap_or(usize::MAX).min(side.buf.len());
                if take == 0 {
                    return;
                }
                side.buf.drain(..take);
                side.skip -= take as u64;
                let p = if dir == Dir::ToServer { self.pending.back_mut() } else { self.pending.front_mut() };
                if let Some(p) = p {
                    p.last_ts = ts;
                    if dir == Dir::ToServer {
                        p.bytes += take as u64;
                    } else {
                        p.server_bytes += take as u64;
                        p.fields.literal_bytes = Some(p.fields.literal_bytes.unwrap_or(0) + take as u64);
                    }
                }
                continue;
            }
            let (l, used) = match line(&side.buf) {
                Ok((l, used)) => (l.to_vec(), used),
                Err(ParseError::Incomplete) => return,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    side.buf.clear();
                    return;
                }
            };
            side.buf.drain(..used);
            if dir == Dir::ToServer {
                self.client_line(ts, &l, used, out);
            } else {
                self.server_line(ts, &l, used, out);
                if self.switched {
                    self.c.buf.clear();
                    self.s.buf.clear();
                    return;
                }
            }
        }
    }
}

impl Parser for ImapParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.switched {
            return;
        }
        let side = if dir == Dir::ToServer { &mut self.c } else { &mut self.s };
        // Literal bytes are skipped without buffering them.
        let mut bytes = bytes;
        if side.buf.is_empty() && side.skip > 0 {
            let take = usize::try_from(side.skip).unwrap_or(usize::MAX).min(bytes.len());
            side.skip -= take as u64;
            let p = if dir == Dir::ToServer { self.pending.back_mut() } else { self.pending.front_mut() };
            if let Some(p) = p {
                p.last_ts = ts_ns;
                if dir == Dir::ToServer {
                    p.bytes += take as u64;
                } else {
                    p.server_bytes += take as u64;
                    p.fields.literal_bytes = Some(p.fields.literal_bytes.unwrap_or(0) + take as u64);
                }
            }
            bytes = bytes.get(take..).unwrap_or_default();
        }
        let side = if dir == Dir::ToServer { &mut self.c } else { &mut self.s };
        if side.buf.len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            side.buf.clear();
            side.cont = false;
            return;
        }
        side.buf.extend_from_slice(bytes);
        self.drain(dir, ts_ns, out);
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let side = if dir == Dir::ToServer { &mut self.c } else { &mut self.s };
        if side.skip > 0 {
            side.skip = side.skip.saturating_sub(len);
        } else {
            side.buf.clear();
            side.cont = false;
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| {
            p.kind != Kind::Idle && now_ns - p.last_ts > self.timeout_ns
        }) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = Self::txn(p, None);
                t.notes.push("no completion within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(Self::txn(p, None));
        }
    }

    fn handoff(&mut self) -> Option<crate::proto::Handoff> {
        std::mem::take(&mut self.switched).then_some(crate::proto::Handoff::Switched)
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
