//! A thin blocking HTTP client for Elasticsearch: hosts with round-robin and failover, auth
//! headers, gzip request bodies, TLS with a CA file, a pinned CA fingerprint or a relaxed
//! verification mode. It knows nothing of `_bulk`; it moves bytes and names transport problems.

use super::{Config, VerificationMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An HTTP answer (any status).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The request never got an HTTP answer.
#[derive(Debug)]
pub struct Transport {
    /// One line for humans: "cannot connect to URL: connection refused", "TLS error …".
    pub message: String,
}

struct Host {
    base: String,
    down_until: Option<Instant>,
    fails: u32,
}

pub struct Client {
    agent: ureq::Agent,
    hosts: Vec<Host>,
    next: usize,
    auth: Option<String>,
    compression: u32,
    backoff_init: Duration,
    backoff_max: Duration,
}

/// `localhost:9200` → `http://localhost:9200`, `es` → `http://es:9200`; a URL with a scheme is
/// kept (less any trailing `/`).
pub fn normalize_host(h: &str) -> Result<String, String> {
    let h = h.trim();
    if h.is_empty() {
        return Err("empty host".into());
    }
    if let Some((_, after)) =
        h.split('/').find(|p| !p.is_empty() && !p.ends_with(':')).and_then(|a| a.rsplit_once('@'))
    {
        // Never repeat what stands before the `@`: it is a password.
        let scheme = h.split_once("://").map(|(s, _)| format!("{s}://")).unwrap_or_default();
        return Err(format!(
            "host \"{scheme}<redacted>@{after}\": credentials in the URL are not supported; \
             use api_key or username/password"
        ));
    }
    let with_scheme = if let Some((scheme, _)) = h.split_once("://") {
        if scheme != "http" && scheme != "https" {
            return Err(format!("host {h:?}: scheme must be http or https"));
        }
        h.to_owned()
    } else {
        let authority = h.split('/').next().unwrap_or(h);
        let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !authority.ends_with(']');
        if has_port {
            format!("http://{h}")
        } else {
            let (a, rest) = h.split_at(authority.len());
            format!("http://{a}:9200{rest}")
        }
    };
    let url = url_check(&with_scheme).map_err(|e| format!("host {h:?}: {e}"))?;
    Ok(url.trim_end_matches('/').to_owned())
}

fn url_check(u: &str) -> Result<&str, String> {
    let rest = u.split_once("://").map(|(_, r)| r).unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.contains(['?', '#', ' ', '@']) {
        return Err("not a valid URL (expected e.g. https://es.example.com:9200)".into());
    }
    Ok(u)
}

/// The `Authorization` header value, if any.
pub fn auth_header(cfg: &Config) -> Option<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(k) = cfg.api_key.as_ref().map(|k| k.expose()).filter(|k| !k.is_empty()) {
        let encoded = if k.contains(':') { b64.encode(k) } else { k.to_owned() };
        return Some(format!("ApiKey {encoded}"));
    }
    let user = cfg.username.as_deref().filter(|u| !u.is_empty())?;
    let pass = cfg.password.as_ref().map(|p| p.expose()).unwrap_or("");
    Some(format!("Basic {}", b64.encode(format!("{user}:{pass}"))))
}

/// `ca_trusted_fingerprint` as bytes (hex, colons and case ignored).
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], String> {
    let hex: String = s.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect();
    let bad = || format!("ssl.ca_trusted_fingerprint {s:?} is not a SHA-256 in hex (64 digits)");
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(out)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS client configuration the `ssl.*` options describe.
pub fn tls_config(cfg: &Config) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    if cfg.ssl.certificate_authorities.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in &cfg.ssl.certificate_authorities {
        let mut n = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("ssl.certificate_authorities: cannot read {path}: {e}"))?
        {
            let cert = cert.map_err(|e| format!("ssl.certificate_authorities: {path}: {e}"))?;
            roots.add(cert).map_err(|e| {
                format!("ssl.certificate_authorities: {path}: bad certificate: {e}")
            })?;
            n += 1;
        }
        if n == 0 {
            return Err(format!("ssl.certificate_authorities: {path}: no PEM certificate in it"));
        }
    }
    let fingerprint =
        cfg.ssl.ca_trusted_fingerprint.as_deref().map(parse_fingerprint).transpose()?;
    let provider = provider();
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let verifier = Verifier { inner, mode: cfg.ssl.verification_mode, fingerprint, provider };
    let config = rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Server certificate checks as Beats does them: `full` (chain and hostname), `certificate`
