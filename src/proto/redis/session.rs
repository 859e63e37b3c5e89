//! The Redis per-connection session: FIFO pairing of commands and replies, `CLIENT REPLY`
//! modes, pub/sub pushes, resynchronisation after lost or malformed bytes.

use super::fields::{Fields, NetworkTraffic, RedisFields};
use super::parser::{is_type_byte, parse_command, parse_reply, Keep, Kind, Message};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::VecDeque;

/// Commands whose first argument is not a key (`resource` is left out).
const NO_KEY: &[&str] = &[
    "ACL", "AUTH", "BGREWRITEAOF", "BGSAVE", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DBSIZE",
    "DEBUG", "DISCARD", "ECHO", "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "EXEC", "FCALL",
    "FLUSHALL", "FLUSHDB", "FUNCTION", "HELLO", "INFO", "KEYS", "LASTSAVE", "LATENCY", "LOLWUT",
    "MEMORY", "MODULE", "MONITOR", "MULTI", "OBJECT", "PING", "PSUBSCRIBE", "PUBLISH", "PUBSUB",
    "PUNSUBSCRIBE", "QUIT", "RANDOMKEY", "READONLY", "READWRITE", "REPLICAOF", "RESET", "ROLE",
    "SAVE", "SCAN", "SCRIPT", "SELECT", "SHUTDOWN", "SLAVEOF", "SLOWLOG", "SPUBLISH",
    "SSUBSCRIBE", "SUBSCRIBE", "SUNSUBSCRIBE", "SWAPDB", "SYNC", "PSYNC", "TIME", "UNSUBSCRIBE",
    "UNWATCH", "WAIT", "WAITAOF", "XREAD", "XREADGROUP",
];

const SUBSCRIBE: &[&str] =
    &["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"];

