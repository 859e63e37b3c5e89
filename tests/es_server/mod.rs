//! A small Elasticsearch stand-in for the output's tests: HTTP/1.1 on 127.0.0.1 with std::net,
//! `GET /` (version JSON) and `POST /_bulk` with the documented semantics: NDJSON action and
//! source lines, items in request order, `errors`, `create` only into data streams (`logs-*`),
//! 409 `version_conflict_engine_exception` on a repeated `create` of the same `_id` into the same
//! target. Scripted faults: a queue of whole-request answers for the next `_bulk` requests, a
//! per-item fault function (seeing the document and how often its id was sent before), a body
//! size limit answering 413, and required credentials answering 401. Every request is recorded.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

pub mod stack;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path with its query string.
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body as sent (maybe gzip).
    pub raw_body: Vec<u8>,
    /// The body after `Content-Encoding: gzip` is undone.
    pub body: Vec<u8>,
    /// The status the server answered.
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A scripted answer for a whole `_bulk` request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Answer this status (429, 500, 413, …) without looking at the body.
    Status(u16),
    /// Index the documents, then answer this status anyway (the acknowledgement is lost).
    StoreThenFail(u16),
}

/// (status, error type, reason) for one item.
pub type ItemFault = (u16, String, String);
type FaultFn = Box<dyn Fn(&Value, u32) -> Option<ItemFault> + Send>;

#[derive(Default)]
pub struct State {
    pub requests: Vec<Recorded>,
    /// (target, _id) → source.
    pub docs: BTreeMap<(String, String), Value>,
    /// How many times each _id came in a `_bulk` request.
    pub attempts: HashMap<String, u32>,
    pub answers: VecDeque<Answer>,
    /// Setup APIs (see `stack`): installed objects by path, Kibana objects and rules.
    pub stack: stack::Stack,
    pub item_fault: Option<FaultFn>,
    /// Bodies longer than this (after gzip is undone) get 413.
    pub max_body: Option<usize>,
    /// When set, requests without exactly this Authorization header get 401.
    pub require_auth: Option<String>,
    pub version: String,
    /// 409 answers given (a `create` of an id already stored).
    pub conflicts: u64,
}

pub struct EsServer {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    scheme: &'static str,
}

impl EsServer {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// HTTPS with the given certificate chain and PKCS#8 key (PEM files).
    pub fn start_tls(chain_pem: &Path, key_pem: &Path) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(chain_pem).unwrap().map(|c| c.unwrap()).collect();
        let key = PrivateKeyDer::from_pem_file(key_pem).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        Self::start_with(Some(Arc::new(cfg)))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { version: "8.17.0".into(), ..State::default() }));
        let st = state.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = match tls {
                        None => serve(conn, &st),
                        Some(cfg) => match rustls::ServerConnection::new(cfg) {
                            Ok(sc) => serve(rustls::StreamOwned::new(sc, conn), &st),
                            Err(_) => Ok(()),
                        },
                    };
                });
            }
        });
        EsServer { addr, state, scheme }
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn push_answer(&self, a: Answer) {
        self.state.lock().unwrap().answers.push_back(a);
    }

    pub fn set_item_fault(&self, f: impl Fn(&Value, u32) -> Option<ItemFault> + Send + 'static) {
        self.state.lock().unwrap().item_fault = Some(Box::new(f));
    }

    pub fn docs(&self) -> Vec<Value> {
        self.state.lock().unwrap().docs.values().cloned().collect()
    }

    pub fn targets(&self) -> Vec<String> {
        self.state.lock().unwrap().docs.keys().map(|(t, _)| t.clone()).collect()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn bulk_requests(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path.starts_with("/_bulk")).collect()
    }
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn serve<S: Read + Write>(conn: S, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let len: usize = get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut raw_body = vec![0u8; len];
        reader.read_exact(&mut raw_body)?;
        let body = if get("content-encoding").as_deref() == Some("gzip") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw_body[..]).read_to_end(&mut out)?;
            out
        } else {
            raw_body.clone()
        };
        let close = get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let (status, answer) = {
            let mut st = state.lock().unwrap();
            let (status, answer) = handle(&mut st, &method, &path, &headers, &body);
            st.requests.push(Recorded {
                method: method.clone(),
                path: path.clone(),
                headers: headers.clone(),
                raw_body,
                body,
                status,
            });
            (status, answer)
        };
        let text = answer.to_string();
        let conn = reader.get_mut();
        write!(
            conn,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        )?;
        conn.flush()?;
        if close {
            return Ok(());
        }
    }
}

