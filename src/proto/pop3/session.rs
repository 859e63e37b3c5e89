//! The POP3 per-connection session: commands paired in order with their status line
//! (pipelining, RFC 2449), multi-line responses skipped up to the lone `.` and counted, AUTH
//! exchanges (the client's SASL lines never parsed nor kept), USER/PASS and APOP logins, STLS
//! handing the connection over to TLS.

use super::fields::{Fields, NetworkTraffic, Pop3Fields, User};
use super::parser::{multi_line, parse_command, parse_status, Status};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::smtp::{line, login_user, plain_user};
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    /// PASS, APOP, AUTH: logins.
    Login,
    Stls,
    Other,
}

struct Pending {
    ts: i64,
    last_ts: i64,
    bytes: u64,
    server_bytes: u64,
    kind: Kind,
    fields: Pop3Fields,
    user: Option<String>,
    /// AUTH's mechanism while its exchange runs (the user is read from the first SASL line).
    mech: Option<String>,
}

pub struct Pop3Parser {
    cbuf: Vec<u8>,
    sbuf: Vec<u8>,
    pending: VecDeque<Pending>,
    /// The front command's `+OK` opened a multi-line response.
    in_data: bool,
    /// AUTH under way: the client's lines are SASL data.
    sasl: bool,
    /// The name of the last USER, for the PASS that follows.
    user: Option<String>,
    greeted: bool,
    switched: bool,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

impl Pop3Parser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        Pop3Parser {
            cbuf: Vec::new(),
            sbuf: Vec::new(),
            pending: VecDeque::new(),
            in_data: false,
            sasl: false,
            user: None,
            greeted: false,
            switched: false,
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn txn(p: Pending, end: Option<i64>) -> Txn {
        let Pending { ts, bytes, server_bytes, kind, fields, user, .. } = p;
        let method = fields.command.clone();
        let query = method.as_ref().map(|m| match &fields.args {
            Some(a) => format!("{m} {a}"),
            None => m.clone(),
        });
        let outcome = match fields.status.as_deref() {
            Some("+OK") => Outcome::Success,
            Some(_) => Outcome::Failure,
            None => Outcome::Unknown,
        };
        let mut t = Txn::new(
            &PROTOCOL,
            ts,
            Fields { user: user.map(|name| User { name }), network_traffic: NetworkTraffic { pop3: fields } },
        );
        t.client_bytes = bytes;
        t.server_bytes = server_bytes;
        t.method = method;
        t.query = query;
        t.end_ns = end;
        t.outcome = outcome;
        if outcome == Outcome::Failure {
            t.status = "Error";
        }
        if kind == Kind::Login {
            t.auth = Some(outcome);
        }
        if end.is_none() {
            t.notes.push("no response".into());
        }
        t
    }

    fn client_line(&mut self, ts: i64, l: &[u8], used: usize, out: &mut Vec<Txn>) {
        if self.sasl {
            if let Some(p) = self.pending.back_mut() {
                p.bytes += used as u64;
                p.last_ts = ts;
                let text = String::from_utf8_lossy(l);
                match p.mech.take().as_deref() {
                    Some("PLAIN") => p.user = plain_user(&text),
                    Some("LOGIN") => p.user = login_user(&text),
                    _ => {}
                }
            }
            return;
        }
        if l.is_empty() {
            return;
        }
        let Some(c) = parse_command(l) else {
            self.counters.malformed += 1;
            return;
        };
        self.counters.messages += 1;
        let mut kind = Kind::Other;
        let mut user = None;
        let mut mech = None;
        let args = match c.name.as_str() {
            "USER" => {
                kind = Kind::User;
                self.user = (!c.args.is_empty()).then(|| c.args.chars().take(256).collect());
                user.clone_from(&self.user);
                self.user.clone()
            }
            "PASS" => {
                kind = Kind::Login;
                user.clone_from(&self.user);
                None
            }
            "APOP" => {
                kind = Kind::Login;
                user = c.args.split_whitespace().next().map(str::to_owned);
                user.clone()
            }
            "AUTH" => {
                let mut w = c.args.split_whitespace();
                let m = w.next().map(str::to_ascii_uppercase);
                if m.is_some() {
                    kind = Kind::Login;
                    self.sasl = true;
                    match (m.as_deref(), w.next()) {
                        (Some("PLAIN"), Some(ir)) => user = plain_user(ir),
                        (Some("LOGIN"), Some(ir)) => user = login_user(ir),
                        _ => mech.clone_from(&m),
                    }
                }
                m
            }
            "STLS" => {
                kind = Kind::Stls;
                None
            }
            _ => (!c.args.is_empty()).then_some(c.args.clone()),
        };
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(old) = self.pending.pop_front() {
                self.in_data = false;
                let mut t = Self::txn(old, None);
                t.notes.push("too many commands awaiting a response".into());
                out.push(t);
            }
        }
        self.pending.push_back(Pending {
            ts,
            last_ts: ts,
            bytes: used as u64,
            server_bytes: 0,
            kind,
            fields: Pop3Fields { command: Some(c.name), args, ..Pop3Fields::default() },
            user,
            mech,
        });
    }

