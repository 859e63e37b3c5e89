//! The data view and the dashboards (by-value Lens panels).
//!
//! Flow events carry running totals: every periodic report of a flow repeats the bytes and
//! packets seen since the flow began. Panels that add bytes or count flows therefore read only
//! the final report of each flow (`flow.final:true`), so a long flow counts once, when it ends.

use super::lens::{Layer, Lens, Order, Series};
use super::{
    id::stable_id, CORE_STAMP, DASHBOARD_STAMP, DATA_VIEW_ID_KEY, DATA_VIEW_NAME, DATA_VIEW_TITLE,
    DROP_CAUSES, INDEX_PATTERN_STAMP, PANEL_VERSION,
};
use serde_json::{json, Value};

/// Width of Kibana's dashboard grid.
pub const GRID_COLUMNS: u32 = 48;

const FLOWS_FINAL: &str = "data_stream.dataset:\"network_traffic.flow\" and flow.final:true";
const FLOWS: &str = "data_stream.dataset:\"network_traffic.flow\"";
const DNS: &str = "data_stream.dataset:\"network_traffic.dns\"";
const HTTP: &str = "data_stream.dataset:\"network_traffic.http\"";
const TLS: &str = "data_stream.dataset:\"network_traffic.tls\"";
const ALERTS: &str = "data_stream.dataset:\"wirebeat.alert\" and event.kind:alert";
const HEALTH: &str = "data_stream.dataset:\"wirebeat.health\"";

/// Every transaction event: the datasets of the protocol registry.
fn transactions() -> String {
    let datasets: Vec<String> =
        crate::proto::content_datasets().map(|d| format!("\"{d}\"")).collect();
    format!("data_stream.dataset:({})", datasets.join(" or "))
}

/// Runtime fields the data view defines for the DNS dashboard: (name, type, Painless source).
/// They exist only in the data view (not in the index), so rules cannot use them.
pub const RUNTIME_FIELDS: &[(&str, &str, &str)] = &[
    (
        "wirebeat.dns.question.name_length",
        "long",
        "if (doc.containsKey('dns.question.name') && doc['dns.question.name'].size() > 0) { \
         emit(doc['dns.question.name'].value.length()); }",
    ),
    (
        "wirebeat.dns.question.subdomain_entropy",
        "double",
        "if (doc.containsKey('dns.question.subdomain') && doc['dns.question.subdomain'].size() > 0) \
         { String s = doc['dns.question.subdomain'].value; int n = s.length(); if (n > 0) { \
         Map counts = new HashMap(); for (int i = 0; i < n; ++i) { char c = s.charAt(i); \
         int seen = counts.containsKey(c) ? (int) counts.get(c) : 0; counts.put(c, seen + 1); } \
         double h = 0.0; for (def c : counts.keySet()) { int k = (int) counts.get(c); \
         double p = k / (double) n; h -= p * Math.log(p); } emit(h / Math.log(2)); } }",
    ),
];

/// Query names of at least this many characters are typical of encoded payloads (DNS
/// tunnels); ordinary host names rarely reach it.
const LONG_NAME: u32 = 52;

/// The data view every dashboard and rule reads.
pub fn data_view() -> Value {
    let mut runtime = serde_json::Map::new();
    for (name, ty, source) in RUNTIME_FIELDS {
        runtime.insert((*name).to_owned(), json!({"type": ty, "script": {"source": source}}));
    }
    let mut formats = serde_json::Map::new();
    for f in [
        "network.bytes",
        "source.bytes",
        "destination.bytes",
        "client.bytes",
        "server.bytes",
        "http.request.bytes",
        "http.response.bytes",
        "wirebeat.stats.spool.bytes",
    ] {
        formats.insert(f.to_owned(), json!({"id": "bytes"}));
    }
    json!({
        "type": "index-pattern",
        "id": stable_id(DATA_VIEW_ID_KEY),
        "attributes": {
            "title": DATA_VIEW_TITLE,
            "name": DATA_VIEW_NAME,
            "timeFieldName": "@timestamp",
            "allowNoIndex": true,
            "fields": "[]",
            "fieldFormatMap": Value::Object(formats).to_string(),
            "runtimeFieldMap": Value::Object(runtime).to_string(),
            "sourceFilters": "[]",
            "fieldAttrs": "{}",
        },
        "references": [],
        "coreMigrationVersion": CORE_STAMP,
        "typeMigrationVersion": INDEX_PATTERN_STAMP,
        "managed": false,
    })
}