/// (chain only), `none`; a CA whose SHA-256 is `ca_trusted_fingerprint` is trusted when the
/// server presents it in its chain.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    mode: VerificationMode,
    fingerprint: Option<[u8; 32]>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

fn relax(
    mode: VerificationMode,
    r: Result<ServerCertVerified, rustls::Error>,
) -> Result<ServerCertVerified, rustls::Error> {
    match r {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) if mode == VerificationMode::Certificate => Ok(ServerCertVerified::assertion()),
        other => other,
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.mode == VerificationMode::None {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(fp) = self.fingerprint {
            let sha = |c: &CertificateDer<'_>| -> [u8; 32] { Sha256::digest(c.as_ref()).into() };
            if sha(end_entity) == fp {
                return Ok(ServerCertVerified::assertion());
            }
            if let Some(ca) = intermediates.iter().find(|c| sha(c) == fp) {
                let mut roots = RootCertStore::empty();
                roots.add(ca.clone().into_owned())?;
                let v = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    self.provider.clone(),
                )
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
                let r = v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
                return relax(self.mode, r);
            }
        }
        let r = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        relax(self.mode, r)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// One line naming why no HTTP answer came.
fn describe(url: &str, t: &ureq::Transport) -> String {
    use std::error::Error;
    let mut src: Option<&(dyn Error + 'static)> = t.source();
    while let Some(e) = src {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return format!("TLS error with {url}: {tls}");
            }
            let what = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    "timed out".to_owned()
                }
                std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
                _ => io.to_string(),
            };
            return format!("cannot connect to {url}: {what}");
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return format!("TLS error with {url}: {tls}");
        }
        src = e.source();
    }
    match t.kind() {
        ureq::ErrorKind::Dns => format!("cannot resolve the host of {url}"),
        _ => format!("cannot reach {url}: {}", t.message().unwrap_or("transport error")),
    }
}

impl Client {
    pub fn new(cfg: &Config) -> Result<Self, String> {
        let hosts = cfg
            .hosts
            .iter()
            .map(|h| normalize_host(h).map(|base| Host { base, down_until: None, fails: 0 }))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err("hosts: at least one host is needed".into());
        }
        let agent = ureq::AgentBuilder::new()
            .timeout(cfg.timeout.0)
            .tls_config(tls_config(cfg)?)
            .user_agent(concat!("wirebeat/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent,
            hosts,
            next: 0,
            auth: auth_header(cfg),
            compression: cfg.compression_level,
            backoff_init: cfg.backoff.init.0,
            backoff_max: cfg.backoff.max.0,
        })
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    pub fn base(&self, i: usize) -> &str {
        self.hosts.get(i).map(|h| h.base.as_str()).unwrap_or("")
    }

    /// Hosts to try, round-robin from the next one: healthy ones first, then those in their
    /// backoff period, soonest back first (so a request always has somewhere to go).
    pub fn order(&mut self) -> Vec<usize> {
        let now = Instant::now();
        let n = self.hosts.len();
        let start = self.next % n.max(1);
        self.next = self.next.wrapping_add(1);
        let rr: Vec<usize> = (0..n).map(|k| (start + k) % n).collect();
        let mut healthy: Vec<usize> = Vec::new();
        let mut resting: Vec<(Instant, usize)> = Vec::new();
        for i in rr {
            match self.hosts.get(i).and_then(|h| h.down_until) {
                Some(t) if t > now => resting.push((t, i)),
                _ => healthy.push(i),
            }
        }
        resting.sort();
        healthy.extend(resting.into_iter().map(|(_, i)| i));
        healthy
    }

