//! ECS `url.*` from a request target and the `Host` header. Values stay as on the wire (no
//! percent-decoding, no case folding): an analyst compares them with logs and captures.

use serde::Serialize;

/// ECS `url.*`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Url {
    pub original: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// Splits an authority (`[user@]host[:port]`) into host, explicit port and user name.
/// IPv6 literals keep their brackets (ECS `url.domain`).
pub fn split_authority(a: &str) -> (String, Option<u16>, Option<String>) {
    let (user, hostport) = match a.rsplit_once('@') {
        Some((u, h)) => (Some(u.split(':').next().unwrap_or("").to_owned()), h),
        None => (None, a),
    };
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => {
                let (h, rest) = hostport.split_at(i + 1);
                (h, rest.strip_prefix(':'))
            }
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (hostport, None),
        }
    };
    (host.to_owned(), port.and_then(|p| p.parse().ok()), user.filter(|u| !u.is_empty()))
}

/// Path, query and fragment of an origin-form target (`/a/b.png?x=1#f`).
fn split_path(u: &mut Url, rest: &str) {
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if !path.is_empty() {
        u.path = Some(path.to_owned());
        let last = path.rsplit('/').next().unwrap_or("");
        u.extension =
            last.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.is_empty()).map(str::to_owned);
    }
    u.query = query.map(str::to_owned);
    u.fragment = fragment.filter(|f| !f.is_empty()).map(str::to_owned);
}

/// `url.*` of a request. `host` is the `Host` header value.
pub fn from_request(method: &str, target: &str, host: Option<&str>) -> Url {
    let mut u = Url { original: target.to_owned(), ..Url::default() };
    let host = host.map(str::trim).filter(|h| !h.is_empty());
    if method.eq_ignore_ascii_case("CONNECT") {
        // Authority form: the tunnel's destination.
        let (d, p, _) = split_authority(target);
        u.domain = (!d.is_empty()).then_some(d);
        u.port = p;
        return u;
    }
    if let Some((scheme, rest)) = target.split_once("://").filter(|(s, _)| {
        !s.is_empty()
            && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    }) {
        // Absolute form (proxies).
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (d, p, user) = split_authority(authority);
        u.scheme = Some(scheme.to_ascii_lowercase());
        u.domain = (!d.is_empty()).then_some(d);
        u.port = p;
        u.username = user;
        split_path(&mut u, path);
        let hostport = authority.rsplit('@').next().unwrap_or(authority);
        u.full = Some(format!("{scheme}://{hostport}{path}"));
        return u;
    }
    if target.starts_with('/') {
        split_path(&mut u, target);
        u.scheme = Some("http".into());
        if let Some(h) = host {
            u.full = Some(format!("http://{h}{target}"));
        }
    }
    if let Some(h) = host {
        let (d, p, _) = split_authority(h);
        u.domain = (!d.is_empty()).then_some(d);
        u.port = p;
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_form_with_host_port() {
        let u = from_request("GET", "/a/b.tar.gz?x=1&y=2", Some("example.com:8080"));
        assert_eq!(u.full.as_deref(), Some("http://example.com:8080/a/b.tar.gz?x=1&y=2"));
        assert_eq!(u.domain.as_deref(), Some("example.com"));
        assert_eq!(u.port, Some(8080));
        assert_eq!(u.path.as_deref(), Some("/a/b.tar.gz"));
        assert_eq!(u.query.as_deref(), Some("x=1&y=2"));
        assert_eq!(u.extension.as_deref(), Some("gz"));
        assert_eq!(u.scheme.as_deref(), Some("http"));
    }

    #[test]
    fn absolute_connect_ipv6_and_odd_targets() {
        let u = from_request("GET", "http://user:pw@proxy.test:3128/x.js", Some("other"));
        assert_eq!(u.full.as_deref(), Some("http://proxy.test:3128/x.js"));
        assert_eq!(u.domain.as_deref(), Some("proxy.test"));
        assert_eq!(u.username.as_deref(), Some("user"));
        assert_eq!(u.extension.as_deref(), Some("js"));
        let u = from_request("CONNECT", "secure.newegg.com:443", Some("secure.newegg.com:443"));
        assert_eq!((u.domain.as_deref(), u.port), (Some("secure.newegg.com"), Some(443)));
        assert!(u.full.is_none() && u.path.is_none());
        let u = from_request("GET", "/", Some("[::1]:8080"));
        assert_eq!((u.domain.as_deref(), u.port), (Some("[::1]"), Some(8080)));
        let u = from_request("OPTIONS", "*", Some("h"));
        assert_eq!((u.full, u.path, u.domain.as_deref()), (None, None, Some("h")));
        let u = from_request("GET", "/dir.d/file", None);
        assert_eq!((u.full, u.extension), (None, None));
    }
}
