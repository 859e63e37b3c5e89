//! The SMB per-flow session: session-service framing per direction, SMB2 requests paired with
//! responses by message id (an async STATUS_PENDING interim response keeps the request open),
//! SMB1 by multiplex id, bounded by the pending limit and the transaction timeout; tree ids
//! map to share paths, file ids to names, session ids to users; every anomaly is counted.

use super::fields::{Fields, File, User};
use super::parser::{self, Message, Smb1, Smb2, Token};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Txn};
use std::collections::{HashMap, VecDeque};

/// Names kept per connection (trees, files, users).
const MAX_NAMES: usize = 1024;

struct Pending {
    key: (u8, u64),
    txn: Txn,
}

pub struct SmbParser {
    buf: [Vec<u8>; 2],
    pending: VecDeque<Pending>,
    trees: HashMap<u32, String>,
    files: HashMap<[u8; 16], String>,
    users: HashMap<u64, (String, Option<String>)>,
    /// Tree path of a TREE_CONNECT request by message id, until its response names the id.
    tree_requests: HashMap<u64, String>,
    encrypted: u64,
    encrypted_start: Option<i64>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn signing_required(mode: Option<u16>) -> Option<bool> {
    mode.map(|m| m & 2 != 0)
}

fn outcome(status: u32) -> Outcome {
    if status >> 30 == 3 && status != parser::STATUS_MORE_PROCESSING_REQUIRED {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

fn put<K: std::hash::Hash + Eq, V>(m: &mut HashMap<K, V>, k: K, v: V) {
    if m.len() >= MAX_NAMES {
        m.clear();
    }
    m.insert(k, v);
}

impl SmbParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        SmbParser {
            buf: [Vec::new(), Vec::new()],
            pending: VecDeque::new(),
            trees: HashMap::new(),
            files: HashMap::new(),
            users: HashMap::new(),
            tree_requests: HashMap::new(),
            encrypted: 0,
            encrypted_start: None,
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn apply_token(f: &mut Fields, t: &Token) {
        let smb = &mut f.network_traffic.smb;
        smb.mechanism = smb.mechanism.or(Some(t.mechanism));
        if t.ntlm_type == Some(3) {
            smb.ntlm_version = t.ntlm_version;
            smb.workstation = t.workstation.clone();
            if let Some(u) = &t.user {
                f.user = Some(User { name: u.clone(), domain: t.domain.clone() });
            }
        }
    }

    fn file_of(&self, tree_id: u32, name: &str) -> File {
        let share = self.trees.get(&tree_id).cloned().unwrap_or_default();
        let base = name.rsplit('\\').next().unwrap_or(name).to_owned();
        let path = if share.is_empty() { name.to_owned() } else { format!("{share}\\{name}") };
        File { name: base, path }
    }

    fn request2(&mut self, m: &Smb2, compounded: bool, ts: i64, bytes: u64) -> Txn {
        let name = parser::command_name(m.command);
        let mut f = Fields::default();
        let s = &mut f.network_traffic.smb;
        s.version = "SMB2";
        s.command = name.to_owned();
        s.message_id = Some(m.message_id);
        s.session_id = (m.session_id != 0).then(|| format!("0x{:016x}", m.session_id));
        s.tree_id = (m.tree_id != 0).then_some(m.tree_id);
        s.tree = self.trees.get(&m.tree_id).cloned();
        s.signed = m.flags & parser::FLAG_SIGNED != 0;
        s.compounded = compounded;
        s.encrypted = self.encrypted > 0;
        let b = &m.body;
        s.dialects = b.dialects.iter().map(|d| parser::dialect_name(*d)).collect();
        s.ciphers = b.ciphers.iter().map(|c| parser::cipher_name(*c)).collect();
        s.signing_required = signing_required(b.security_mode);
        s.length = b.length;
        s.ioctl_code = b.ioctl_code.map(|c| format!("0x{c:08x}"));
        let mut resource = None;
        if let Some(p) = &b.path {
            s.tree = Some(p.clone());
            put(&mut self.tree_requests, m.message_id, p.clone());
            resource = Some(p.clone());
        }
        if let Some(n) = &b.file_name {
            let file = self.file_of(m.tree_id, n);
            resource = Some(file.path.clone());
            f.file = Some(file);
        } else if let Some(n) = b.file_id.and_then(|id| self.files.get(&id)) {
            let file = self.file_of(m.tree_id, &n.clone());
            resource = Some(file.path.clone());
            f.file = Some(file);
        }
        if let Some(t) = &b.security_token {
            Self::apply_token(&mut f, t);
        }
        if f.user.is_none() {
            if let Some((u, d)) = self.users.get(&m.session_id) {
                f.user = Some(User { name: u.clone(), domain: d.clone() });
            }
        }
        let mut t = Txn::new(&PROTOCOL, ts, f);
        t.client_bytes = bytes;
        t.method = Some(name.to_owned());
        t.query = Some(match &resource {
            Some(r) => format!("{name} {r}"),
            None => name.to_owned(),
        });
        t.resource = resource;
        t
    }

    /// Fills a request's transaction with its final response.
    fn response2(&mut self, t: &mut Txn, m: &Smb2, ts: i64, bytes: u64) {
        t.end_ns = Some(ts);
        t.server_bytes += bytes;
        t.outcome = outcome(m.status);
        t.status = if t.outcome == Outcome::Failure { "Error" } else { "OK" };
        let crate::proto::ProtoFields::Smb(f) = &mut t.fields else { return };
        let s = &mut f.network_traffic.smb;
        s.status = Some(parser::status_name(m.status).map(str::to_owned).unwrap_or_else(|| format!("0x{:08x}", m.status)));
        s.status_code = Some(format!("0x{:08x}", m.status));
        s.signed |= m.flags & parser::FLAG_SIGNED != 0;
        if s.session_id.is_none() && m.session_id != 0 {
            s.session_id = Some(format!("0x{:016x}", m.session_id));
        }
        let b = &m.body;
        if let Some(d) = b.dialect {
            s.dialect = Some(parser::dialect_name(d));
            if s.ciphers.is_empty() {
                s.ciphers = b.ciphers.iter().map(|c| parser::cipher_name(*c)).collect();
            }
            if let Some(r) = signing_required(b.security_mode) {
                s.signing_required = Some(r);
            }
        }
        if b.length.is_some() {
            s.length = b.length;
        }
        if m.command == 3 && m.status == 0 {
            if let Some(p) = self.tree_requests.remove(&m.message_id) {
                s.tree_id = Some(m.tree_id);
                put(&mut self.trees, m.tree_id, p);
            }
        }
        if m.command == 5 {
            if let (Some(id), Some(file)) = (b.file_id, &f.file) {
                let share = format!("{}\\", s.tree.clone().unwrap_or_default());
                let rel = file.path.strip_prefix(&share).unwrap_or(&file.path).to_owned();
                put(&mut self.files, id, rel);
            }
        }
        if let Some(tok) = &b.security_token {
            Self::apply_token(f, tok);
        }
        if m.command == 1 {
            let s = &f.network_traffic.smb;
            t.auth = match m.status {
                parser::STATUS_SUCCESS => Some(Outcome::Success),
                parser::STATUS_MORE_PROCESSING_REQUIRED => None,
                st if st >> 30 == 3 => Some(Outcome::Failure),
                _ => Some(Outcome::Unknown),
            };
            if s.mechanism.is_none() && t.auth.is_some() {
                f.network_traffic.smb.mechanism = Some("spnego");
            }
            if let (Some(Outcome::Success), Some(u)) = (t.auth, &f.user) {
                put(&mut self.users, m.session_id, (u.name.clone(), u.domain.clone()));
            }
        }
    }

    fn push_pending(&mut self, key: (u8, u64), txn: Txn, out: &mut Vec<Txn>) {
        if self.pending.len() >= self.max_pending {
            self.counters.limit_hits += 1;
            if let Some(mut old) = self.pending.pop_front() {
                old.txn.notes.push("no response (too many pending requests)".into());
                out.push(old.txn);
            }
        }
        self.pending.push_back(Pending { key, txn });
    }

    fn take_pending(&mut self, key: (u8, u64)) -> Option<Txn> {
        let i = self.pending.iter().position(|p| p.key == key)?;
        self.pending.remove(i).map(|p| p.txn)
    }

    fn smb2(&mut self, dir: Dir, ts: i64, pdus: Vec<Smb2>, bytes: u64, out: &mut Vec<Txn>) {
        let compounded = pdus.len() > 1;
        let share = bytes / pdus.len().max(1) as u64;
        for m in pdus {
            let key = (2, m.message_id);
            if dir == Dir::ToServer && !m.is_response() {
                let t = self.request2(&m, compounded, ts, share);
                if m.command == 12 {
                    out.push(t); // CANCEL has no response
                } else {
                    self.push_pending(key, t, out);
                }
            } else if m.status == parser::STATUS_PENDING && m.flags & parser::FLAG_ASYNC != 0 {
                if let Some(p) = self.pending.iter_mut().find(|p| p.key == key) {
                    p.txn.server_bytes += share;
                    if let crate::proto::ProtoFields::Smb(f) = &mut p.txn.fields {
                        f.network_traffic.smb.interim = true;
                    }
                }
            } else {
                let mut t = match self.take_pending(key) {
                    Some(t) => t,
                    None => {
                        if !(m.command == 18 && m.message_id == u64::MAX) {
                            self.counters.unmatched += 1;
                        }
                        let mut t = self.request2(&m, compounded, ts, 0);
                        t.notes.push(if m.command == 18 {
                            "oplock break notification".into()
                        } else {
                            "response without request".into()
                        });
                        t
                    }
                };
                self.response2(&mut t, &m, ts, share);
                out.push(t);
            }
        }
    }

    fn smb1(&mut self, ts: i64, m: Smb1, bytes: u64, out: &mut Vec<Txn>) {
        let key = (1, (u64::from(m.pid) << 16) | u64::from(m.mid));
        if !m.response {
            let name = parser::smb1_command_name(m.command);
            let mut f = Fields::default();
            let s = &mut f.network_traffic.smb;
            s.version = "SMB1";
            s.command = name.to_owned();
            s.message_id = Some(u64::from(m.mid));
            s.tree_id = (m.tid != 0).then_some(u32::from(m.tid));
            s.session_id = (m.uid != 0).then(|| format!("0x{:04x}", m.uid));
            s.dialects = m.dialects.clone();
            if let Some(tok) = &m.security_token {
                Self::apply_token(&mut f, tok);
            }
            let mut t = Txn::new(&PROTOCOL, ts, f);
            t.client_bytes = bytes;
            t.method = Some(name.to_owned());
            t.query = Some(name.to_owned());
            self.push_pending(key, t, out);
            return;
        }
        let mut t = match self.take_pending(key) {
            Some(t) => t,
            None => {
                self.counters.unmatched += 1;
                let mut f = Fields::default();
                f.network_traffic.smb.version = "SMB1";
                f.network_traffic.smb.command = parser::smb1_command_name(m.command).to_owned();
                let mut t = Txn::new(&PROTOCOL, ts, f);
                t.notes.push("response without request".into());
                t
            }
        };
        t.end_ns = Some(ts);
        t.server_bytes += bytes;
        t.outcome = outcome(m.status);
        t.status = if t.outcome == Outcome::Failure { "Error" } else { "OK" };
        if let crate::proto::ProtoFields::Smb(f) = &mut t.fields {
            let s = &mut f.network_traffic.smb;
            s.status = Some(parser::status_name(m.status).map(str::to_owned).unwrap_or_else(|| format!("0x{:08x}", m.status)));
            s.status_code = Some(format!("0x{:08x}", m.status));
            if m.command == 0x73 {
                t.auth = match m.status {
                    parser::STATUS_SUCCESS => Some(Outcome::Success),
                    parser::STATUS_MORE_PROCESSING_REQUIRED => None,
                    st if st >> 30 == 3 => Some(Outcome::Failure),
                    _ => Some(Outcome::Unknown),
                };
            }
        }
        out.push(t);
    }
}

impl Parser for SmbParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = usize::from(dir == Dir::ToClient);
        if self.buf[side].len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.buf[side].clear();
            return;
        }
        self.buf[side].extend_from_slice(bytes);
        let mut used_total = 0;
        loop {
            let rest = self.buf[side].get(used_total..).unwrap_or_default();
            match parser::frame(rest) {
                Ok((fr, used)) => {
                    used_total += used;
                    if fr.kind != 0 || fr.payload.is_empty() {
                        continue; // session request/response, keep-alive
                    }
                    self.counters.messages += 1;
                    let payload_len = used as u64;
                    match parser::message(fr.payload) {
                        Ok(Message::Smb2(pdus)) => self.smb2(dir, ts_ns, pdus, payload_len, out),
                        Ok(Message::Smb1(m)) => self.smb1(ts_ns, m, payload_len, out),
                        Ok(Message::Encrypted { .. }) | Ok(Message::Compressed) => {
                            self.encrypted += 1;
                            self.encrypted_start.get_or_insert(ts_ns);
                        }
                        Err(_) => self.counters.malformed += 1,
                    }
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    used_total = self.buf[side].len();
                    break;
                }
            }
        }
        self.buf[side].drain(..used_total.min(self.buf[side].len()));
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        // Bytes are missing: the partial frame cannot be completed; the next segment that
        // starts a frame resynchronises (a malformed start is dropped and counted).
        self.buf[usize::from(dir == Dir::ToClient)].clear();
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.txn.start_ns > self.timeout_ns) {
            if let Some(mut p) = self.pending.pop_front() {
                p.txn.notes.push("no response within the transaction timeout".into());
                out.push(p.txn);
            }
        }
    }

    fn close(&mut self, ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(mut p) = self.pending.pop_front() {
            p.txn.notes.push("no response".into());
            out.push(p.txn);
        }
        if self.encrypted > 0 {
            let mut f = Fields::default();
            f.network_traffic.smb.version = "SMB2";
            f.network_traffic.smb.command = "ENCRYPTED".into();
            f.network_traffic.smb.encrypted = true;
            f.network_traffic.smb.encrypted_messages = Some(self.encrypted);
            let mut t = Txn::new(&PROTOCOL, self.encrypted_start.unwrap_or(ts_ns), f);
            t.end_ns = Some(ts_ns);
            t.notes.push("SMB3 encrypted messages (transform header), not decrypted".into());
            self.encrypted = 0;
            out.push(t);
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
