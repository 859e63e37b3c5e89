//! The per-flow SIP session: requests paired with their responses by (Call-ID, CSeq number,
//! CSeq method); 1xx responses are noted on the pending request, a final (≥ 200) response
//! completes it. A request seen again while pending (UDP retransmission) is counted on it; a
//! final response seen again after completion is dropped (bounded memory of completed keys).

use super::fields::*;
use super::parser::{self, Message, Start};
use super::PROTOCOL;
use crate::bytes::ParseError;
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, Transport, Txn};
use std::collections::VecDeque;

/// Completed transaction keys remembered to drop retransmitted final responses.
const MAX_COMPLETED: usize = 64;

type Key = (String, u64, String);

struct Pending {
    key: Key,
    ts: i64,
    bytes: u64,
    req: Message,
    provisional: Vec<u16>,
    retransmissions: u64,
    server_bytes: u64,
}

pub struct SipParser {
    tcp: bool,
    buf: [Vec<u8>; 2],
    pending: VecDeque<Pending>,
    completed: VecDeque<Key>,
    max_buffer: usize,
    max_pending: usize,
    timeout_ns: i64,
    counters: ParserCounters,
}

fn key(m: &Message) -> Option<Key> {
    let call_id = m.header("call-id")?.to_owned();
    let (n, method) = m.header("cseq")?.trim().split_once(' ')?;
    Some((call_id, n.trim().parse().ok()?, method.trim().to_ascii_uppercase()))
}

fn uri_fields(u: parser::Uri) -> UriFields {
    UriFields { original: u.original, scheme: u.scheme, username: u.username, host: u.host, port: u.port }
}

fn party(v: Option<&str>) -> Option<Party> {
    let n = parser::name_addr(v?);
    Some(Party { display_info: n.display, uri: uri_fields(n.uri), tag: n.tag })
}

/// The fields of a message (the request's when there is one); the response adds its code.
fn fields(m: &Message, retrans: u64) -> SipFields {
    let mut f = SipFields { kind: "request", ..SipFields::default() };
    match &m.start {
        Start::Request { method, uri, version } => {
            f.method = Some(method.clone());
            f.uri = Some(uri_fields(parser::uri(uri)));
            f.version = version.clone();
        }
        Start::Response { code, phrase, version } => {
            f.kind = "response";
            f.code = Some(*code);
            f.status = Some(phrase.clone());
            f.version = version.clone();
        }
    }
    f.call_id = m.header("call-id").map(str::to_owned);
    f.cseq = m.header("cseq").and_then(|c| {
        let (n, method) = c.trim().split_once(' ')?;
        Some(Cseq { code: n.trim().parse().ok()?, method: method.trim().to_owned() })
    });
    f.from = party(m.header("from"));
    f.to = party(m.header("to"));
    f.contact = m.header("contact").and_then(|c| party(parser::split_values(c).first().map(String::as_str)));
    let via: Vec<String> =
        m.all("via").flat_map(parser::split_values).take(parser::MAX_VIA).collect();
    if !via.is_empty() {
        f.via = Some(Original { original: via });
    }
    f.user_agent = m.header("user-agent").map(|u| UaFields { original: u.to_owned() });
    f.server = m.header("server").map(str::to_owned);
    f.max_forwards = m.header("max-forwards").and_then(|v| v.trim().parse().ok());
    f.content_length = m.header("content-length").and_then(|v| v.trim().parse().ok());
    f.content_type = m.header("content-type").map(str::to_owned);
    f.auth = m.header("authorization").or(m.header("proxy-authorization")).map(|a| {
        let a = parser::auth(a);
        AuthFields { scheme: a.scheme, realm: a.realm, username: a.username, uri: a.uri.map(|u| uri_fields(parser::uri(&u))) }
    });
    if !m.body.is_empty() && f.content_type.as_deref().is_some_and(|c| c.to_ascii_lowercase().starts_with("application/sdp")) {
        let s = parser::sdp(&m.body);
        f.sdp = Some(SdpFields {
            version: s.version,
            owner: SdpOwner { username: s.owner_username, session_id: s.owner_session_id, version: s.owner_version, ip: s.owner_ip },
            session: s.session_name.map(|name| SdpSession { name }),
            connection: SdpConnection { info: s.connection_info, address: s.connection_address },
            media: s.media,
            body: SdpBody { original: String::from_utf8_lossy(&m.body).into_owned() },
        });
    }
    if retrans > 0 {
        f.retransmissions = Some(retrans);
    }
    f
}

