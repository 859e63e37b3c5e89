//! The one list of every field wirebeat writes, or its ingest pipeline adds, with the
//! Elasticsearch mapping the index templates give it.
//!
//! Two sources:
//! - **ECS fields** ([`ECS_FIELDS`]): name and ECS type as in ECS 9.4 (`ecs_flat.yml`), with the
//!   mapping parameters ECS itself uses (`ignore_above: 1024` on keywords, `2083` on
//!   `url.query`/`event.url`, a `match_only_text` multi-field named `text` where ECS has one,
//!   `index: false` on `*.x509.public_key_exponent`). The list covers what the flow and
//!   transaction events emit, what the ingest pipeline adds (GeoIP, ASN, user agent, domain
//!   parts, `event.ingested`, `error.message`), the alert stream (`rule.*`, `threat.*`,
//!   `event.severity`, `event.risk_score`, `message`) and ECS fields that Elastic's prebuilt
//!   network rules read (`tests/data/prebuilt-rule-fields.txt`).
//! - **Custom fields**: every entry of [`crate::ecs::fields::custom_fields`] (Packetbeat's field
//!   names and `network_traffic.*`), plus the DHCPv4 fields no corpus capture shows
//!   ([`crate::proto::dhcpv4::CUSTOM_FIELDS_NOT_IN_CORPUS`]). Custom `keyword` fields get
//!   `ignore_above: 1024` like ECS keywords; `object` and `flattened` fields take free-form
//!   children (DNS record lists, HTTP header maps).
//!
//! Not in the list: the sensor-health counters `wirebeat.stats.*`, mapped `long` by the dynamic
//! template `wirebeat_stats` (see [`super::templates`]), and children of `object` fields, which
//! are mapped dynamically (strings as `keyword`).
//!
//! `tests/content_elasticsearch.rs` checks every ECS entry against `ecs_flat.yml` (type and
//! parameters), every custom entry against `custom_fields()`, and that every field emitted over
//! the whole corpus is mapped.

use std::collections::BTreeSet;

/// One mapped field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Dotted name, e.g. `dns.question.name`.
    pub name: String,
    /// Elasticsearch field type: `keyword`, `long`, `ip`, `date`, `object`, `flattened`, ….
    pub es_type: String,
    /// False for ECS fields, true for wirebeat's own (Packetbeat-compatible) fields.
    pub custom: bool,
    /// `ignore_above` of a keyword field.
    pub ignore_above: Option<u32>,
    /// Multi-fields as (sub-field name, type), e.g. `("text", "match_only_text")`.
    pub multi_fields: Vec<(String, String)>,
    /// False for fields ECS maps with `index: false` and `doc_values: false`.
    pub indexed: bool,
    /// For custom fields, what the field holds (empty for ECS fields: see ECS's reference).
    pub description: String,
}

impl Field {
    /// The field's mapping, e.g. `{"type":"keyword","ignore_above":1024}`.
    pub fn mapping(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), self.es_type.clone().into());
        if let Some(n) = self.ignore_above {
            m.insert("ignore_above".into(), n.into());
        }
        if !self.indexed {
            m.insert("index".into(), false.into());
            m.insert("doc_values".into(), false.into());
        }
        if !self.multi_fields.is_empty() {
            let mf: serde_json::Map<String, serde_json::Value> = self
                .multi_fields
                .iter()
                .map(|(n, t)| (n.clone(), serde_json::json!({ "type": t })))
                .collect();
            m.insert("fields".into(), mf.into());
        }
        m.into()
    }
}

/// An ECS field in [`ECS_FIELDS`]: name, type and the parameters ECS maps it with.
#[derive(Debug, Clone, Copy)]
pub struct EcsField {
    pub name: &'static str,
    pub es_type: &'static str,
    pub ignore_above: Option<u32>,
    /// A `text` multi-field of type `match_only_text`.
    pub text: bool,
    pub indexed: bool,
}

const fn ty(name: &'static str, es_type: &'static str) -> EcsField {
    EcsField { name, es_type, ignore_above: None, text: false, indexed: true }
}
const fn kw(name: &'static str) -> EcsField {
    EcsField { name, es_type: "keyword", ignore_above: Some(1024), text: false, indexed: true }
}
const fn kw_above(name: &'static str, n: u32) -> EcsField {
    EcsField { name, es_type: "keyword", ignore_above: Some(n), text: false, indexed: true }
}
const fn kw_text(name: &'static str) -> EcsField {
    EcsField { name, es_type: "keyword", ignore_above: Some(1024), text: true, indexed: true }
}
const fn wc_text(name: &'static str) -> EcsField {
    EcsField { name, es_type: "wildcard", ignore_above: None, text: true, indexed: true }
}
const fn unindexed(name: &'static str, es_type: &'static str) -> EcsField {
    EcsField { name, es_type, ignore_above: None, text: false, indexed: false }
}