    fn server_line(&mut self, ts: i64, l: &[u8], used: usize, out: &mut Vec<Txn>) {
        if self.in_data {
            if l == b"." {
                self.in_data = false;
                if let Some(mut p) = self.pending.pop_front() {
                    p.server_bytes += used as u64;
                    out.push(Self::txn(p, Some(ts)));
                }
            } else if let Some(p) = self.pending.front_mut() {
                p.server_bytes += used as u64;
                p.last_ts = ts;
                p.fields.data_bytes = Some(p.fields.data_bytes.unwrap_or(0) + used as u64);
            }
            return;
        }
        let Some(status) = parse_status(l) else {
            self.counters.malformed += 1;
            return;
        };
        self.counters.messages += 1;
        let first = !std::mem::replace(&mut self.greeted, true);
        let (st, text) = match status {
            Status::Challenge => {
                if let Some(p) = self.pending.front_mut() {
                    p.server_bytes += used as u64;
                    p.last_ts = ts;
                }
                return;
            }
            Status::Ok(t) => ("+OK", t),
            Status::Err(t) => ("-ERR", t),
        };
        let front = if first { None } else { self.pending.pop_front() };
        let Some(mut p) = front else {
            let greeting = first;
            if !greeting {
                self.counters.unmatched += 1;
            }
            let mut t = Txn::new(
                &PROTOCOL,
                ts,
                Fields {
                    user: None,
                    network_traffic: NetworkTraffic {
                        pop3: Pop3Fields {
                            greeting,
                            status: Some(st.into()),
                            text: Some(text),
                            ..Pop3Fields::default()
                        },
                    },
                },
            );
            if !greeting {
                t.notes.push("response without a command".into());
            }
            t.server_bytes = used as u64;
            t.end_ns = Some(ts);
            t.outcome = if st == "+OK" { Outcome::Success } else { Outcome::Failure };
            out.push(t);
            return;
        };
        p.server_bytes += used as u64;
        p.fields.status = Some(st.into());
        p.fields.text = Some(text);
        if p.kind == Kind::Login {
            self.sasl = false;
        }
        let cmd = p.fields.command.clone().unwrap_or_default();
        let args = p.fields.args.clone().unwrap_or_default();
        if st == "+OK" && p.kind == Kind::Stls {
            self.switched = true;
        }
        if st == "+OK" && multi_line(&cmd, &args) && p.kind != Kind::Login {
            self.in_data = true;
            p.last_ts = ts;
            self.pending.push_front(p);
            return;
        }
        out.push(Self::txn(p, Some(ts)));
    }

    fn drain(&mut self, dir: Dir, ts: i64, out: &mut Vec<Txn>) {
        loop {
            let buf = if dir == Dir::ToServer { &mut self.cbuf } else { &mut self.sbuf };
            let (l, used) = match line(buf) {
                Ok((l, used)) => (l.to_vec(), used),
                Err(ParseError::Incomplete) => return,
                Err(ParseError::Malformed(_)) => {
                    // A very long line: of a message, counted; otherwise garbage.
                    let n = buf.len();
                    buf.clear();
                    if dir == Dir::ToClient && self.in_data {
                        if let Some(p) = self.pending.front_mut() {
                            p.server_bytes += n as u64;
                            p.fields.data_bytes = Some(p.fields.data_bytes.unwrap_or(0) + n as u64);
                        }
                    } else {
                        self.counters.malformed += 1;
                    }
                    return;
                }
            };
            buf.drain(..used);
            if dir == Dir::ToServer {
                self.client_line(ts, &l, used, out);
            } else {
                self.server_line(ts, &l, used, out);
                if self.switched {
                    self.cbuf.clear();
                    self.sbuf.clear();
                    return;
                }
            }
        }
    }
}

impl Parser for Pop3Parser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.switched {
            return;
        }
        let buf = if dir == Dir::ToServer { &mut self.cbuf } else { &mut self.sbuf };
        if buf.len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            buf.clear();
            return;
        }
        buf.extend_from_slice(bytes);
        self.drain(dir, ts_ns, out);
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        if dir == Dir::ToServer {
            self.cbuf.clear();
        } else if !self.in_data {
            // Inside a multi-line response the lost bytes were message text: the end line
            // still comes.
            self.sbuf.clear();
        }
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.last_ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                self.in_data = false;
                let mut t = Self::txn(p, None);
                t.notes.push("no response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, ts_ns: i64, out: &mut Vec<Txn>) {
        if std::mem::take(&mut self.in_data) {
            if let Some(mut p) = self.pending.pop_front() {
                p.fields.text.get_or_insert_with(String::new);
                let mut t = Self::txn(p, Some(ts_ns));
                t.notes.push("multi-line response not ended".into());
                out.push(t);
            }
        }
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