/// A dashboard before it is laid out: panels with their width and height in grid units.
struct Board {
    key: &'static str,
    title: &'static str,
    description: &'static str,
    panels: Vec<(Lens, u32, u32)>,
}

impl Board {
    fn new(key: &'static str, title: &'static str, description: &'static str) -> Board {
        Board { key, title, description, panels: Vec::new() }
    }

    /// A fresh layer for the next panel (ids derive from the dashboard and panel position).
    fn layer(&self) -> Layer {
        Layer::new(&format!("dashboard:{}/panel:{}", self.key, self.panels.len()))
    }

    fn add(&mut self, lens: Lens, w: u32, h: u32) {
        self.panels.push((lens, w, h));
    }

    /// The dashboard saved object: panels placed left to right in rows on the 48-column grid,
    /// each Lens layer reference copied to the top level with the `<panelIndex>:` prefix.
    fn saved_object(&self, data_view_id: &str) -> Value {
        let id = stable_id(&format!("dashboard:{}", self.key));
        let (mut x, mut y, mut row_h) = (0u32, 0u32, 0u32);
        let mut panels = Vec::new();
        let mut references = Vec::new();
        for (n, (lens, w, h)) in self.panels.iter().enumerate() {
            let w = (*w).min(GRID_COLUMNS);
            if x + w > GRID_COLUMNS {
                y += row_h;
                x = 0;
                row_h = 0;
            }
            let panel_index = stable_id(&format!("dashboard:{}/panel:{n}/index", self.key));
            let attributes = lens.attributes(data_view_id);
            for r in attributes["references"].as_array().into_iter().flatten() {
                references.push(json!({
                    "type": r["type"],
                    "id": r["id"],
                    "name": format!("{panel_index}:{}", r["name"].as_str().unwrap_or_default()),
                }));
            }
            panels.push(json!({
                "type": "lens",
                "version": PANEL_VERSION,
                "panelIndex": panel_index,
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": panel_index},
                "title": lens.title,
                "embeddableConfig": {"attributes": attributes, "enhancements": {}},
            }));
            x += w;
            row_h = row_h.max(*h);
        }
        let options = json!({
            "useMargins": true,
            "syncColors": false,
            "syncCursor": true,
            "syncTooltips": false,
            "hidePanelTitles": false,
        });
        let search = json!({"query": {"query": "", "language": "kuery"}, "filter": []});
        json!({
            "type": "dashboard",
            "id": id,
            "attributes": {
                "title": self.title,
                "description": self.description,
                "version": 1,
                "timeRestore": true,
                "timeFrom": "now-24h",
                "timeTo": "now",
                "refreshInterval": {"pause": true, "value": 60000},
                "optionsJSON": options.to_string(),
                "panelsJSON": Value::Array(panels).to_string(),
                "kibanaSavedObjectMeta": {"searchSourceJSON": search.to_string()},
            },
            "references": references,
            "coreMigrationVersion": CORE_STAMP,
            "typeMigrationVersion": DASHBOARD_STAMP,
            "managed": false,
        })
    }
}