/// Every ECS field the templates map.
pub const ECS_FIELDS: &[EcsField] = &[
    // Base fields of every event (`message` on alerts).
    ty("@timestamp", "date"),
    ty("message", "match_only_text"),
    kw("tags"),
    ty("labels", "object"),
    kw("ecs.version"),
    // The shipper and the sensor.
    kw("agent.id"),
    kw("agent.name"),
    kw("agent.type"),
    kw("agent.version"),
    kw("agent.ephemeral_id"),
    kw("observer.hostname"),
    kw("observer.name"),
    kw("observer.type"),
    kw("observer.vendor"),
    kw("observer.product"),
    kw("observer.version"),
    ty("observer.ip", "ip"),
    kw("observer.mac"),
    kw("observer.ingress.interface.name"),
    // Data stream routing (constant per backing index).
    ty("data_stream.type", "constant_keyword"),
    ty("data_stream.dataset", "constant_keyword"),
    ty("data_stream.namespace", "constant_keyword"),
    // Categorisation; `ingested` comes from the ingest pipeline, `severity`, `risk_score`,
    // `reference`, `url` and `id` from the alert stream.
    kw("event.kind"),
    kw("event.category"),
    kw("event.type"),
    kw("event.action"),
    kw("event.dataset"),
    kw("event.module"),
    kw("event.outcome"),
    kw("event.reason"),
    ty("event.start", "date"),
    ty("event.end", "date"),
    ty("event.duration", "long"),
    ty("event.ingested", "date"),
    ty("event.severity", "long"),
    ty("event.risk_score", "float"),
    kw("event.reference"),
    kw_above("event.url", 2083),
    kw("event.id"),
    // Set by the ingest pipeline's on_failure handler; `code` and `message` also by the MySQL
    // parser (ERR packets).
    ty("error.message", "match_only_text"),
    kw("error.type"),
    // Errors the database, cache and messaging protocols report (MySQL 1045, SQLSTATE, …).
    kw("error.code"),
    // The user a login names (MySQL, PostgreSQL, …).
    kw_text("user.name"),
    kw("user.domain"),
    // Mail (SMTP): the envelope, and the Subject and Message-ID of the message's headers.
    kw("email.from.address"),
    kw("email.to.address"),
    ty("email.message_id", "wildcard"),
    kw_text("email.subject"),
    // Files a transfer or file-sharing protocol names (FTP RETR/STOR, SMB CREATE; `file.name`
    // is with NFS's fields below).
    kw_text("file.path"),
    ty("file.size", "long"),
    // `network.application` is read by prebuilt rules (PAN-OS and Zeek fill it).
    ty("network.bytes", "long"),
    ty("network.packets", "long"),
    kw("network.community_id"),
    kw("network.direction"),
    kw("network.iana_number"),
    kw("network.protocol"),
    kw("network.transport"),
    kw("network.type"),
    kw("network.vlan.id"),
    kw("network.inner.vlan.id"),
    kw("network.application"),
    // Endpoints; `geo.*` and `as.*` come from the ingest pipeline's GeoIP lookups, the domain
    // parts of `destination` from its registered_domain processor (TLS SNI).
    ty("source.ip", "ip"),
    ty("source.port", "long"),
    kw("source.mac"),
    ty("source.bytes", "long"),
    ty("source.packets", "long"),
    kw("source.domain"),
    kw("source.registered_domain"),
    kw("source.subdomain"),
    kw("source.top_level_domain"),
    kw("source.geo.city_name"),
    kw("source.geo.continent_code"),
    kw("source.geo.continent_name"),
    kw("source.geo.country_iso_code"),
    kw("source.geo.country_name"),
    ty("source.geo.location", "geo_point"),
    kw("source.geo.postal_code"),
    kw("source.geo.region_iso_code"),
    kw("source.geo.region_name"),
    kw("source.geo.timezone"),
    ty("source.as.number", "long"),
    kw_text("source.as.organization.name"),
    ty("destination.ip", "ip"),
    ty("destination.port", "long"),
    kw("destination.mac"),
    ty("destination.bytes", "long"),
    ty("destination.packets", "long"),
    kw("destination.domain"),
    kw("destination.registered_domain"),
    kw("destination.subdomain"),
    kw("destination.top_level_domain"),
    kw("destination.geo.city_name"),
    kw("destination.geo.continent_code"),
    kw("destination.geo.continent_name"),
    kw("destination.geo.country_iso_code"),
    kw("destination.geo.country_name"),
    ty("destination.geo.location", "geo_point"),
    kw("destination.geo.postal_code"),
    kw("destination.geo.region_iso_code"),
    kw("destination.geo.region_name"),
    kw("destination.geo.timezone"),
    ty("destination.as.number", "long"),
    kw_text("destination.as.organization.name"),
    ty("client.ip", "ip"),
    ty("client.port", "long"),
    kw("client.mac"),
    ty("client.bytes", "long"),
    ty("client.packets", "long"),
    kw("client.domain"),
    kw("client.registered_domain"),
    kw("client.subdomain"),
    kw("client.top_level_domain"),
    kw("client.geo.city_name"),
    kw("client.geo.continent_code"),
    kw("client.geo.continent_name"),
    kw("client.geo.country_iso_code"),
    kw("client.geo.country_name"),
    ty("client.geo.location", "geo_point"),
    kw("client.geo.postal_code"),
    kw("client.geo.region_iso_code"),
    kw("client.geo.region_name"),
    kw("client.geo.timezone"),
    ty("client.as.number", "long"),
    kw_text("client.as.organization.name"),
    ty("server.ip", "ip"),
    ty("server.port", "long"),
    kw("server.mac"),
    ty("server.bytes", "long"),
    ty("server.packets", "long"),
    kw("server.domain"),
    kw("server.registered_domain"),
    kw("server.subdomain"),
    kw("server.top_level_domain"),
    kw("server.geo.city_name"),
    kw("server.geo.continent_code"),
    kw("server.geo.continent_name"),
    kw("server.geo.country_iso_code"),
    kw("server.geo.country_name"),
    ty("server.geo.location", "geo_point"),
    kw("server.geo.postal_code"),
    kw("server.geo.region_iso_code"),
    kw("server.geo.region_name"),
    kw("server.geo.timezone"),
    ty("server.as.number", "long"),
    kw_text("server.as.organization.name"),
    ty("related.ip", "ip"),
    kw("related.hosts"),
    kw("related.hash"),
    // DNS (`dns.answers` is an array of objects, ECS type object, not nested).
    kw("dns.id"),
    kw("dns.op_code"),
    kw("dns.header_flags"),
    kw("dns.response_code"),
    kw("dns.type"),
    kw("dns.question.name"),
    kw("dns.question.type"),
    kw("dns.question.class"),
    kw("dns.question.registered_domain"),
    kw("dns.question.subdomain"),
    kw("dns.question.top_level_domain"),
    ty("dns.answers", "object"),
    kw("dns.answers.name"),
    kw("dns.answers.type"),
    kw("dns.answers.class"),
    ty("dns.answers.ttl", "long"),
    kw("dns.answers.data"),
    ty("dns.resolved_ip", "ip"),
    // HTTP (bodies only with `include_body_for`).
    kw("http.version"),
    kw("http.request.method"),
    ty("http.request.bytes", "long"),
    ty("http.request.body.bytes", "long"),
    wc_text("http.request.body.content"),
    kw("http.request.referrer"),
    kw("http.request.mime_type"),
    ty("http.response.status_code", "long"),
    ty("http.response.bytes", "long"),
    ty("http.response.body.bytes", "long"),
    wc_text("http.response.body.content"),
    kw("http.response.mime_type"),
    // URL (`registered_domain`, `subdomain`, `top_level_domain` from the ingest pipeline;
    // `username`/`password` are read by prebuilt rules).
    wc_text("url.original"),
    wc_text("url.full"),
    kw("url.scheme"),
    kw("url.domain"),
    ty("url.port", "long"),
    ty("url.path", "wildcard"),
    kw_above("url.query", 2083),
    kw("url.extension"),
    kw("url.fragment"),
    kw("url.registered_domain"),
    kw("url.subdomain"),
    kw("url.top_level_domain"),
    kw("url.username"),
    kw("url.password"),
    // User agent (`original` from wirebeat, the rest from the ingest pipeline's user_agent).
    kw_text("user_agent.original"),
    kw("user_agent.name"),
    kw("user_agent.version"),
    kw_text("user_agent.os.name"),
    kw("user_agent.os.version"),
    kw_text("user_agent.os.full"),
    kw("user_agent.device.name"),
    // NFS: the AUTH_UNIX caller ids and the file name of a call.
    kw("user.id"),
    kw("group.id"),
    kw("file.name"),
    // TLS, with the certificate fields of both sides.
    kw("tls.version"),
    kw("tls.version_protocol"),
    kw("tls.cipher"),
    kw("tls.curve"),
    ty("tls.established", "boolean"),
    ty("tls.resumed", "boolean"),
    kw("tls.next_protocol"),
    kw("tls.client.server_name"),
    kw("tls.client.ja3"),
    kw("tls.client.supported_ciphers"),
    kw("tls.server.ja3s"),
    kw("tls.client.hash.md5"),
    kw("tls.client.hash.sha1"),
    kw("tls.client.hash.sha256"),
    kw("tls.client.issuer"),
    kw("tls.client.subject"),
    ty("tls.client.not_before", "date"),
    ty("tls.client.not_after", "date"),
    kw("tls.client.certificate"),
    kw("tls.client.certificate_chain"),
    kw("tls.client.x509.alternative_names"),
    ty("tls.client.x509.not_before", "date"),
    ty("tls.client.x509.not_after", "date"),
    kw("tls.client.x509.serial_number"),
    kw("tls.client.x509.signature_algorithm"),
    kw("tls.client.x509.public_key_algorithm"),
    ty("tls.client.x509.public_key_size", "long"),
    kw("tls.client.x509.public_key_curve"),
    unindexed("tls.client.x509.public_key_exponent", "long"),
    kw("tls.client.x509.version_number"),
    kw("tls.client.x509.issuer.common_name"),
    kw("tls.client.x509.issuer.country"),
    kw("tls.client.x509.issuer.distinguished_name"),
    kw("tls.client.x509.issuer.locality"),
    kw("tls.client.x509.issuer.organization"),
    kw("tls.client.x509.issuer.organizational_unit"),
    kw("tls.client.x509.issuer.state_or_province"),
    kw("tls.client.x509.subject.common_name"),
    kw("tls.client.x509.subject.country"),
    kw("tls.client.x509.subject.distinguished_name"),
    kw("tls.client.x509.subject.locality"),
    kw("tls.client.x509.subject.organization"),
    kw("tls.client.x509.subject.organizational_unit"),
    kw("tls.client.x509.subject.state_or_province"),
    kw("tls.server.hash.md5"),
    kw("tls.server.hash.sha1"),
    kw("tls.server.hash.sha256"),
    kw("tls.server.issuer"),
    kw("tls.server.subject"),
    ty("tls.server.not_before", "date"),
    ty("tls.server.not_after", "date"),
    kw("tls.server.certificate"),
    kw("tls.server.certificate_chain"),
    kw("tls.server.x509.alternative_names"),
    ty("tls.server.x509.not_before", "date"),
    ty("tls.server.x509.not_after", "date"),
    kw("tls.server.x509.serial_number"),
    kw("tls.server.x509.signature_algorithm"),
    kw("tls.server.x509.public_key_algorithm"),
    ty("tls.server.x509.public_key_size", "long"),
    kw("tls.server.x509.public_key_curve"),
    unindexed("tls.server.x509.public_key_exponent", "long"),
    kw("tls.server.x509.version_number"),
    kw("tls.server.x509.issuer.common_name"),
    kw("tls.server.x509.issuer.country"),
    kw("tls.server.x509.issuer.distinguished_name"),
    kw("tls.server.x509.issuer.locality"),
    kw("tls.server.x509.issuer.organization"),
    kw("tls.server.x509.issuer.organizational_unit"),
    kw("tls.server.x509.issuer.state_or_province"),
    kw("tls.server.x509.subject.common_name"),
    kw("tls.server.x509.subject.country"),
    kw("tls.server.x509.subject.distinguished_name"),
    kw("tls.server.x509.subject.locality"),
    kw("tls.server.x509.subject.organization"),
    kw("tls.server.x509.subject.organizational_unit"),
    kw("tls.server.x509.subject.state_or_province"),
    // Alerts (`logs-wirebeat.alert-*`): the detection rule and MITRE ATT&CK.
    kw("rule.id"),
    kw("rule.uuid"),
    kw("rule.name"),
    kw("rule.description"),
    kw("rule.category"),
    kw("rule.ruleset"),
    kw("rule.version"),
    kw("rule.reference"),
    kw("rule.author"),
    kw("rule.license"),
    kw("threat.framework"),
    kw("threat.tactic.id"),
    kw("threat.tactic.name"),
    kw("threat.tactic.reference"),
    kw("threat.technique.id"),
    kw_text("threat.technique.name"),
    kw("threat.technique.reference"),
    kw("threat.technique.subtechnique.id"),
    kw_text("threat.technique.subtechnique.name"),
    kw("threat.technique.subtechnique.reference"),
    // Threat-intel matches (`wirebeat.detect.intel`) on flows, transactions and alerts.
    ty("threat.enrichments", "nested"),
    kw("threat.enrichments.indicator.type"),
    kw("threat.enrichments.indicator.name"),
    kw("threat.enrichments.indicator.provider"),
    ty("threat.enrichments.indicator.ip", "ip"),
    kw("threat.enrichments.indicator.url.domain"),
    wc_text("threat.enrichments.indicator.url.full"),
    wc_text("threat.enrichments.indicator.url.original"),
    kw("threat.enrichments.indicator.file.hash.sha256"),
    kw("threat.enrichments.indicator.file.hash.sha1"),
    ty("threat.enrichments.indicator.first_seen", "date"),
    ty("threat.enrichments.indicator.last_seen", "date"),
    kw("threat.enrichments.indicator.description"),
    kw("threat.enrichments.indicator.reference"),
    kw("threat.enrichments.matched.atomic"),
    kw("threat.enrichments.matched.field"),
    kw("threat.enrichments.matched.type"),
    ty("threat.enrichments.matched.occurred", "date"),
    // The sensor's host (`wirebeat.host_metadata`, as Packetbeat's `add_host_metadata`).
    kw("host.name"),
    kw("host.hostname"),
    kw("host.id"),
    kw("host.architecture"),
    ty("host.ip", "ip"),
    kw("host.mac"),
    kw("host.os.type"),
    kw("host.os.family"),
    kw_text("host.os.name"),
    kw("host.os.version"),
    kw("host.os.platform"),
    kw("host.os.kernel"),
    // Read by Elastic's prebuilt network rules but never set by a passive sensor; mapped so
    // EQL and ES|QL rules that name them do not fail on an unknown field.
    kw_text("process.name"),
    kw_text("process.executable"),
];

