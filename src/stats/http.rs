//! The stats endpoint (`http.enabled`): `GET /stats` (JSON) and `GET /metrics` (Prometheus text
//! exposition 0.0.4), both from [`Counters::snapshot_consistent`].
//!
//! Off by default, as in Beats: a sensor opens no port it was not asked to. When enabled, it
//! listens on `127.0.0.1:5066` unless `http.host` says otherwise; a non-loopback host must be
//! written explicitly (and is logged as a warning), never a default.
//!
//! Why a small blocking server on `std::net::TcpListener` rather than hyper/axum/tokio: two
//! read-only GET routes polled every few seconds by one scraper need no async runtime, and the
//! pipeline has none; a runtime would be the biggest dependency of the binary for this. The
//! server is one thread, serves one connection at a time, reads at most [`MAX_REQUEST`] bytes
//! with a [`READ_TIMEOUT`], answers GET (and HEAD) only and closes every connection, so a slow
//! or hostile client can hold it for at most the timeout and never touches the data path: a
//! snapshot is atomic loads.

use super::Counters;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest request head read (bytes); longer requests get 431.
pub const MAX_REQUEST: usize = 8192;
/// Longest wait for a request's bytes, and for a response write.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The default port (Beats' monitoring port).
pub const DEFAULT_PORT: u16 = 5066;

/// The `http` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve `/stats` and `/metrics` (default off).
    pub enabled: bool,
    /// Address to listen on: an IP address or `localhost` (default `127.0.0.1`).
    pub host: String,
    /// TCP port (default 5066; 0 picks a free one, logged).
    pub port: u16,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: false, host: "127.0.0.1".into(), port: DEFAULT_PORT }
    }
}

impl HttpConfig {
    /// The address to bind, or why `host` is not one. Pure.
    pub fn addr(&self) -> Result<SocketAddr, String> {
        let ip: IpAddr = match self.host.as_str() {
            "localhost" => IpAddr::from([127, 0, 0, 1]),
            h => h.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
                format!("{h:?} is not an IP address or `localhost` (e.g. 127.0.0.1, ::1)")
            })?,
        };
        Ok(SocketAddr::new(ip, self.port))
    }

    /// Checks `host` (the `http.host` key's message).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.addr().map(drop).map_err(|m| ("http.host", m))
    }
}

/// A running stats endpoint; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving `counters`.
    pub fn start(cfg: &HttpConfig, counters: Arc<Counters>) -> Result<Server, String> {
        let want = cfg.addr()?;
        let listener = TcpListener::bind(want)
            .map_err(|e| format!("stats endpoint: cannot listen on {want}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("stats endpoint: {e}"))?;
        // Non-blocking accept, polled, so the thread sees the stop without a wake-up connection.
        listener.set_nonblocking(true).map_err(|e| format!("stats endpoint: {e}"))?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "stats endpoint listens beyond loopback (http.host)");
        }
        tracing::info!(%addr, "stats endpoint listening: /stats, /metrics");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("wirebeat-http".into())
                .spawn(move || serve(listener, &counters, &stop))
                .map_err(|e| format!("stats endpoint: cannot start its thread: {e}"))?
        };
        Ok(Server { addr, stop, thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: TcpListener, counters: &Counters, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((conn, _)) => {
                if let Err(e) = answer(conn, counters) {
                    tracing::debug!(error = %e, "stats endpoint: connection failed");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                tracing::debug!(error = %e, "stats endpoint: accept failed");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Reads one request head and writes one response.
fn answer(mut conn: TcpStream, counters: &Counters) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(READ_TIMEOUT))?;
    conn.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break Some(i);
        }
        if buf.len() >= MAX_REQUEST {
            break None;
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let (status, ctype, body) = match head_end {
        None => (431, "text/plain", "request too large\n".to_owned()),
        Some(end) => route(buf.get(..end).unwrap_or_default(), counters),
    };
    let head_only = buf.starts_with(b"HEAD ");
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&body);
    }
    conn.write_all(out.as_bytes())?;
    conn.flush()?;
    if head_end.is_none() {
        // Closing with the client's bytes unread would reset the connection before it reads
        // the answer: read (bounded, within the timeout) what it still sends.
        conn.shutdown(std::net::Shutdown::Write)?;
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }
    Ok(())
}

/// Status, content type and body for a request head.
fn route(head: &[u8], counters: &Counters) -> (u16, &'static str, String) {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" && method != "HEAD" {
        return (405, "text/plain", "only GET\n".into());
    }
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/stats" => {
            let mut body = counters.snapshot_consistent().to_json().to_string();
            body.push('\n');
            (200, "application/json", body)
        }
        "/metrics" => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            counters.snapshot_consistent().to_prometheus(),
        ),
        "/" => (200, "text/plain", "wirebeat: /stats (JSON), /metrics (Prometheus)\n".into()),
        _ => (404, "text/plain", "not found: try /stats or /metrics\n".into()),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, req: &str) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn serves_stats_and_metrics_and_refuses_the_rest() {
        let counters = Arc::new(Counters::default());
        Counters::add(&counters.frames_read, 5);
        Counters::add(&counters.decoded, 5);
        let cfg = HttpConfig { enabled: true, port: 0, ..Default::default() };
        let s = Server::start(&cfg, counters).unwrap();
        assert!(s.addr().ip().is_loopback());
        let r = get(s.addr(), "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["stats"]["packets_received"], 5);
        assert_eq!(v["reconcile"]["frames"]["balanced"], true);
        let r = get(s.addr(), "GET /metrics HTTP/1.0\r\n\r\n");
        assert!(r.contains("version=0.0.4") && r.contains("wirebeat_frames_read_total 5\n"));
        assert!(get(s.addr(), "POST /stats HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(s.addr(), "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        let big = format!("GET /stats HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_REQUEST));
        assert!(get(s.addr(), &big).starts_with("HTTP/1.1 431"));
        // A client that sends nothing is cut off by the timeout and the next one is served.
        let _idle = TcpStream::connect(s.addr()).unwrap();
        assert!(get(s.addr(), "GET /stats HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn host_must_be_an_address() {
        let bad = HttpConfig { host: "example.com".into(), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "http.host");
        let v6 = HttpConfig { host: "::1".into(), ..Default::default() };
        assert!(v6.addr().unwrap().ip().is_loopback());
        assert!(HttpConfig::default().addr().unwrap().ip().is_loopback());
        assert!(!HttpConfig::default().enabled);
    }
}