/// First words of pushed pub/sub messages.
const PUSHED: &[&str] = &["message", "pmessage", "smessage"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyMode {
    On,
    Off,
    SkipNext,
}

struct Pending {
    ts: i64,
    bytes: u64,
    fields: RedisFields,
    is_auth: bool,
    subscribe_channels: usize,
}

pub struct RedisParser {
    buf: [Vec<u8>; 2],
    /// The direction lost its place: drop bytes until a segment starts like a message.
    lost: [bool; 2],
    pending: VecDeque<Pending>,
    mode: ReplyMode,
    /// Further subscription confirmations still due for the last answered SUBSCRIBE.
    confirmations: usize,
    /// A gap lost the pairing: publish the pending commands unanswered at the next call.
    flush_due: bool,
    /// Packet time of the first byte of the message being buffered, per direction.
    start_ts: [i64; 2],
    keep: Keep,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

/// Replaces secrets among a command's arguments (after the name) by `*`; returns the user
/// name of a login (it stays readable in the arguments).
fn mask(cmd: &str, args: &mut [String]) -> Option<String> {
    let star = |a: &mut String| *a = "*".into();
    match cmd {
        "AUTH" => match args {
            [pass] => {
                star(pass);
                None
            }
            [user, pass, ..] => {
                star(pass);
                Some(user.clone())
            }
            [] => None,
        },
        "HELLO" | "MIGRATE" => {
            let mut user = None;
            let mut i = 0;
            while let Some(a) = args.get(i) {
                let up = a.to_ascii_uppercase();
                if up == "AUTH" && cmd == "HELLO" {
                    user = args.get(i + 1).cloned();
                    if let Some(p) = args.get_mut(i + 2) {
                        star(p);
                    }
                    i += 3;
                } else if up == "AUTH" {
                    if let Some(p) = args.get_mut(i + 1) {
                        star(p);
                    }
                    i += 2;
                } else if up == "AUTH2" {
                    user = args.get(i + 1).cloned();
                    if let Some(p) = args.get_mut(i + 2) {
                        star(p);
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
            user
        }
        "CONFIG" => {
            if args.first().is_some_and(|a| a.eq_ignore_ascii_case("SET")) {
                let mut i = 1;
                while let Some(a) = args.get(i) {
                    let secret = ["requirepass", "masterauth", "masteruser"]
                        .iter()
                        .any(|s| a.eq_ignore_ascii_case(s));
                    if secret {
                        if let Some(p) = args.get_mut(i + 1) {
                            star(p);
                        }
                    }
                    i += 2;
                }
            }
            None
        }
        "ACL" => {
            // ACL SETUSER name >password #hash: rules that set passwords.
            for a in args.iter_mut().skip(2) {
                if a.starts_with('>') || a.starts_with('<') || a.starts_with('#') || a.starts_with('!') {
                    star(a);
                }
            }
            None
        }
        _ => None,
    }
}

impl RedisParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        let cfg = &ctx.config.redis;
        RedisParser {
            buf: [Vec::new(), Vec::new()],
            lost: [false, false],
            pending: VecDeque::new(),
            mode: ReplyMode::On,
            confirmations: 0,
            flush_due: false,
            start_ts: [0, 0],
            // One more than max_args: the command name is an element too.
            keep: Keep { max_elems: cfg.max_args.saturating_add(1), max_elem_len: cfg.max_arg_length },
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn command(&mut self, ts: i64, msg: Message, used: usize, out: &mut Vec<Txn>) {
        let mut words = msg.elems.into_iter();
        let Some(name) = words.next() else { return };
        let cmd = name.to_ascii_uppercase();
        let mut args: Vec<String> = words.collect();
        let count = msg.count.saturating_sub(1);
        let truncated = msg.truncated || args.len() < count;
        mask(&cmd, &mut args);
        let is_auth = cmd == "AUTH"
            || (cmd == "HELLO" && args.iter().any(|a| a.eq_ignore_ascii_case("AUTH")));
        let subscribe_channels =
            if SUBSCRIBE.contains(&cmd.as_str()) { count.max(1) } else { 0 };
        let sub = args.first().map(|a| a.to_ascii_uppercase());
        let p = Pending {
            ts,
            bytes: used as u64,
            fields: RedisFields {
                command: Some(cmd.clone()),
                args,
                args_count: Some(count as u64),
                args_truncated: truncated,
                inline: msg.kind == Kind::Inline,
                ..RedisFields::default()
            },
            is_auth,
            subscribe_channels,
        };
        // CLIENT REPLY OFF/SKIP: the server will not answer this command.
        let no_reply = match (cmd.as_str(), sub.as_deref(), self.mode) {
            ("CLIENT", Some("REPLY"), _) => {
                let how = p.fields.args.get(1).map(|a| a.to_ascii_uppercase());
                match how.as_deref() {
                    Some("ON") => {
                        self.mode = ReplyMode::On;
                        false
                    }
                    Some("OFF") => {
                        self.mode = ReplyMode::Off;
                        true
                    }
                    Some("SKIP") => {
                        if self.mode == ReplyMode::On {
                            self.mode = ReplyMode::SkipNext;
                        }
                        true
                    }
                    _ => self.mode != ReplyMode::On,
                }
            }
            (_, _, ReplyMode::Off) => true,
            (_, _, ReplyMode::SkipNext) => {
                self.mode = ReplyMode::On;
                true
            }
            _ => false,
        };
        if no_reply {
            let mut t = Self::txn(Some(p), None, ts);
            t.notes.push("no reply expected (CLIENT REPLY OFF or SKIP)".into());
            out.push(t);
            return;
        }
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(old) = self.pending.pop_front() {
                let mut t = Self::txn(Some(old), None, ts);
                t.notes.push("too many commands awaiting a reply".into());
                out.push(t);
            }
        }
        self.pending.push_back(p);
    }

    fn reply(&mut self, ts: i64, msg: Message, used: usize, out: &mut Vec<Txn>) {
        let first = msg.elems.first().map(|s| s.to_ascii_lowercase());
        let aggregate = matches!(msg.kind, Kind::Array | Kind::Push);
        if aggregate && first.as_deref().is_some_and(|f| PUSHED.contains(&f)) {
            return; // a pub/sub message, not a reply
        }
        let confirmation = aggregate
            && first
                .as_deref()
                .is_some_and(|f| SUBSCRIBE.iter().any(|s| s.eq_ignore_ascii_case(f)));
        let head_subscribes = self.pending.front().is_some_and(|p| p.subscribe_channels > 0);
        if confirmation && !head_subscribes {
            // A further confirmation of a SUBSCRIBE of several channels.
            self.confirmations = self.confirmations.saturating_sub(1);
            return;
        }
        if confirmation && self.confirmations > 0 {
            self.confirmations -= 1;
            return;
        }
        if msg.kind == Kind::Push && !confirmation {
            return; // RESP3 out-of-band data (client tracking invalidations, …)
        }
        let req = self.pending.pop_front();
        if req.is_none() {
            self.counters.unmatched += 1;
        }
        if let Some(r) = &req {
            self.confirmations = r.subscribe_channels.saturating_sub(1);
        }
        out.push(Self::txn(req, Some((ts, msg, used as u64)), ts));
    }

    fn txn(req: Option<Pending>, resp: Option<(i64, Message, u64)>, start: i64) -> Txn {
        let (ts0, bytes, mut fields, is_auth) = match req {
            Some(p) => (p.ts, p.bytes, p.fields, p.is_auth),
            None => (start, 0, RedisFields::default(), false),
        };
        let mut err = false;
        let mut end = None;
        let mut server_bytes = 0;
        let has_req = fields.command.is_some();
        if let Some((ts, m, b)) = resp {
            end = Some(ts);
            server_bytes = b;
            fields.reply_type = Some(m.kind.name());
            err = m.kind.is_error();
            if err {
                fields.error = Some(m.render);
            } else {
                fields.return_value = Some(m.render);
            }
        }
        let method = fields.command.clone();
        let resource = method.as_deref().filter(|c| !NO_KEY.contains(c)).and_then(|_| fields.args.first().cloned());
        let query = method.as_ref().map(|c| {
            let mut q = c.clone();
            for a in &fields.args {
                q.push(' ');
                q.push_str(a);
            }
            q
        });
        fields.query = query.clone();
        let replied = end.is_some();
        let mut t = Txn::new(
            &PROTOCOL,
            ts0,
            Fields { network_traffic: NetworkTraffic { redis: fields } },
        );
        t.client_bytes = bytes;
        t.server_bytes = server_bytes;
        t.end_ns = end;
        t.method = method;
        t.resource = resource;
        t.query = query;
        if replied {
            t.outcome = if err { Outcome::Failure } else { Outcome::Success };
            if err {
                t.status = "Error";
            }
        }
        if is_auth {
            t.auth = Some(if !replied { Outcome::Unknown } else { t.outcome });
        }
        if !has_req {
            t.notes.push("reply without command".into());
        }
        t
    }

    fn flush_pending(&mut self, note: &str, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            let ts = p.ts;
            let mut t = Self::txn(Some(p), None, ts);
            t.notes.push(note.into());
            out.push(t);
        }
        self.confirmations = 0;
    }

    fn lose(&mut self, side: usize, out: &mut Vec<Txn>) {
        if let Some(b) = self.buf.get_mut(side) {
            b.clear();
        }
        if let Some(l) = self.lost.get_mut(side) {
            *l = true;
        }
        self.flush_pending("pairing lost (bytes missing or malformed)", out);
    }
}

impl Parser for RedisParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if std::mem::take(&mut self.flush_due) {
            self.flush_pending("pairing lost (bytes missing)", out);
        }
        let side = usize::from(dir == Dir::ToClient);
        if self.lost.get(side).copied().unwrap_or(false) {
            let starts = match (dir, bytes.first()) {
                (Dir::ToServer, Some(b)) => *b == b'*',
                (Dir::ToClient, Some(b)) => is_type_byte(*b),
                _ => false,
            };
            if !starts {
                return;
            }
            if let Some(l) = self.lost.get_mut(side) {
                *l = false;
            }
        }
        let held = self.buf.get(side).map_or(0, Vec::len);
        if held + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.lose(side, out);
            return;
        }
        if held == 0 {
            if let Some(t) = self.start_ts.get_mut(side) {
                *t = ts_ns;
            }
        }
        if let Some(b) = self.buf.get_mut(side) {
            b.extend_from_slice(bytes);
        }
        loop {
            let start = self.start_ts.get(side).copied().unwrap_or(ts_ns);
            let buf = self.buf.get(side).map(Vec::as_slice).unwrap_or_default();
            if buf.is_empty() {
                break;
            }
            let parsed = match dir {
                Dir::ToServer => parse_command(buf, self.keep),
                Dir::ToClient => parse_reply(buf, self.keep).map(|(m, n)| (Some(m), n)),
            };
            match parsed {
                Ok((msg, used)) => {
                    if let Some(b) = self.buf.get_mut(side) {
                        b.drain(..used.min(b.len()));
                    }
                    if let Some(t) = self.start_ts.get_mut(side) {
                        *t = ts_ns;
                    }
                    let Some(msg) = msg else { continue };
                    self.counters.messages += 1;
                    match dir {
                        Dir::ToServer => self.command(start, msg, used, out),
                        Dir::ToClient if msg.kind == Kind::Attribute => {}
                        Dir::ToClient => self.reply(ts_ns, msg, used, out),
                    }
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    self.lose(side, out);
                    break;
                }
            }
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        let side = usize::from(dir == Dir::ToClient);
        if let Some(b) = self.buf.get_mut(side) {
            b.clear();
        }
        if let Some(l) = self.lost.get_mut(side) {
            *l = true;
        }
        // Pending commands are published with the next bytes, tick or close.
        self.flush_due = true;
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        if std::mem::take(&mut self.flush_due) {
            self.flush_pending("pairing lost (bytes missing)", out);
        }
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let ts = p.ts;
                let mut t = Self::txn(Some(p), None, ts);
                t.notes.push("no reply within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            let ts = p.ts;
            out.push(Self::txn(Some(p), None, ts));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