fn error(status: u16, kind: &str, reason: &str) -> (u16, Value) {
    (status, json!({"error": {"type": kind, "reason": reason}, "status": status}))
}

fn handle(
    st: &mut State,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Value) {
    let auth = headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.clone());
    if let Some(want) = &st.require_auth {
        if auth.as_deref() != Some(want.as_str()) {
            return error(
                401,
                "security_exception",
                "missing authentication credentials for REST request [/]",
            );
        }
    }
    let route = path.split('?').next().unwrap_or("");
    match (method, route) {
        ("GET", "/") => (
            200,
            json!({
                "name": "test-node", "cluster_name": "wirebeat-test", "cluster_uuid": "x",
                "version": {"number": st.version, "build_flavor": "default"},
                "tagline": "You Know, for Search"
            }),
        ),
        ("POST" | "PUT", "/_bulk") => bulk(st, body),
        _ => stack::handle(st, method, path, headers, body),
    }
}

fn bulk(st: &mut State, body: &[u8]) -> (u16, Value) {
    let store_then_fail = match st.answers.pop_front() {
        Some(Answer::Status(s)) => {
            let kind = match s {
                429 => "es_rejected_execution_exception",
                413 => "request_entity_too_large",
                _ => "internal_server_error",
            };
            return error(s, kind, "scripted");
        }
        Some(Answer::StoreThenFail(s)) => Some(s),
        None => None,
    };
    if st.max_body.is_some_and(|m| body.len() > m) {
        return error(413, "request_entity_too_large", "body over http.max_content_length");
    }
    if !body.ends_with(b"\n") {
        return error(
            400,
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        );
    }
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    if !lines.len().is_multiple_of(2) {
        return error(400, "illegal_argument_exception", "action line without source");
    }
    let mut items = Vec::new();
    for pair in lines.chunks(2) {
        let action: Value = match serde_json::from_slice(pair[0]) {
            Ok(v) => v,
            Err(e) => return error(400, "x_content_parse_exception", &e.to_string()),
        };
        let (op, meta) = match action.as_object().and_then(|o| o.iter().next()) {
            Some((k, v)) => (k.clone(), v.clone()),
            None => return error(400, "illegal_argument_exception", "empty action"),
        };
        let index = meta["_index"].as_str().unwrap_or("").to_owned();
        let id = meta["_id"].as_str().unwrap_or("").to_owned();
        let attempt = {
            let a = st.attempts.entry(id.clone()).or_insert(0);
            *a += 1;
            *a - 1
        };
        let item = |status: u16, extra: Value| {
            let mut m = json!({"_index": format!(".ds-{index}-2025.01.01-000001"), "_id": id, "status": status});
            if let (Some(o), Some(e)) = (m.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            json!({ op.clone(): m })
        };
        let source: Value = match serde_json::from_slice(pair[1]) {
            Ok(v) => v,
            Err(e) => {
                items.push(item(400, json!({"error": {"type": "document_parsing_exception", "reason": e.to_string()}})));
                continue;
            }
        };
        if op != "create" && index.starts_with("logs-") {
            items.push(item(400, json!({"error": {"type": "illegal_argument_exception",
                "reason": format!("only write ops with an op_type of create are allowed in data streams")}})));
            continue;
        }
        if let Some((status, kind, reason)) =
            st.item_fault.as_ref().and_then(|f| f(&source, attempt))
        {
            items.push(item(status, json!({"error": {"type": kind, "reason": reason}})));
            continue;
        }
        if index.starts_with("logs-") {
            st.stack.ensure_data_stream(&index);
        }
        let key = (index.clone(), id.clone());
        if st.docs.contains_key(&key) {
            st.conflicts += 1;
            items.push(item(409, json!({"error": {"type": "version_conflict_engine_exception",
                "reason": format!("[{id}]: version conflict, document already exists (current version [1])")}})));
            continue;
        }
        st.docs.insert(key, source);
        items.push(item(201, json!({"result": "created", "_version": 1})));
    }
    if let Some(s) = store_then_fail {
        return error(s, "internal_server_error", "scripted after storing");
    }
    let errors = items.iter().any(|i| {
        i.as_object()
            .and_then(|o| o.values().next())
            .and_then(|m| m["status"].as_u64())
            .unwrap_or(500)
            >= 300
    });
    (200, json!({"took": 1, "errors": errors, "items": items}))
}