fn has_credentials(m: &Message) -> bool {
    m.header("authorization").is_some() || m.header("proxy-authorization").is_some()
}

fn build(p: Option<&Pending>, resp: Option<(i64, u64, &Message)>) -> Txn {
    let main = p.map(|p| &p.req).or(resp.map(|r| r.2));
    let mut sip = main.map(|m| fields(m, p.map_or(0, |p| p.retransmissions))).unwrap_or_default();
    let start = p.map(|p| p.ts).or(resp.map(|r| r.0)).unwrap_or(0);
    if let Some(p) = p {
        sip.provisional_codes = p.provisional.clone();
    }
    let mut code = None;
    if let Some((_, _, r)) = resp {
        if let Start::Response { code: c, phrase, .. } = &r.start {
            sip.kind = "response";
            sip.code = Some(*c);
            sip.status = Some(phrase.clone());
            code = Some(*c);
        }
        if sip.server.is_none() {
            sip.server = r.header("server").map(str::to_owned);
        }
        if p.is_some() {
            if let Some(t) = parser::name_addr(r.header("to").unwrap_or_default()).tag {
                if let Some(to) = sip.to.as_mut() {
                    to.tag.get_or_insert(t);
                }
            }
        }
    }
    let ua = p.and_then(|p| p.req.header("user-agent")).map(|u| UserAgent { original: u.to_owned() });
    let method = sip.method.clone();
    let req_uri = sip.uri.as_ref().map(|u| u.original.clone());
    let mut t = Txn::new(&PROTOCOL, start, Fields { user_agent: ua, network_traffic: NetworkTraffic { sip } });
    if let Some(p) = p {
        t.client_bytes = p.bytes;
        t.server_bytes = p.server_bytes;
        t.method = method.clone();
        t.resource = req_uri.clone();
        t.query = method.as_ref().zip(req_uri.as_ref()).map(|(m, u)| format!("{m} {u}"));
        if method.as_deref() == Some("REGISTER") {
            let creds = has_credentials(&p.req);
            t.auth = match code {
                Some(200..=299) if creds => Some(Outcome::Success),
                Some(401 | 407 | 403) if creds => Some(Outcome::Failure),
                Some(403) => Some(Outcome::Failure),
                None if creds => Some(Outcome::Unknown),
                _ => None,
            };
        }
    } else {
        t.notes.push("response without request".into());
    }
    match resp {
        Some((ts, bytes, _)) => {
            t.end_ns = Some(ts);
            t.server_bytes += bytes;
            let failed = code.is_some_and(|c| c >= 400);
            t.outcome = if failed { Outcome::Failure } else { Outcome::Success };
            if failed {
                t.status = "Error";
            }
        }
        None => {
            if p.is_some_and(|p| !p.provisional.is_empty()) {
                t.notes.push("no final response seen".into());
            }
        }
    }
    t
}

