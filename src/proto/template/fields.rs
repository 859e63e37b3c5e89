//! ECS fields of a template transaction, and the fields outside ECS they add.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event (under `network_traffic.template`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub template: TemplateFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TemplateFields {
    pub request: Option<String>,
    pub response: Option<String>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.template.request", "keyword", "Text of the PING request."),
    ("network_traffic.template.response", "keyword", "Text of the PONG response."),
];
