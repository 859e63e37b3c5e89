//! Kibana content: the data view, the dashboards and wirebeat's own detection rules.
//!
//! Everything is generated here, deterministically, and checked in under `kibana/` (a test
//! compares the two; `UPDATE_CONTENT=1 cargo test --test content_kibana` rewrites the files).
//! Formats follow `docs/elastic-content.md` section (a) and (b):
//! - saved objects are NDJSON lines for `POST /api/saved_objects/_import`; the `*JSON`
//!   attributes are JSON-encoded strings; dashboards hold by-value Lens panels whose data view
//!   references are repeated at the dashboard's top level as `<panelIndex>:<name>`;
//! - version stamps are those an 8.9 Kibana writes (the support floor), so newer Kibanas
//!   migrate the objects up and none rejects them as "from a more recent version";
//! - rules are creation payloads for `POST /api/detection_engine/rules/_import`, one per line,
//!   with `version` and a `rule_id` derived from a stable key (never an Elastic prebuilt id).
//!
//! Ids are UUIDv5 of stable keys ([`id::stable_id`]).

pub mod dashboards;
pub mod id;
pub mod lens;
pub mod rules;

use serde_json::Value;

/// Index patterns of the data view and of every rule: all data streams wirebeat writes.
pub const DATA_VIEW_TITLE: &str = "logs-network_traffic.*,logs-wirebeat.*";
/// Display name of the data view.
pub const DATA_VIEW_NAME: &str = "wirebeat";
/// Key the data view id derives from.
pub const DATA_VIEW_ID_KEY: &str = "data-view:wirebeat";
/// `index` of every rule.
pub const RULE_INDEX: &[&str] = &["logs-network_traffic.*", "logs-wirebeat.*"];

/// `coreMigrationVersion` of every object (8.8+ and 9.x exports).
pub const CORE_STAMP: &str = "8.8.0";
/// `typeMigrationVersion` of `index-pattern` objects.
pub const INDEX_PATTERN_STAMP: &str = "8.0.0";
/// `typeMigrationVersion` of `lens` objects (and the level of by-value Lens state).
pub const LENS_STAMP: &str = "8.9.0";
/// `typeMigrationVersion` of `dashboard` objects.
pub const DASHBOARD_STAMP: &str = "8.9.0";
/// `version` of each dashboard panel: the Kibana version the embedded Lens state is written
/// for, so newer Kibanas run the embeddable migrations from there.
pub const PANEL_VERSION: &str = LENS_STAMP;

/// Causes under `wirebeat.stats.dropped.<cause>` that the health dashboard charts.
pub const DROP_CAUSES: &[&str] = &[
    "kernel",
    "interface",
    "channel_full",
    "queue_full",
    "malformed",
    "unsupported_linktype",
    "fragment_dropped",
    "tunnel_too_deep",
];

/// The data view first, then every dashboard.
pub fn saved_objects() -> Vec<Value> {
    let mut all = vec![dashboards::data_view()];
    all.extend(dashboards::dashboards());
    all
}

/// Every detection rule (creation payloads).
pub fn rules() -> Vec<Value> {
    rules::rules()
}

/// NDJSON: one object per line, each line ending in a newline.
pub fn to_ndjson(objects: &[Value]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str(&o.to_string());
        out.push('\n');
    }
    out
}

/// The saved objects file (`kibana/saved_objects.ndjson`): data view and dashboards.
pub fn saved_objects_ndjson() -> String {
    to_ndjson(&saved_objects())
}

/// The detection rules file (`kibana/rules.ndjson`).
pub fn rules_ndjson() -> String {
    to_ndjson(&rules())
}
