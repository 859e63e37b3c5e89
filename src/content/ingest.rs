//! Ingest pipelines: `wirebeat` (every wirebeat data stream's `index.default_pipeline`) and
//! `wirebeat-geoip`, which it calls.
//!
//! `wirebeat`:
//! 1. sets `event.ingested` (Elastic's prebuilt rules use it as `timestamp_override`);
//! 2. calls `wirebeat-geoip`;
//! 3. parses `user_agent.original` into `user_agent.name`, `version`, `os.*`, `device.name`;
//! 4. splits domains with the public suffix list (`registered_domain`): `dns.question.name`
//!    into `dns.question.*` when wirebeat has not already done so (it normally has), `url.domain`
//!    into `url.registered_domain`/`subdomain`/`top_level_domain`, and the TLS SNI
//!    `tls.client.server_name` into `destination.domain`/`registered_domain`/… (ECS has no domain
//!    parts under `tls.*`). Names without a public suffix (`printer.local`) are skipped
//!    (`ignore_missing`);
//! 5. calls the user's `wirebeat@custom` pipeline if it exists.
//!
//! On any failure the document is still indexed, with `event.kind: pipeline_error` and the
//! reason appended to `error.message`.
//!
//! `wirebeat-geoip`: for each of `source`, `destination`, `client`, `server`: the City database
//! into `<side>.geo` (the processor's default target is `geoip`, not ECS), the ASN database into
//! `<side>.as`, then `as.asn` → `as.number` and `as.organization_name` →
//! `as.organization.name` (ECS names). Private and unknown addresses get nothing.

use super::{CONTENT_VERSION, CUSTOM_PIPELINE, GEOIP_PIPELINE};
use serde_json::{json, Value};

const SIDES: [&str; 4] = ["source", "destination", "client", "server"];

fn meta(description: &str) -> Value {
    json!({ "managed_by": "wirebeat", "managed": true, "description": description })
}

/// Body of `PUT _ingest/pipeline/wirebeat-geoip`.
pub fn geoip_pipeline() -> Value {
    let mut processors = Vec::new();
    for side in SIDES {
        processors.push(json!({ "geoip": {
            "tag": format!("geoip_{side}"),
            "field": format!("{side}.ip"),
            "target_field": format!("{side}.geo"),
            "ignore_missing": true
        } }));
        processors.push(json!({ "geoip": {
            "tag": format!("geoip_{side}_asn"),
            "database_file": "GeoLite2-ASN.mmdb",
            "field": format!("{side}.ip"),
            "target_field": format!("{side}.as"),
            "properties": ["asn", "organization_name"],
            "ignore_missing": true
        } }));
        processors.push(json!({ "rename": {
            "tag": format!("rename_{side}_asn"),
            "field": format!("{side}.as.asn"),
            "target_field": format!("{side}.as.number"),
            "ignore_missing": true
        } }));
        processors.push(json!({ "rename": {
            "tag": format!("rename_{side}_as_organization"),
            "field": format!("{side}.as.organization_name"),
            "target_field": format!("{side}.as.organization.name"),
            "ignore_missing": true
        } }));
    }
    json!({
        "description": "wirebeat: GeoIP location and ASN of source, destination, client and \
                        server into ECS geo.* and as.*",
        "processors": processors,
        "version": CONTENT_VERSION,
        "_meta": meta("called by the wirebeat pipeline")
    })
}

/// Body of `PUT _ingest/pipeline/wirebeat`.
pub fn main_pipeline() -> Value {
    json!({
        "description": "wirebeat: event.ingested, GeoIP/ASN, user agent and registered domains \
                        for every wirebeat data stream",
        "processors": [
            { "set": {
                "tag": "set_event_ingested",
                "field": "event.ingested",
                "value": "{{{_ingest.timestamp}}}"
            } },
            { "pipeline": {
                "tag": "pipeline_geoip",
                "name": GEOIP_PIPELINE
            } },
            { "user_agent": {
                "tag": "user_agent",
                "field": "user_agent.original",
                "ignore_missing": true
            } },
            { "registered_domain": {
                "tag": "registered_domain_dns_question",
                "if": "ctx.dns?.question?.registered_domain == null",
                "field": "dns.question.name",
                "target_field": "dns.question",
                "ignore_missing": true
            } },
            { "remove": {
                "tag": "remove_dns_question_domain",
                "field": "dns.question.domain",
                "ignore_missing": true
            } },
            { "registered_domain": {
                "tag": "registered_domain_url",
                "if": "ctx.url?.registered_domain == null",
                "field": "url.domain",
                "target_field": "url",
                "ignore_missing": true
            } },
            { "registered_domain": {
                "tag": "registered_domain_tls_sni",
                "field": "tls.client.server_name",
                "target_field": "destination",
                "ignore_missing": true
            } },
            { "pipeline": {
                "tag": "pipeline_custom",
                "name": CUSTOM_PIPELINE,
                "ignore_missing_pipeline": true
            } }
        ],
        "on_failure": [
            { "set": {
                "field": "event.kind",
                "value": "pipeline_error"
            } },
            { "append": {
                "field": "error.message",
                "value": "Processor {{{_ingest.on_failure_processor_type}}} with tag \
                          {{{_ingest.on_failure_processor_tag}}} in pipeline \
                          {{{_ingest.on_failure_pipeline}}} failed with message: \
                          {{{_ingest.on_failure_message}}}"
            } }
        ],
        "version": CONTENT_VERSION,
        "_meta": meta("default pipeline of logs-network_traffic.*-* and logs-wirebeat.*-*")
    })
}
