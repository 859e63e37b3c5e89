//! The TLS session of one connection: record framing per direction (skipping what the event
//! does not need), handshake reassembly across records and segments, the hellos, certificates
//! and alerts, and when the handshake is done.

use super::cert;
use super::fields::*;
use super::hello::{self, ClientHello, ServerHello};
use super::parser::{
    parse_handshake, parse_record, record_header, KNOWN_HANDSHAKE_TYPES, MAX_ALERTS, MAX_ANOMALIES, MAX_CERTS,
    MAX_RECORD,
};
use super::{fingerprint, names, PROTOCOL};
use crate::bytes::{Cursor, ParseError};
use crate::proto::{Dir, Outcome, Parser, ParserContext, ParserCounters, ProtoFields, Txn};

/// One direction of the connection.
#[derive(Default)]
pub(super) struct Side {
    /// Unconsumed record-layer bytes (at most one record plus a segment).
    pub(super) buf: Vec<u8>,
    /// Handshake bytes of plaintext records, until a whole message is there.
    hs: Vec<u8>,
    /// Bytes still to skip of a record whose body is not needed.
    skip: usize,
    /// The first bytes were looked at (the SSLv2 format is only possible there).
    started: bool,
    /// ChangeCipherSpec sent: later records of this side are encrypted (TLS ≤ 1.2).
    encrypted: bool,
    /// Sent its encrypted Finished (≤ 1.2: any record after ChangeCipherSpec; 1.3: an
    /// application_data record after the ServerHello).
    finished: bool,
    /// The byte stream is not TLS (or lost its framing): ignored from here on.
    pub(super) dead: bool,
    /// Handshake reassembly gave up (message over the buffer limit).
    hs_dead: bool,
    /// Bytes were lost: wait for a chunk that starts with a record header.
    pub(super) resync: bool,
    /// Record headers read (a stream that never had one is not TLS).
    records: u64,
    bytes: u64,
    certs: Vec<Vec<u8>>,
}

struct Alert {
    from_server: bool,
    level: u8,
    desc: u8,
}

pub struct TlsParser {
    pub(super) sides: [Side; 2],
    start_ns: Option<i64>,
    last_ns: i64,
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    /// A HelloRetryRequest was seen (TLS 1.3).
    retry: bool,
    /// SSLv2 ServerHello: the version it chose.
    sslv2_server: Option<u16>,
    /// The server ran a full handshake (Certificate, ServerKeyExchange or ServerHelloDone).
    full_handshake: bool,
    client_key_exchange: bool,
    cert_requested: bool,
    curve: Option<u16>,
    alerts: Vec<Alert>,
    anomalies: Vec<String>,
    notes: Vec<String>,
    published: bool,
    max_buffer: usize,
    timeout_ns: i64,
    include_raw: bool,
    counters: ParserCounters,
}

impl TlsParser {
    pub fn new(ctx: &ParserContext<'_>) -> Self {
        TlsParser {
            sides: [Side::default(), Side::default()],
            start_ns: None,
            last_ns: 0,
            client_hello: None,
            server_hello: None,
            retry: false,
            sslv2_server: None,
            full_handshake: false,
            client_key_exchange: false,
            cert_requested: false,
            curve: None,
            alerts: Vec::new(),
            anomalies: Vec::new(),
            notes: Vec::new(),
            published: false,
            max_buffer: ctx.limits.max_buffer_bytes,
            timeout_ns: ctx.limits.transaction_timeout_ns,
            include_raw: ctx.config.tls.include_raw_certificates,
            counters: ParserCounters::default(),
        }
    }

    fn anomaly(&mut self, a: &str) {
        if a == hello::LIST_OVER_LIMIT {
            self.counters.limit_hits += 1;
        }
        if self.anomalies.len() < MAX_ANOMALIES && !self.anomalies.iter().any(|x| x == a) {
            self.anomalies.push(a.to_owned());
        }
    }

