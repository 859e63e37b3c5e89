//! ECS fields of a MongoDB transaction (`error.*`, `user.name`) and the protocol's own under
//! `network_traffic.mongodb.*`, with Packetbeat's names (camelCase as Packetbeat spells them)
//! and the `method`, `resource` and `query` the Network Packet Capture integration moves there.

use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub mongodb: MongodbFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MongodbFields {
    /// Opcode of the request (of the reply without one), e.g. `OP_MSG`.
    pub opcode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    #[serde(rename = "fullCollectionName", skip_serializing_if = "Option::is_none")]
    pub full_collection_name: Option<String>,
    #[serde(rename = "numberToSkip", skip_serializing_if = "Option::is_none")]
    pub number_to_skip: Option<i64>,
    #[serde(rename = "numberToReturn", skip_serializing_if = "Option::is_none")]
    pub number_to_return: Option<i64>,
    #[serde(rename = "numberReturned", skip_serializing_if = "Option::is_none")]
    pub number_returned: Option<i64>,
    #[serde(rename = "startingFrom", skip_serializing_if = "Option::is_none")]
    pub starting_from: Option<i64>,
    #[serde(rename = "returnFieldsSelector", skip_serializing_if = "Option::is_none")]
    pub return_fields_selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    #[serde(rename = "cursorId", skip_serializing_if = "Option::is_none")]
    pub cursor_id: Option<i64>,
    /// Documents the request carried in OP_MSG document sequences or OP_INSERT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Compressor of an OP_COMPRESSED request or reply (`noop`, `snappy`, `zlib`, `zstd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compressor: Option<&'static str>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.mongodb.opcode", "keyword", "Wire opcode of the request, e.g. OP_MSG, OP_QUERY."),
    (
        "network_traffic.mongodb.method",
        "keyword",
        "Command (first key of the command document: find, insert, drop, …) or legacy operation.",
    ),
    ("network_traffic.mongodb.resource", "keyword", "database.collection the command is about."),
    (
        "network_traffic.mongodb.query",
        "keyword",
        "The command or query document as compact JSON, cut at max_doc_length.",
    ),
    ("network_traffic.mongodb.database", "keyword", "Database of the command ($db)."),
    ("network_traffic.mongodb.collection", "keyword", "Collection the command names."),
    (
        "network_traffic.mongodb.fullCollectionName",
        "keyword",
        "database.collection of a legacy operation (Packetbeat field).",
    ),
    ("network_traffic.mongodb.numberToSkip", "long", "Documents to skip (OP_QUERY)."),
    ("network_traffic.mongodb.numberToReturn", "long", "Documents asked for (OP_QUERY, OP_GET_MORE)."),
    (
        "network_traffic.mongodb.numberReturned",
        "long",
        "Documents in the reply (OP_REPLY numberReturned, cursor batch length).",
    ),
    ("network_traffic.mongodb.startingFrom", "long", "Position in the cursor of the reply (OP_REPLY)."),
    (
        "network_traffic.mongodb.returnFieldsSelector",
        "keyword",
        "Projection of an OP_QUERY as JSON.",
    ),
    ("network_traffic.mongodb.selector", "keyword", "Selector of an OP_UPDATE or OP_DELETE as JSON."),
    ("network_traffic.mongodb.update", "keyword", "Update document of an OP_UPDATE as JSON."),
    ("network_traffic.mongodb.cursorId", "long", "Cursor of the reply or of an OP_GET_MORE."),
    (
        "network_traffic.mongodb.documents",
        "long",
        "Documents the request carried (OP_MSG document sequences, OP_INSERT).",
    ),
    ("network_traffic.mongodb.error", "keyword", "Error message of the reply (errmsg, $err)."),
    (
        "network_traffic.mongodb.compressor",
        "keyword",
        "Compressor of an OP_COMPRESSED message: noop, snappy, zlib or zstd.",
    ),
];