/// Every field the index templates map: [`ECS_FIELDS`], then the custom fields (a custom name
/// that ECS also defines is left out: the ECS mapping wins). No name appears twice.
pub fn all() -> Vec<Field> {
    let mut out: Vec<Field> = ECS_FIELDS
        .iter()
        .map(|f| Field {
            name: f.name.to_owned(),
            es_type: f.es_type.to_owned(),
            custom: false,
            ignore_above: f.ignore_above,
            multi_fields: if f.text {
                vec![("text".to_owned(), "match_only_text".to_owned())]
            } else {
                Vec::new()
            },
            indexed: f.indexed,
            description: String::new(),
        })
        .collect();
    let mut seen: BTreeSet<String> = out.iter().map(|f| f.name.clone()).collect();
    let custom = crate::ecs::fields::custom_fields()
        .into_iter()
        .chain(crate::proto::dhcpv4::CUSTOM_FIELDS_NOT_IN_CORPUS.iter().copied());
    for (name, es_type, description) in custom {
        if !seen.insert(name.to_owned()) {
            continue;
        }
        out.push(Field {
            name: name.to_owned(),
            es_type: es_type.to_owned(),
            custom: true,
            ignore_above: (es_type == "keyword").then_some(1024),
            multi_fields: Vec::new(),
            indexed: true,
            description: description.to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_custom_fields_are_included() {
        let fields = all();
        let names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), fields.len());
        assert!(names.contains("flow.id") && names.contains("dns.question.name"));
        let ecs_names: BTreeSet<&str> = ECS_FIELDS.iter().map(|f| f.name).collect();
        assert_eq!(ecs_names.len(), ECS_FIELDS.len(), "an ECS field is listed twice");
    }

    #[test]
    fn mapping_carries_the_parameters() {
        let f = all().into_iter().find(|f| f.name == "url.original").unwrap();
        assert_eq!(
            f.mapping(),
            serde_json::json!({"type": "wildcard", "fields": {"text": {"type": "match_only_text"}}})
        );
        let f = all().into_iter().find(|f| f.name == "flow.id").unwrap();
        assert_eq!(f.mapping(), serde_json::json!({"type": "keyword", "ignore_above": 1024}));
    }
}