impl SipParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        SipParser {
            tcp: ctx.transport == Transport::Tcp,
            buf: [Vec::new(), Vec::new()],
            pending: VecDeque::new(),
            completed: VecDeque::new(),
            max_buffer: ctx.limits.max_buffer_bytes,
            max_pending: ctx.limits.max_pending,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            counters: ParserCounters::default(),
        }
    }

    fn message(&mut self, ts: i64, m: Message, used: usize, out: &mut Vec<Txn>) {
        self.counters.messages += 1;
        if m.headers_dropped > 0 {
            self.counters.limit_hits += 1;
        }
        let k = key(&m);
        match &m.start {
            Start::Request { .. } => {
                let Some(k) = k else {
                    // Without Call-ID and CSeq nothing can answer it: a lone event.
                    self.counters.malformed += 1;
                    let p = Pending { key: Default::default(), ts, bytes: used as u64, req: m, provisional: Vec::new(), retransmissions: 0, server_bytes: 0 };
                    let mut t = build(Some(&p), None);
                    t.notes.push("request without Call-ID or CSeq".into());
                    out.push(t);
                    return;
                };
                if let Some(p) = self.pending.iter_mut().find(|p| p.key == k) {
                    p.retransmissions += 1;
                    return;
                }
                if self.pending.len() >= self.max_pending {
                    self.counters.limit_hits += 1;
                    if let Some(old) = self.pending.pop_front() {
                        out.push(build(Some(&old), None));
                    }
                }
                self.pending.push_back(Pending { key: k, ts, bytes: used as u64, req: m, provisional: Vec::new(), retransmissions: 0, server_bytes: 0 });
            }
            Start::Response { code, .. } => {
                let code = *code;
                let at = k.as_ref().and_then(|k| self.pending.iter().position(|p| &p.key == k));
                match at {
                    Some(i) if code < 200 => {
                        if let Some(p) = self.pending.get_mut(i) {
                            p.provisional.push(code);
                            p.server_bytes += used as u64;
                        }
                    }
                    Some(i) => {
                        if let Some(p) = self.pending.remove(i) {
                            out.push(build(Some(&p), Some((ts, used as u64, &m))));
                            if self.completed.len() >= MAX_COMPLETED {
                                self.completed.pop_front();
                            }
                            self.completed.push_back(p.key);
                        }
                    }
                    None => {
                        if k.as_ref().is_some_and(|k| self.completed.contains(k)) {
                            return; // a retransmitted final response
                        }
                        self.counters.unmatched += 1;
                        out.push(build(None, Some((ts, used as u64, &m))));
                    }
                }
            }
        }
    }

    fn tcp_data(&mut self, dir: Dir, ts: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let side = usize::from(dir == Dir::ToClient);
        if self.buf[side].len() + bytes.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.buf[side].clear();
            return;
        }
        self.buf[side].extend_from_slice(bytes);
        loop {
            let skip = self.buf[side].iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
            self.buf[side].drain(..skip);
            if self.buf[side].is_empty() {
                break;
            }
            match parser::parse(&self.buf[side], false) {
                Ok((m, used)) => {
                    self.buf[side].drain(..used);
                    self.message(ts, m, used, out);
                }
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.counters.malformed += 1;
                    self.buf[side].clear();
                    break;
                }
            }
        }
    }
}

impl Parser for SipParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        if self.tcp {
            return self.tcp_data(dir, ts_ns, bytes, out);
        }
        let skip = bytes.iter().take_while(|b| **b == b'\r' || **b == b'\n' || **b == 0).count();
        let bytes = bytes.get(skip..).unwrap_or_default();
        if bytes.is_empty() {
            return; // keep-alive
        }
        match parser::parse(bytes, true) {
            Ok((m, used)) => self.message(ts_ns, m, used, out),
            Err(_) => self.counters.malformed += 1,
        }
    }

    fn gap(&mut self, dir: Dir, _len: u64) {
        self.buf[usize::from(dir == Dir::ToClient)].clear();
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        while self.pending.front().is_some_and(|p| now_ns - p.ts > self.timeout_ns) {
            if let Some(p) = self.pending.pop_front() {
                let mut t = build(Some(&p), None);
                t.notes.push("no final response within the transaction timeout".into());
                out.push(t);
            }
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(build(Some(&p), None));
        }
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