fn overview() -> Board {
    let mut b = Board::new(
        "overview",
        "[wirebeat] Overview",
        "Traffic volume, top talkers, protocols, direction and alerts across every wirebeat sensor.",
    );
    let mut l = b.layer();
    let m = l.count("Flows ended", None);
    b.add(Lens::metric("Flows ended", FLOWS_FINAL, l, &m), 12, 6);
    let mut l = b.layer();
    let m = l.sum("network.bytes", "Bytes (ended flows)", None);
    b.add(Lens::metric("Traffic", FLOWS_FINAL, l, &m), 12, 6);
    let mut l = b.layer();
    let m = l.count("Transactions", None);
    b.add(Lens::metric("Transactions", &transactions(), l, &m), 12, 6);
    let mut l = b.layer();
    let m = l.count("Alerts", None);
    b.add(Lens::metric("Alerts", ALERTS, l, &m), 12, 6);

    let mut l = b.layer();
    let x = l.date_histogram();
    let bytes = l.sum("network.bytes", "Bytes", None);
    let split = l.terms("network.transport", "string", 5, Order::Desc(&bytes), "Transport");
    b.add(
        Lens::xy(
            "Traffic over time",
            FLOWS_FINAL,
            l,
            Series::BarStacked,
            &x,
            &[bytes],
            Some(&split),
        ),
        48,
        12,
    );

    let mut l = b.layer();
    let bytes = l.sum("network.bytes", "Bytes", None);
    let src = l.terms("source.ip", "ip", 10, Order::Desc(&bytes), "Source");
    let peers = l.unique_count("destination.ip", "Destinations");
    let flows = l.count("Flows", None);
    b.add(
        Lens::table("Top talkers", FLOWS_FINAL, l, &[src, bytes.clone(), peers, flows], None),
        24,
        14,
    );

    let mut l = b.layer();
    let bytes = l.sum("network.bytes", "Bytes", None);
    let proto = l.terms("network.protocol", "string", 10, Order::Desc(&bytes), "Protocol");
    b.add(Lens::donut("Protocols by bytes", FLOWS_FINAL, l, &[proto], &bytes), 24, 14);

    let mut l = b.layer();
    let x = l.date_histogram();
    let bytes = l.sum("network.bytes", "Bytes", None);
    let dir = l.terms("network.direction", "string", 5, Order::Desc(&bytes), "Direction");
    b.add(
        Lens::xy("Bytes by direction", FLOWS_FINAL, l, Series::Area, &x, &[bytes], Some(&dir)),
        48,
        12,
    );
    b
}

fn flows() -> Board {
    let mut b = Board::new(
        "flows",
        "[wirebeat] Flows",
        "Flow volume, ports, conversations, TCP states and why flows ended.",
    );
    let mut l = b.layer();
    let x = l.date_histogram();
    let c = l.count("Flows", None);
    let t = l.terms("network.transport", "string", 5, Order::Desc(&c), "Transport");
    b.add(
        Lens::xy("Flows ended over time", FLOWS_FINAL, l, Series::BarStacked, &x, &[c], Some(&t)),
        24,
        12,
    );

    let mut l = b.layer();
    let x = l.date_histogram();
    let sent = l.sum("source.packets", "Packets from source", None);
    let recv = l.sum("destination.packets", "Packets from destination", None);
    b.add(
        Lens::xy("Packets by direction", FLOWS_FINAL, l, Series::Line, &x, &[sent, recv], None),
        24,
        12,
    );

    let mut l = b.layer();
    let c = l.count("Flows", None);
    let port = l.terms("destination.port", "number", 15, Order::Desc(&c), "Destination port");
    let tr = l.terms("network.transport", "string", 3, Order::Desc(&c), "Transport");
    let srcs = l.unique_count("source.ip", "Sources");
    b.add(Lens::table("Top destination ports", FLOWS_FINAL, l, &[port, tr, c, srcs], None), 24, 14);

    let mut l = b.layer();
    let bytes = l.sum("network.bytes", "Bytes", None);
    let src = l.terms("source.ip", "ip", 10, Order::Desc(&bytes), "Source");
    let dst = l.terms("destination.ip", "ip", 3, Order::Desc(&bytes), "Destination");
    let pk = l.sum("network.packets", "Packets", None);
    b.add(Lens::table("Top conversations", FLOWS_FINAL, l, &[src, dst, bytes, pk], None), 24, 14);

    let mut l = b.layer();
    let c = l.count("Flows", None);
    let r = l.terms("network_traffic.flow.end_reason", "string", 10, Order::Desc(&c), "End reason");
    b.add(Lens::donut("Why flows ended", FLOWS_FINAL, l, &[r], &c), 16, 12);

    let mut l = b.layer();
    let c = l.count("Flows", None);
    let s = l.terms("network_traffic.flow.state", "string", 10, Order::Desc(&c), "TCP state");
    let q = format!("{FLOWS_FINAL} and network.transport:tcp");
    b.add(Lens::donut("TCP states at the end", &q, l, &[s], &c), 16, 12);

    let mut l = b.layer();
    let c = l.count("Flow reports", None);
    let t = l.terms("network_traffic.tunnel.type", "string", 10, Order::Desc(&c), "Tunnel");
    let v = l.unique_count("network_traffic.tunnel.id", "Tunnel ids");
    let q = format!("{FLOWS} and network_traffic.tunnel.type:*");
    b.add(Lens::table("Tunnelled flows", &q, l, &[t, c, v], None), 16, 12);
    b
}

