//! Elastic content shipped with wirebeat: Elasticsearch index management (lifecycle policy,
//! component and index templates, ingest pipelines) and the Logstash pipeline.
//!
//! [`es_requests`] is the exact list of requests `wirebeat setup` sends and
//! `wirebeat export template|pipelines` prints, in the order Elasticsearch needs them:
//! lifecycle → component templates → index templates → ingest pipelines. The same bodies are
//! checked in under `elasticsearch/` (see [`Request::export_path`]) and `logstash/`;
//! `tests/content_elasticsearch.rs` fails when they differ, and `UPDATE_CONTENT=1` rewrites them.
//!
//! Data streams: `logs-<dataset>-<namespace>` for the datasets `network_traffic.flow|dns|http|
//! tls|icmp|dhcpv4` and `wirebeat.alert|health` (`wirebeat.namespace`, default `default`).
//! Priorities and names: see [`templates`].

pub mod fields;
pub mod ilm;
pub mod ingest;
pub mod logstash;
pub mod templates;

use serde_json::Value;

/// `version` of every template and pipeline wirebeat installs; raise it when their content
/// changes so installed content can be compared.
pub const CONTENT_VERSION: u32 = 1;
/// Name of the ILM policy.
pub const ILM_POLICY: &str = "wirebeat";
/// The default ingest pipeline of every wirebeat data stream.
pub const PIPELINE: &str = "wirebeat";
/// The GeoIP/ASN sub-pipeline.
pub const GEOIP_PIPELINE: &str = "wirebeat-geoip";
/// The user's own pipeline, called last when it exists (wirebeat never installs it).
pub const CUSTOM_PIPELINE: &str = "wirebeat@custom";

/// How the data streams' lifecycle is managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// ILM policy `wirebeat` (stateful clusters; the default).
    Ilm,
    /// Data stream lifecycle with `data_retention` (clusters without ILM, e.g. serverless): no
    /// ILM request, and the `wirebeat@lifecycle` component sets `lifecycle` instead.
    DataStream,
}

/// One Elasticsearch API request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// HTTP method (`PUT`).
    pub method: &'static str,
    /// Path with a leading slash, e.g. `/_index_template/wirebeat-logs-wirebeat`.
    pub path: String,
    /// JSON body.
    pub body: Value,
}

impl Request {
    fn put(path: String, body: Value) -> Self {
        Request { method: "PUT", path, body }
    }

    /// Where the body is checked in, relative to `elasticsearch/`:
    /// `ilm/<name>.json`, `component_templates/<name>.json`, `index_templates/<name>.json`,
    /// `ingest/<name>.json`.
    pub fn export_path(&self) -> String {
        let kinds = [
            ("/_ilm/policy/", "ilm"),
            ("/_component_template/", "component_templates"),
            ("/_index_template/", "index_templates"),
            ("/_ingest/pipeline/", "ingest"),
        ];
        for (prefix, dir) in kinds {
            if let Some(name) = self.path.strip_prefix(prefix) {
                return format!("{dir}/{name}.json");
            }
        }
        format!("other/{}.json", self.path.trim_start_matches('/').replace('/', "_"))
    }
}

/// The requests that install wirebeat's Elasticsearch content on a cluster with ILM.
pub fn es_requests() -> Vec<Request> {
    es_requests_with(Lifecycle::Ilm)
}

/// The requests that install wirebeat's Elasticsearch content with the given lifecycle.
pub fn es_requests_with(lifecycle: Lifecycle) -> Vec<Request> {
    es_requests_for(lifecycle, templates::DEFAULT_PRIORITY)
}

/// The requests with the given lifecycle and index template priority (`setup.template.priority`).
pub fn es_requests_for(lifecycle: Lifecycle, priority: u32) -> Vec<Request> {
    let fields = fields::all();
    let mut out = Vec::new();
    if lifecycle == Lifecycle::Ilm {
        out.push(Request::put(format!("/_ilm/policy/{ILM_POLICY}"), ilm::policy()));
    }
    for (name, body) in templates::component_templates(&fields, lifecycle) {
        out.push(Request::put(format!("/_component_template/{name}"), body));
    }
    for (name, body) in templates::index_templates_at(priority) {
        out.push(Request::put(format!("/_index_template/{name}"), body));
    }
    out.push(Request::put(format!("/_ingest/pipeline/{GEOIP_PIPELINE}"), ingest::geoip_pipeline()));
    out.push(Request::put(format!("/_ingest/pipeline/{PIPELINE}"), ingest::main_pipeline()));
    out
}

/// `data_stream.dataset` of the alert documents (`crate::detect::alert::DATASET_ALERT`; a unit
/// test keeps them equal).
pub const DATASET_ALERT: &str = "wirebeat.alert";

/// Every dataset wirebeat writes: flows, each protocol's transactions, alerts, sensor health.
pub fn datasets() -> Vec<&'static str> {
    let mut out = vec![crate::ecs::DATASET_FLOW];
    out.extend(crate::proto::content_datasets());
    out.push(DATASET_ALERT);
    out.push(crate::ecs::health::DATASET_HEALTH);
    out
}

/// wirebeat's custom (non-ECS) fields of `dataset`: for `network_traffic.<p>`, those under
/// `<p>.` and `network_traffic.<p>.` (Packetbeat's names and the integration's).
pub fn dataset_fields(dataset: &str) -> Vec<String> {
    let Some(p) = dataset.strip_prefix("network_traffic.") else { return Vec::new() };
    let (a, b) = (format!("{p}."), format!("network_traffic.{p}."));
    fields::all()
        .into_iter()
        .filter(|f| f.custom && (f.name.starts_with(&a) || f.name.starts_with(&b)))
        .map(|f| f.name)
        .collect()
}

/// The Logstash pipeline (Kafka → Elasticsearch data streams), `logstash/wirebeat.conf`.
pub fn logstash_pipeline() -> String {
    logstash::pipeline()
}

/// Logstash's `pipelines.yml` for it, with the dead letter queue enabled.
pub fn logstash_pipelines_yml() -> String {
    logstash::pipelines_yml()
}

#[cfg(test)]
mod tests;