    fn note(&mut self, n: String) {
        if self.notes.len() < MAX_ANOMALIES && !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// The session runs TLS 1.3 (or a draft of it), as the ServerHello says.
    fn tls13(&self) -> bool {
        self.server_hello.as_ref().is_some_and(|s| names::is_tls13(s.negotiated()))
    }

    /// The client offered TLS 1.3 (or a draft) in supported_versions.
    fn offered13(&self) -> bool {
        self.client_hello
            .as_ref()
            .is_some_and(|c| c.ext.supported_versions.iter().any(|v| names::is_tls13(*v)))
    }

    fn started(&mut self, ts: i64) {
        self.start_ns.get_or_insert(ts);
    }

    /// Feeds the record layer of side `i` with what its buffer holds.
    fn records(&mut self, i: usize, ts: i64) {
        let mut buf = std::mem::take(&mut self.sides[i].buf);
        let mut pos = 0;
        while !self.published && !self.sides[i].dead {
            let rest = buf.get(pos..).unwrap_or(&[]);
            if rest.is_empty() {
                break;
            }
            if !self.sides[i].started {
                if rest.len() < 3 {
                    break;
                }
                if let Some(total) = hello::sslv2_record_len(rest) {
                    let Some(rec) = rest.get(..total) else { break };
                    self.sides[i].started = true;
                    self.sslv2(i, ts, rec);
                    pos += total;
                    continue;
                }
                self.sides[i].started = true;
            }
            if self.sides[i].resync {
                // After lost bytes, TCP segments usually start at a record again.
                match record_header(rest) {
                    Ok((_, len)) if len <= MAX_RECORD => self.sides[i].resync = false,
                    Err(ParseError::Incomplete) => break,
                    _ => {
                        pos = buf.len();
                        break;
                    }
                }
            }
            let (ct, len) = match record_header(rest) {
                Ok(h) => h,
                Err(ParseError::Incomplete) => break,
                Err(ParseError::Malformed(_)) => {
                    self.anomaly("not_tls_record");
                    self.counters.malformed += 1;
                    if self.sides[i].records > 0 {
                        // Was TLS until here (stray bytes, e.g. padding taken for payload):
                        // wait for a chunk that starts with a record again.
                        self.sides[i].resync = true;
                        self.sides[i].hs.clear();
                        pos = buf.len();
                    } else {
                        self.sides[i].dead = true;
                    }
                    break;
                }
            };
            if len > MAX_RECORD {
                self.anomaly("oversized_record");
            }
            self.sides[i].records += 1;
            let body_unneeded = ct == 23 || self.sides[i].encrypted;
            if body_unneeded {
                self.record(i, ct, None, ts);
                let avail = rest.len() - 5;
                if avail >= len {
                    pos += 5 + len;
                } else {
                    self.sides[i].skip = len - avail;
                    pos = buf.len();
                }
                continue;
            }
            let Ok((_, body, used)) = parse_record(rest) else { break };
            self.record(i, ct, Some(body), ts);
            pos += used;
        }
        let side = &mut self.sides[i];
        if side.dead || self.published {
            side.buf = Vec::new();
        } else {
            buf.drain(..pos.min(buf.len()));
            side.buf = buf;
        }
    }

    /// One record of side `i`; `body` is `None` when it is encrypted or application data.
    fn record(&mut self, i: usize, ct: u8, body: Option<&[u8]>, ts: i64) {
        let from_server = i == 1;
        if self.sides[i].encrypted {
            // Anything after ChangeCipherSpec starts with the encrypted Finished.
            self.sides[i].finished = true;
        }
        match (ct, body) {
            (20, _) => {
                // TLS 1.3 keeps ChangeCipherSpec only for middleboxes; a client offering 1.3
                // may send it before the ServerHello (and a second ClientHello may follow).
                let offered13 = !from_server && self.server_hello.is_none() && self.offered13();
                if !self.tls13() && !offered13 {
                    self.sides[i].encrypted = true;
                }
            }
            (21, Some(b)) => {
                if b.is_empty() || b.len() % 2 != 0 {
                    self.anomaly("malformed_alert");
                }
                for a in b.chunks_exact(2) {
                    if self.alerts.len() < MAX_ALERTS {
                        self.alerts.push(Alert { from_server, level: a[0], desc: a[1] });
                    }
                }
            }
            (22, Some(b)) if self.missed_change_cipher_spec(i, b) => {
                self.anomaly("change_cipher_spec_missing");
                self.sides[i].encrypted = true;
                self.sides[i].finished = true;
            }
            (22, Some(b)) => self.handshake_bytes(i, b, ts),
            (23, _) => {
                if self.tls13() {
                    self.sides[i].finished = true;
                } else if !self.sides[i].encrypted && self.start_ns.is_some() && !self.offered13() {
                    // (With TLS 1.3 offered it may be 0-RTT early data before the ServerHello.)
                    self.anomaly("application_data_before_change_cipher_spec");
                }
            }
            (24, body) => {
                self.anomaly("heartbeat");
                if let Some(b) = body {
                    let mut r = Cursor::new(b);
                    if let (Some(1), Some(n)) = (r.u8(), r.u16()) {
                        // type, payload_length, payload, >= 16 bytes of padding.
                        if usize::from(n) + 3 + 16 > b.len() {
                            self.anomaly("heartbleed");
                            self.note(format!(
                                "heartbeat request claims a {n}-byte payload in a {}-byte \
                                 record (Heartbleed)",
                                b.len()
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A TLS ≤ 1.2 handshake record that cannot start a message (HelloRequest, an unknown type or
    /// a length over 64 KiB) after this side's hello, with nothing half-assembled: the encrypted Finished of a
    /// ChangeCipherSpec lost to the capture.
    fn missed_change_cipher_spec(&self, i: usize, b: &[u8]) -> bool {
        let hello_seen =
            if i == 0 { self.client_hello.is_some() } else { self.server_hello.is_some() };
        if !hello_seen || self.tls13() || !self.sides[i].hs.is_empty() {
            return false;
        }
        let mut r = Cursor::new(b);
        match (r.u8(), r.u24()) {
            // HelloRequest (0) never comes in plaintext after a hello; it is also what the
            // zero explicit nonce of an AES-GCM record looks like.
            (Some(t), Some(len)) => t == 0 || !KNOWN_HANDSHAKE_TYPES.contains(&t) || len > 0x1_0000,
            _ => false,
        }
    }

    /// Plaintext handshake bytes: reassembled into messages across records.
    fn handshake_bytes(&mut self, i: usize, b: &[u8], ts: i64) {
        if self.sides[i].hs_dead {
            return;
        }
        if self.sides[i].hs.len() + b.len() > self.max_buffer {
            self.counters.limit_hits += 1;
            self.anomaly("handshake_over_buffer_limit");
            self.sides[i].hs = Vec::new();
            self.sides[i].hs_dead = true;
            return;
        }
        let mut hs = std::mem::take(&mut self.sides[i].hs);
        hs.extend_from_slice(b);
        let mut pos = 0;
        loop {
            let rest = hs.get(pos..).unwrap_or(&[]);
            match parse_handshake(rest) {
                Ok((typ, body, used)) => {
                    self.message(i, typ, body, ts);
                    pos += used;
                }
                Err(_) => {
                    // A message longer than the buffer limit can never be completed.
                    let mut r = Cursor::new(rest);
                    if let (Some(_), Some(len)) = (r.u8(), r.u24()) {
                        if len as usize > self.max_buffer {
                            self.counters.limit_hits += 1;
                            self.anomaly("handshake_over_buffer_limit");
                            self.sides[i].hs_dead = true;
                            return;
                        }
                    }
                    break;
                }
            }
        }
        hs.drain(..pos.min(hs.len()));
        self.sides[i].hs = hs;
    }

    /// One handshake message of side `i`.
    fn message(&mut self, i: usize, typ: u8, body: &[u8], ts: i64) {
        self.counters.messages += 1;
        let from_server = i == 1;
        match (from_server, typ) {
            (false, 1) => match hello::parse_client_hello(body) {
                Ok(ch) => {
                    self.started(ts);
                    for a in &ch.anomalies {
                        self.anomaly(a);
                    }
                    if self.client_hello.is_none() {
                        self.client_hello = Some(ch);
                    } else if !self.retry {
                        self.anomaly("repeated_client_hello");
                    }
                }
                Err(e) => {
                    self.counters.malformed += 1;
                    self.anomaly(e);
                }
            },
            (true, 2) => match hello::parse_server_hello(body) {
                Ok(sh) => {
                    self.started(ts);
                    for a in &sh.anomalies {
                        self.anomaly(a);
                    }
                    if sh.retry_request {
                        self.retry = true;
                        self.note("HelloRetryRequest".into());
                    }
                    let replace = self.server_hello.as_ref().is_none_or(|s| s.retry_request);
                    if replace {
                        self.server_hello = Some(sh);
                    } else {
                        self.anomaly("repeated_server_hello");
                    }
                }
                Err(e) => {
                    self.counters.malformed += 1;
                    self.anomaly(e);
                }
            },
            // Draft TLS 1.3 HelloRetryRequest had its own message type.
            (true, 6) => {
                self.retry = true;
                self.note("HelloRetryRequest".into());
            }
            (_, 11) => {
                if from_server {
                    self.full_handshake = true;
                }
                let certs = match hello::parse_certificate_list(body) {
                    Ok(c) => c,
                    Err(e) => {
                        self.counters.malformed += 1;
                        self.anomaly(e);
                        return;
                    }
                };
                let side = &mut self.sides[i];
                if side.certs.is_empty() {
                    side.certs = certs.iter().take(MAX_CERTS).map(|c| c.to_vec()).collect();
                }
            }
            (true, 12) => {
                self.full_handshake = true;
                let ecdhe = self.server_hello.as_ref().is_some_and(|s| {
                    tls_parser::TlsCipherSuite::from_id(s.cipher).is_some_and(|c| {
                        matches!(
                            c.kx,
                            tls_parser::TlsCipherKx::Ecdhe | tls_parser::TlsCipherKx::Ecdh
                        )
                    })
                });
                if ecdhe {
                    self.curve = hello::server_key_exchange_group(body);
                }
            }
            (true, 13) => {
                self.full_handshake = true;
                self.cert_requested = true;
            }
            (true, 14) => self.full_handshake = true,
            (false, 16) => self.client_key_exchange = true,
            // HelloRequest, NewSessionTicket, CertificateStatus (OCSP stapling), CertificateVerify,
            // NextProtocol, KeyUpdate: nothing the event reports.
            (true, 0 | 4 | 22) | (false, 15 | 67) | (_, 24) => {}
            (_, 1 | 2) => self.anomaly("hello_from_wrong_side"),
            (_, 20) => self.anomaly("plaintext_finished"),
            _ => self.anomaly("unexpected_handshake_message"),
        }
    }

    /// An SSLv2-format record at the start of side `i`.
    fn sslv2(&mut self, i: usize, ts: i64, rec: &[u8]) {
        self.counters.messages += 1;
        if i == 0 {
            match hello::parse_sslv2_client_hello(rec) {
                Ok(ch) => {
                    self.started(ts);
                    for a in &ch.anomalies {
                        self.anomaly(a);
                    }
                    self.client_hello = Some(ch);
                }
                Err(e) => {
                    self.counters.malformed += 1;
                    self.anomaly(e);
                    self.sides[i].dead = true;
                }
            }
            return;
        }
        match hello::parse_sslv2_server_hello(rec) {
            Ok((version, cert)) => {
                self.started(ts);
                self.sslv2_server = Some(version);
                if !cert.is_empty() {
                    self.sides[1].certs = vec![cert];
                }
                self.note("SSLv2 session: the rest of the handshake is not followed".into());
            }
            Err(e) => {
                self.counters.malformed += 1;
                self.anomaly(e);
            }
        }
        // The rest of an SSLv2 session is in its own record format: not followed.
        self.sides[0].dead = true;
        self.sides[1].dead = true;
    }

    fn done(&self) -> bool {
        self.server_hello.is_some() && self.sides.iter().all(|s| s.finished)
    }

    /// Publishes the session (once) if a hello was seen.
    fn publish(&mut self, out: &mut Vec<Txn>) {
        if self.published {
            return;
        }
        self.published = true;
        let Some(start) = self.start_ns else { return };
        let established = self.done();
        if self.client_hello.is_none() {
            self.counters.unmatched += 1;
            self.note("ServerHello without ClientHello (capture started mid-handshake)".into());
        } else if self.server_hello.is_none() && self.sslv2_server.is_none() {
            self.counters.unmatched += 1;
            self.note("no ServerHello".into());
        } else if !established && self.sslv2_server.is_none() {
            self.note("handshake not completed".into());
        }
        let fatal = self.alerts.iter().any(|a| a.level == 2);
        let mut t = Txn::new(&PROTOCOL, start, self.fields(established));
        t.end_ns = Some(self.last_ns.max(start));
        t.client_bytes = self.sides[0].bytes;
        t.server_bytes = self.sides[1].bytes;
        (t.outcome, t.status) = if established {
            (Outcome::Success, "OK")
        } else if fatal {
            (Outcome::Failure, "Error")
        } else {
            (Outcome::Unknown, "Error")
        };
        t.notes = std::mem::take(&mut self.notes);
        if let ProtoFields::Tls(f) = &t.fields {
            let c = f.tls.client.as_ref();
            let sni = c.and_then(|c| c.server_name.clone());
            t.related_hosts.extend(sni.clone());
            t.server_domain = sni;
            t.related_hashes.extend(c.and_then(|c| c.ja3.clone()));
            t.related_hashes.extend(c.and_then(|c| c.ja4.clone()));
            t.related_hashes.extend(f.tls.server.as_ref().and_then(|s| s.ja3s.clone()));
        }
        out.push(t);
        // Nothing more is parsed: free the buffers.
        for s in &mut self.sides {
            *s = Side { bytes: s.bytes, ..Side::default() };
        }
    }

    fn fields(&self, established: bool) -> Fields {
        let ch = self.client_hello.as_ref();
        let sh = self.server_hello.as_ref();
        let negotiated = sh.map(ServerHello::negotiated).or(self.sslv2_server);
        let ecs_version = negotiated.and_then(names::ecs_version);
        let raw = |certs: &[Vec<u8>]| -> (Option<String>, Vec<String>) {
            use base64::Engine;
            if !self.include_raw {
                return (None, Vec::new());
            }
            let b64 = |c: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(c);
            (certs.first().map(b64), certs.iter().map(b64).collect())
        };

        let mut detailed = Detailed {
            version: negotiated.map(names::version_name),
            client_certificate_requested: self.cert_requested,
            anomalies: self.anomalies.clone(),
            ..Detailed::default()
        };
        let mut resumed = false;
        if let Some(sh) = sh {
            if names::is_tls13(sh.negotiated()) {
                if sh.ext.pre_shared_key {
                    resumed = true;
                    detailed.resumption_method = Some("psk");
                }
            } else if self.sides[1].encrypted && !self.full_handshake && !self.client_key_exchange {
                // Abbreviated handshake: ServerHello straight to ChangeCipherSpec.
                resumed = true;
                let ticket = ch.and_then(|c| c.ext.session_ticket).is_some_and(|n| n > 0);
                let id_match =
                    ch.is_some_and(|c| !c.session_id.is_empty() && c.session_id == sh.session_id);
                detailed.resumption_method =
                    if ticket { Some("ticket") } else { id_match.then_some("id") };
            }
        }

        let client = ch.map(|ch| {
            let ja3 = fingerprint::ja3_string(ch);
            detailed.ja3_string.clone_from(&ja3);
            detailed.client_hello = Some(client_hello_detail(ch));
            let certs = &self.sides[0].certs;
            let (certificate, certificate_chain) = raw(certs);
            detailed.client_certificate_chain =
                certs.iter().skip(1).map(|c| cert::chain_entry(c)).collect();
            ClientFields {
                server_name: ch.ext.server_names.first().cloned(),
                ja3: ja3.as_deref().map(fingerprint::md5_hex),
                ja4: fingerprint::ja4(ch),
                supported_ciphers: ch
                    .ciphers
                    .iter()
                    .filter(|c| !names::is_grease(**c))
                    .map(|c| names::cipher_name(*c))
                    .chain(ch.sslv2_ciphers.iter().map(|k| names::sslv2_cipher_name(*k)))
                    .collect(),
                cert: certs.first().map(|c| cert::leaf_fields(c)),
                certificate,
                certificate_chain,
            }
        });

        let server_certs = &self.sides[1].certs;
        let server = (sh.is_some() || !server_certs.is_empty()).then(|| {
            let ja3s = sh.map(fingerprint::ja3s_string);
            detailed.ja3s_string.clone_from(&ja3s);
            if let Some(sh) = sh {
                let known = [16u16, 11, 35, 43, 51];
                detailed.server_hello = Some(ServerHelloDetail {
                    version: names::hello_version(sh.version),
                    selected_cipher: names::cipher_name(sh.cipher),
                    selected_compression_method: sh.compression.map(names::compression_name),
                    session_id: hexs(&sh.session_id),
                    extensions: HelloExtensions {
                        application_layer_protocol_negotiation: alpn(&sh.ext),
                        session_ticket: sh.ext.session_ticket.map(ticket_len),
                        supported_versions: sh
                            .ext
                            .supported_versions
                            .iter()
                            .map(|v| names::version_name(*v))
                            .collect(),
                        ec_points_formats: sh
                            .ext
                            .point_formats
                            .iter()
                            .map(|f| names::point_format_name(*f))
                            .collect(),
                        key_share: sh.ext.key_share.iter().map(|g| names::group_name(*g)).collect(),
                        unparsed: unparsed(&sh.ext.types, &known),
                        ..HelloExtensions::default()
                    },
                });
            }
            let (certificate, certificate_chain) = raw(server_certs);
            detailed.server_certificate_chain =
                server_certs.iter().skip(1).map(|c| cert::chain_entry(c)).collect();
            ServerFields {
                ja3s: ja3s.as_deref().map(fingerprint::md5_hex),
                cert: server_certs.first().map(|c| cert::leaf_fields(c)),
                certificate,
                certificate_chain,
            }
        });

        for a in &self.alerts {
            detailed.alert_types.push(names::alert_name(a.desc));
            detailed.alerts.push(AlertDetail {
                source: if a.from_server { "server" } else { "client" },
                severity: names::alert_level_name(a.level),
                kind: names::alert_name(a.desc),
                code: a.desc,
            });
        }

        let curve = self.curve.or_else(|| {
            sh.filter(|s| names::is_tls13(s.negotiated()))
                .and_then(|s| s.ext.key_share.first().copied())
        });
        Fields {
            tls: TlsFields {
                version: ecs_version.map(|v| v.0),
                version_protocol: ecs_version.map(|v| v.1),
                cipher: sh.map(|s| names::cipher_name(s.cipher)),
                curve: curve.map(names::group_name),
                established,
                resumed,
                next_protocol: sh
                    .and_then(|s| s.ext.alpn.first())
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
                client,
                server,
                detailed,
            },
        }
    }
}

/// Packetbeat's `tls.detailed.client_hello` of a ClientHello (TLS over TCP, or QUIC's CRYPTO
/// stream).
pub(crate) fn client_hello_detail(ch: &ClientHello) -> ClientHelloDetail {
    let known = [0u16, 10, 11, 13, 16, 35, 43, 51];
    ClientHelloDetail {
        version: names::hello_version(ch.version),
        sslv2_format: ch.sslv2,
        session_id: hexs(&ch.session_id),
        supported_compression_methods: ch
            .compression
            .iter()
            .map(|c| names::compression_name(*c))
            .collect(),
        extensions: HelloExtensions {
            server_name_indication: ch.ext.server_names.clone(),
            application_layer_protocol_negotiation: alpn(&ch.ext),
            session_ticket: ch.ext.session_ticket.map(ticket_len),
            supported_versions: no_grease(&ch.ext.supported_versions, names::version_name),
            supported_groups: no_grease(&ch.ext.groups, names::group_name),
            signature_algorithms: no_grease(
                &ch.ext.signature_algorithms,
                names::signature_scheme_name,
            ),
            ec_points_formats: ch
                .ext
                .point_formats
                .iter()
                .map(|f| names::point_format_name(*f))
                .collect(),
            key_share: no_grease(&ch.ext.key_share, names::group_name),
            unparsed: unparsed(&ch.ext.types, &known),
        },
    }
}

/// A session id in hex; `None` when empty.
fn hexs(b: &[u8]) -> Option<String> {
    (!b.is_empty()).then(|| b.iter().map(|x| format!("{x:02x}")).collect())
}

fn alpn(e: &hello::Extensions) -> Vec<String> {
    e.alpn.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect()
}

fn no_grease(v: &[u16], name: fn(u16) -> String) -> Vec<String> {
    v.iter().filter(|x| !names::is_grease(**x)).map(|x| name(*x)).collect()
}

fn ticket_len(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        n.to_string()
    }
}

/// Extensions the event does not break out, by name (GREASE left out).
fn unparsed(types: &[u16], known: &[u16]) -> Vec<String> {
    types
        .iter()
        .filter(|t| !known.contains(t) && !names::is_grease(**t))
        .map(|t| names::extension_name(*t))
        .collect()
}

impl Parser for TlsParser {
    fn data(&mut self, dir: Dir, ts_ns: i64, bytes: &[u8], out: &mut Vec<Txn>) {
        let i = usize::from(dir == Dir::ToClient);
        if self.published || self.sides[i].dead {
            return;
        }
        self.last_ns = ts_ns;
        self.sides[i].bytes += bytes.len() as u64;
        let mut bytes = bytes;
        while !bytes.is_empty() && !self.published && !self.sides[i].dead {
            let side = &mut self.sides[i];
            if side.skip > 0 {
                let n = side.skip.min(bytes.len());
                side.skip -= n;
                bytes = bytes.get(n..).unwrap_or(&[]);
                continue;
            }
            // At least one record of the largest length field (64 KiB) plus a segment.
            if side.buf.len() + bytes.len() > self.max_buffer.max(2 * 0x1_0000) {
                self.counters.limit_hits += 1;
                side.dead = true;
                side.buf = Vec::new();
                self.anomaly("record_over_buffer_limit");
                break;
            }
            side.buf.extend_from_slice(bytes);
            bytes = &[];
            self.records(i, ts_ns);
        }
        if self.done() {
            self.publish(out);
        }
    }

    fn gap(&mut self, dir: Dir, len: u64) {
        let i = usize::from(dir == Dir::ToClient);
        let side = &mut self.sides[i];
        if self.published || side.dead {
            return;
        }
        // A gap inside a record we skip anyway costs nothing.
        if side.buf.is_empty() && side.skip as u64 >= len {
            side.skip -= len as usize;
            return;
        }
        // The framing is lost; a message spanning the hole too.
        side.resync = true;
        side.skip = 0;
        side.buf = Vec::new();
        side.hs = Vec::new();
        self.note("bytes missing in the stream (capture loss)".into());
    }

    fn tick(&mut self, now_ns: i64, out: &mut Vec<Txn>) {
        if !self.published && self.start_ns.is_some_and(|s| now_ns - s > self.timeout_ns) {
            self.note("handshake not finished within the transaction timeout".into());
            self.publish(out);
        }
    }

    fn close(&mut self, _ts_ns: i64, out: &mut Vec<Txn>) {
        self.publish(out);
    }

    fn take_counters(&mut self) -> ParserCounters {
        std::mem::take(&mut self.counters)
    }
}