    /// A host failed: skip it for a backoff period that doubles with each failure.
    pub fn mark_down(&mut self, i: usize) {
        let (init, max) = (self.backoff_init, self.backoff_max);
        if let Some(h) = self.hosts.get_mut(i) {
            let wait = init.saturating_mul(1u32 << h.fails.min(20)).min(max);
            h.fails = h.fails.saturating_add(1);
            h.down_until = Some(Instant::now() + wait);
            tracing::debug!(host = %h.base, backoff = ?wait, "elasticsearch host marked down");
        }
    }

    pub fn mark_up(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            if h.fails > 0 {
                tracing::info!(host = %h.base, "elasticsearch host is back");
            }
            h.fails = 0;
            h.down_until = None;
        }
    }

    /// One request to one host. `path` starts with `/` and may carry a query string.
    pub fn request(
        &self,
        host: usize,
        method: &str,
        path: &str,
        body: Option<(&[u8], &str)>,
    ) -> Result<Reply, Transport> {
        self.request_with(host, method, path, body, &[])
    }

    /// [`Client::request`] with extra headers (Kibana's `kbn-xsrf`).
    pub fn request_with(
        &self,
        host: usize,
        method: &str,
        path: &str,
        body: Option<(&[u8], &str)>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Transport> {
        let base = self.base(host);
        let url = format!("{base}{path}");
        let mut req = self.agent.request(method, &url).set("Accept", "application/json");
        for (k, v) in headers {
            req = req.set(k, v);
        }
        if let Some(a) = &self.auth {
            req = req.set("Authorization", a);
        }
        let result = match body {
            None => req.call(),
            Some((bytes, content_type)) => {
                req = req.set("Content-Type", content_type);
                if self.compression > 0 {
                    let gz = gzip(bytes, self.compression)
                        .map_err(|e| Transport { message: format!("gzip: {e}") })?;
                    req.set("Content-Encoding", "gzip").send_bytes(&gz)
                } else {
                    req.send_bytes(bytes)
                }
            }
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(Transport { message: describe(base, &t) })
            }
        };
        let status = resp.status();
        let mut body = Vec::new();
        resp.into_reader()
            .take(256 << 20)
            .read_to_end(&mut body)
            .map_err(|e| Transport { message: format!("reading the answer of {base}: {e}") })?;
        Ok(Reply { status, body })
    }
}

pub fn gzip(bytes: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::new(level.min(9)),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("localhost").unwrap(), "http://localhost:9200");
        assert_eq!(normalize_host("es:9201").unwrap(), "http://es:9201");
        assert_eq!(normalize_host("https://es.example.com/").unwrap(), "https://es.example.com");
        assert_eq!(normalize_host("http://10.0.0.1:9200/es/").unwrap(), "http://10.0.0.1:9200/es");
        assert!(normalize_host("ftp://x").is_err());
        let e = normalize_host("https://elastic:Hunter2@es:9200").unwrap_err();
        assert!(!e.contains("Hunter2") && e.contains("<redacted>@es:9200"), "{e}");
        let e = normalize_host("elastic:Hunter2@es").unwrap_err();
        assert!(!e.contains("Hunter2"), "{e}");
        assert!(normalize_host("").is_err());
        assert!(normalize_host("http://").is_err());
    }

    #[test]
    fn fingerprints_parse() {
        let hex = "AB".repeat(32);
        assert_eq!(parse_fingerprint(&hex).unwrap(), [0xab; 32]);
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).unwrap(), [0xab; 32]);
        assert!(parse_fingerprint("abcd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn auth_headers() {
        let mut c = Config::default();
        assert_eq!(auth_header(&c), None);
        c.username = Some("elastic".into());
        c.password = Some("changeme".into());
        assert_eq!(auth_header(&c).unwrap(), "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==");
        c.username = None;
        c.api_key = Some("id:key".into());
        assert_eq!(auth_header(&c).unwrap(), "ApiKey aWQ6a2V5");
        c.api_key = Some("aWQ6a2V5".into());
        assert_eq!(auth_header(&c).unwrap(), "ApiKey aWQ6a2V5");
    }

    #[test]
    fn tls_config_builds() {
        let mut c = Config::default();
        assert!(tls_config(&c).is_ok());
        c.ssl.certificate_authorities = vec!["/nonexistent/ca.pem".into()];
        let e = tls_config(&c).unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