fn dns() -> Board {
    let mut b = Board::new(
        "dns",
        "[wirebeat] DNS",
        "Queried domains, response codes, NXDOMAIN sources and tunnelling suspects (long or \
         high-entropy names, many distinct names under one domain).",
    );
    let nx = format!("{DNS} and dns.response_code:NXDOMAIN");
    let long = format!("{DNS} and wirebeat.dns.question.name_length >= {LONG_NAME}");

    let mut l = b.layer();
    let m = l.count("DNS transactions", None);
    b.add(Lens::metric("DNS transactions", DNS, l, &m), 16, 6);
    let mut l = b.layer();
    let m = l.count("NXDOMAIN", None);
    b.add(Lens::metric("NXDOMAIN responses", &nx, l, &m), 16, 6);
    let mut l = b.layer();
    let m = l.count("Long names", None);
    b.add(Lens::metric(&format!("Names of {LONG_NAME}+ characters"), &long, l, &m), 16, 6);

    let mut l = b.layer();
    let x = l.date_histogram();
    let c = l.count("Transactions", None);
    let rc = l.terms("dns.response_code", "string", 6, Order::Desc(&c), "Response code");
    b.add(
        Lens::xy("Response codes over time", DNS, l, Series::BarStacked, &x, &[c], Some(&rc)),
        32,
        12,
    );

    let mut l = b.layer();
    let c = l.count("Queries", None);
    let t = l.terms("dns.question.type", "string", 10, Order::Desc(&c), "Type");
    b.add(Lens::donut("Query types", DNS, l, &[t], &c), 16, 12);

    let mut l = b.layer();
    let c = l.count("Queries", None);
    let d = l.terms(
        "dns.question.registered_domain",
        "string",
        20,
        Order::Desc(&c),
        "Registered domain",
    );
    let names = l.unique_count("dns.question.name", "Distinct names");
    let clients = l.unique_count("source.ip", "Clients");
    b.add(Lens::table("Top domains", DNS, l, &[d, c, names, clients], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("NXDOMAIN", None);
    let src = l.terms("source.ip", "ip", 20, Order::Desc(&c), "Client");
    let names = l.unique_count("dns.question.name", "Distinct names");
    let doms = l.unique_count("dns.question.registered_domain", "Distinct domains");
    b.add(Lens::table("NXDOMAIN by client", &nx, l, &[src, c, names, doms], None), 24, 16);

    let mut l = b.layer();
    let names = l.unique_count("dns.question.name", "Distinct names");
    let d = l.terms("dns.question.registered_domain", "string", 20, Order::Desc(&names), "Domain");
    let len = l.max("wirebeat.dns.question.name_length", "Longest name");
    let ent = l.max("wirebeat.dns.question.subdomain_entropy", "Highest subdomain entropy");
    let clients = l.unique_count("source.ip", "Clients");
    b.add(
        Lens::table(
            "Tunnelling suspects: many distinct names under one domain",
            DNS,
            l,
            &[d, names.clone(), len, ent, clients],
            Some((&names, "desc")),
        ),
        32,
        16,
    );

    let mut l = b.layer();
    let x = l.date_histogram();
    let c = l.count("Long names", None);
    let src = l.terms("source.ip", "ip", 5, Order::Desc(&c), "Client");
    b.add(
        Lens::xy("Long query names by client", &long, l, Series::BarStacked, &x, &[c], Some(&src)),
        16,
        16,
    );
    b
}

fn http() -> Board {
    let mut b = Board::new(
        "http",
        "[wirebeat] HTTP",
        "HTTP status codes, methods, hosts, user agents and failing URLs.",
    );
    let mut l = b.layer();
    let x = l.date_histogram();
    let c = l.count("Requests", None);
    let class = l.filters(&[
        ("1xx", "http.response.status_code >= 100 and http.response.status_code < 200"),
        ("2xx", "http.response.status_code >= 200 and http.response.status_code < 300"),
        ("3xx", "http.response.status_code >= 300 and http.response.status_code < 400"),
        ("4xx", "http.response.status_code >= 400 and http.response.status_code < 500"),
        ("5xx", "http.response.status_code >= 500"),
        ("no response", "not http.response.status_code:*"),
    ]);
    b.add(
        Lens::xy("Requests by status class", HTTP, l, Series::BarStacked, &x, &[c], Some(&class)),
        32,
        12,
    );

    let mut l = b.layer();
    let c = l.count("Requests", None);
    let code = l.terms("http.response.status_code", "number", 10, Order::Desc(&c), "Status code");
    b.add(Lens::donut("Status codes", HTTP, l, &[code], &c), 16, 12);

    let mut l = b.layer();
    let c = l.count("Requests", None);
    let host = l.terms("url.domain", "string", 20, Order::Desc(&c), "Host");
    let clients = l.unique_count("source.ip", "Clients");
    let bytes = l.sum("http.response.bytes", "Response bytes", None);
    b.add(Lens::table("Top hosts", HTTP, l, &[host, c, clients, bytes], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Requests", None);
    let ua = l.terms("user_agent.original", "string", 20, Order::Desc(&c), "User agent");
    let clients = l.unique_count("source.ip", "Clients");
    let hosts = l.unique_count("url.domain", "Hosts");
    b.add(Lens::table("User agents", HTTP, l, &[ua, c, clients, hosts], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Requests", None);
    let m = l.terms("http.request.method", "string", 10, Order::Desc(&c), "Method");
    b.add(Lens::donut("Methods", HTTP, l, &[m], &c), 16, 14);

    let mut l = b.layer();
    let c = l.count("Errors", None);
    let host = l.terms("url.domain", "string", 10, Order::Desc(&c), "Host");
    let path = l.terms("url.path", "string", 5, Order::Desc(&c), "Path");
    let code = l.terms("http.response.status_code", "number", 3, Order::Desc(&c), "Status");
    let q = format!("{HTTP} and http.response.status_code >= 400");
    b.add(Lens::table("Failing URLs", &q, l, &[host, path, code, c], None), 32, 14);
    b
}

fn tls() -> Board {
    let mut b = Board::new(
        "tls",
        "[wirebeat] TLS",
        "TLS versions, ciphers, server names (SNI), JA3/JA4 client fingerprints and server \
         certificates close to or past expiry.",
    );
    let mut l = b.layer();
    let c = l.count("Sessions", None);
    let p = l.terms("tls.version_protocol", "string", 3, Order::Desc(&c), "Protocol");
    let v = l.terms("tls.version", "string", 6, Order::Desc(&c), "Version");
    b.add(Lens::donut("Versions", TLS, l, &[p, v], &c), 16, 14);

    let mut l = b.layer();
    let c = l.count("Sessions", None);
    let ci = l.terms("tls.cipher", "string", 10, Order::Desc(&c), "Cipher");
    b.add(Lens::donut("Negotiated ciphers", TLS, l, &[ci], &c), 16, 14);

    let mut l = b.layer();
    let m = l.count("Expired certificates", None);
    let q = format!("{TLS} and tls.server.x509.not_after < now");
    b.add(Lens::metric("Sessions with an expired certificate", &q, l, &m), 16, 14);

    let mut l = b.layer();
    let c = l.count("Sessions", None);
    let sni = l.terms("tls.client.server_name", "string", 20, Order::Desc(&c), "Server name");
    let clients = l.unique_count("source.ip", "Clients");
    let servers = l.unique_count("destination.ip", "Server addresses");
    b.add(Lens::table("Server names (SNI)", TLS, l, &[sni, c, clients, servers], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Sessions", None);
    let ja3 = l.terms("tls.client.ja3", "string", 20, Order::Desc(&c), "JA3");
    let clients = l.unique_count("source.ip", "Clients");
    let snis = l.unique_count("tls.client.server_name", "Server names");
    b.add(Lens::table("JA3 client fingerprints", TLS, l, &[ja3, c, clients, snis], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Sessions", None);
    let ja4 = l.terms("tls.client.ja4", "string", 20, Order::Desc(&c), "JA4");
    let clients = l.unique_count("source.ip", "Clients");
    let snis = l.unique_count("tls.client.server_name", "Server names");
    b.add(Lens::table("JA4 client fingerprints", TLS, l, &[ja4, c, clients, snis], None), 24, 16);

    let mut l = b.layer();
    let exp = l.field_metric("min", "tls.server.x509.not_after", "date", "Expires", None);
    let cn = l.terms(
        "tls.server.x509.subject.common_name",
        "string",
        20,
        Order::Asc(&exp),
        "Subject CN",
    );
    let issuer =
        l.terms("tls.server.x509.issuer.common_name", "string", 1, Order::Asc(&exp), "Issuer");
    let c = l.count("Sessions", None);
    let q = format!("{TLS} and tls.server.x509.not_after < now+30d");
    b.add(
        Lens::table(
            "Certificates expired or expiring within 30 days",
            &q,
            l,
            &[cn, issuer, exp.clone(), c],
            Some((&exp, "asc")),
        ),
        24,
        16,
    );
    b
}

fn alerts() -> Board {
    let mut b = Board::new(
        "alerts",
        "[wirebeat] Alerts",
        "Detections raised by wirebeat sensors: by rule, by source, by MITRE ATT&CK tactic and \
         technique.",
    );
    let mut l = b.layer();
    let x = l.date_histogram();
    let c = l.count("Alerts", None);
    let sev = l.filters(&[
        ("low", "event.severity < 22"),
        ("medium", "event.severity >= 22 and event.severity < 48"),
        ("high", "event.severity >= 48 and event.severity < 74"),
        ("critical", "event.severity >= 74"),
    ]);
    b.add(
        Lens::xy(
            "Alerts over time by severity",
            ALERTS,
            l,
            Series::BarStacked,
            &x,
            &[c],
            Some(&sev),
        ),
        48,
        12,
    );

    let mut l = b.layer();
    let c = l.count("Alerts", None);
    let rule = l.terms("rule.name", "string", 20, Order::Desc(&c), "Rule");
    let srcs = l.unique_count("source.ip", "Sources");
    let sev = l.max("event.severity", "Highest severity");
    let last = l.field_metric("max", "@timestamp", "date", "Last seen", None);
    b.add(Lens::table("Alerts by rule", ALERTS, l, &[rule, c, srcs, sev, last], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Alerts", None);
    let src = l.terms("source.ip", "ip", 20, Order::Desc(&c), "Source");
    let rules = l.unique_count("rule.name", "Rules");
    let dsts = l.unique_count("destination.ip", "Destinations");
    b.add(Lens::table("Alerts by source", ALERTS, l, &[src, c, rules, dsts], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Alerts", None);
    let t = l.terms("threat.tactic.name", "string", 14, Order::Desc(&c), "Tactic");
    b.add(Lens::donut("MITRE ATT&CK tactics", ALERTS, l, &[t], &c), 24, 14);

    let mut l = b.layer();
    let c = l.count("Alerts", None);
    let id = l.terms("threat.technique.id", "string", 20, Order::Desc(&c), "Technique");
    let name = l.terms("threat.technique.name", "string", 1, Order::Desc(&c), "Name");
    b.add(Lens::table("MITRE ATT&CK techniques", ALERTS, l, &[id, name, c], None), 24, 14);
    b
}

fn health() -> Board {
    let mut b = Board::new(
        "health",
        "[wirebeat] Sensor health",
        "Capture rate, drops by cause, queue and spool fill, and output acknowledgements per \
         sensor (from the wirebeat.health counters).",
    );
    // Sensors are ranked by a plain metric column or alphabetically: Lens cannot rank terms by
    // a counter_rate (a pipeline aggregation).
    let by_sensor =
        |l: &mut Layer, order: Order<'_>| l.terms("observer.name", "string", 10, order, "Sensor");

    let mut l = b.layer();
    let x = l.date_histogram();
    let r = l.counter_rate("wirebeat.stats.packets_received", "Packets/s");
    let s = by_sensor(&mut l, Order::Alphabetical);
    b.add(
        Lens::xy("Packets received per second", HEALTH, l, Series::Line, &x, &[r], Some(&s)),
        24,
        12,
    );

    let mut l = b.layer();
    let x = l.date_histogram();
    let rates: Vec<String> = DROP_CAUSES
        .iter()
        .map(|cause| l.counter_rate(&format!("wirebeat.stats.dropped.{cause}"), cause))
        .collect();
    // Counters are per sensor: the rate must be taken per sensor, never of a maximum across
    // sensors.
    let s = by_sensor(&mut l, Order::Alphabetical);
    b.add(
        Lens::xy("Drops per second by cause", HEALTH, l, Series::BarStacked, &x, &rates, Some(&s)),
        24,
        12,
    );

    let mut l = b.layer();
    let x = l.date_histogram();
    let d = l.max("wirebeat.stats.queue.depth", "Queue depth");
    let s = by_sensor(&mut l, Order::Desc(&d));
    b.add(Lens::xy("Queue depth", HEALTH, l, Series::Line, &x, &[d], Some(&s)), 24, 12);

    let mut l = b.layer();
    let x = l.date_histogram();
    let sp = l.max("wirebeat.stats.spool.bytes", "Spool bytes");
    let s = by_sensor(&mut l, Order::Desc(&sp));
    b.add(Lens::xy("Disk spool size", HEALTH, l, Series::Area, &x, &[sp], Some(&s)), 24, 12);

    let mut l = b.layer();
    let x = l.date_histogram();
    let out: Vec<String> = [
        ("acked", "Acknowledged/s"),
        ("retried", "Retried/s"),
        ("duplicate", "Duplicates/s"),
        ("dead_lettered", "Dead-lettered/s"),
    ]
    .iter()
    .map(|(n, label)| l.counter_rate(&format!("wirebeat.stats.output.{n}"), label))
    .collect();
    let s = by_sensor(&mut l, Order::Alphabetical);
    b.add(
        Lens::xy("Output: events per second", HEALTH, l, Series::Line, &x, &out, Some(&s)),
        48,
        12,
    );

    let mut l = b.layer();
    let last = l.field_metric("max", "@timestamp", "date", "Last report", None);
    let s = by_sensor(&mut l, Order::Desc(&last));
    let pk = l.max("wirebeat.stats.packets_received", "Packets received");
    let q = l.max("wirebeat.stats.queue.depth", "Queue depth (max)");
    let sp = l.max("wirebeat.stats.spool.bytes", "Spool bytes (max)");
    let dl = l.max("wirebeat.stats.output.dead_lettered", "Dead-lettered (total)");
    b.add(Lens::table("Sensors", HEALTH, l, &[s, last, pk, q, sp, dl], None), 48, 12);
    b
}

/// Transactions of [`crate::proto::SERVICE_PROTOCOLS`] that the registry has.
fn services() -> String {
    let names: Vec<&str> = crate::proto::PROTOCOLS
        .iter()
        .filter(|p| p.in_content && crate::proto::SERVICE_PROTOCOLS.contains(&p.name))
        .map(|p| p.name)
        .collect();
    if names.is_empty() {
        return "network.protocol:none".into();
    }
    format!(
        "network.protocol:({}) and not data_stream.dataset:\"network_traffic.flow\"",
        names.join(" or ")
    )
}

fn databases() -> Board {
    let mut b = Board::new(
        "databases",
        "[wirebeat] Databases, caches and messaging",
        "MySQL, PostgreSQL, Redis, memcache, MongoDB, Cassandra, AMQP, Thrift, NFS and SIP \
         transactions: top commands, errors, failed logins and slow requests.",
    );
    let q = services();
    let errors = format!("({q}) and status:Error");
    let failed_logins = format!("({q}) and event.outcome:failure and user.name:*");

    let mut l = b.layer();
    let m = l.count("Transactions", None);
    b.add(Lens::metric("Transactions", &q, l, &m), 16, 6);
    let mut l = b.layer();
    let m = l.count("Errors", None);
    b.add(Lens::metric("Errors", &errors, l, &m), 16, 6);
    let mut l = b.layer();
    let m = l.count("Failed logins", None);
    b.add(Lens::metric("Failed logins", &failed_logins, l, &m), 16, 6);

    let mut l = b.layer();
    let x = l.date_histogram();
    let c = l.count("Transactions", None);
    let p = l.terms("network.protocol", "string", 10, Order::Desc(&c), "Protocol");
    b.add(
        Lens::xy("Transactions over time", &q, l, Series::BarStacked, &x, &[c], Some(&p)),
        48,
        12,
    );

    let mut l = b.layer();
    let c = l.count("Transactions", None);
    let p = l.terms("network.protocol", "string", 10, Order::Desc(&c), "Protocol");
    let m = l.terms("method", "string", 20, Order::Desc(&c), "Command");
    let slow = l.max("event.duration", "Slowest (ns)");
    let servers = l.unique_count("destination.ip", "Servers");
    b.add(Lens::table("Top commands", &q, l, &[p, m, c, slow, servers], None), 24, 16);

    let mut l = b.layer();
    let c = l.count("Errors", None);
    let p = l.terms("network.protocol", "string", 10, Order::Desc(&c), "Protocol");
    let code = l.terms("error.code", "string", 20, Order::Desc(&c), "Error code");
    let m = l.terms("method", "string", 5, Order::Desc(&c), "Command");
    let clients = l.unique_count("source.ip", "Clients");
    b.add(Lens::table("Errors", &errors, l, &[p, code, m, c, clients], None), 24, 16);

    let mut l = b.layer();
    let slow = l.max("event.duration", "Duration (ns)");
    let query = l.terms("query", "string", 20, Order::Desc(&slow), "Request");
    let p = l.terms("network.protocol", "string", 3, Order::Desc(&slow), "Protocol");
    let c = l.count("Times", None);
    b.add(
        Lens::table("Slowest requests", &q, l, &[query, p, slow.clone(), c], Some((&slow, "desc"))),
        32,
        16,
    );

    let mut l = b.layer();
    let c = l.count("Failed logins", None);
    let src = l.terms("source.ip", "ip", 10, Order::Desc(&c), "Client");
    let users = l.unique_count("user.name", "Users tried");
    let p = l.terms("network.protocol", "string", 3, Order::Desc(&c), "Protocol");
    b.add(
        Lens::table("Failed logins by client", &failed_logins, l, &[src, p, c, users], None),
        16,
        16,
    );
    b
}

/// Every dashboard saved object, in a fixed order.
pub fn dashboards() -> Vec<Value> {
    let dv = stable_id(DATA_VIEW_ID_KEY);
    [overview(), flows(), dns(), http(), tls(), databases(), alerts(), health()]
        .iter()
        .map(|b| b.saved_object(&dv))
        .collect()
}
