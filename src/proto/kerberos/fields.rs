//! ECS fields of a Kerberos exchange (`user.name`/`user.domain` of the client principal,
//! `error.code`/`error.message`) and the protocol's own under `network_traffic.kerberos.*`.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFields>,
    pub network_traffic: NetworkTraffic,
}

/// ECS `user.*`: the client principal and its realm.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// ECS `error.*`: the KRB-ERROR code (as a keyword) and its name.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ErrorFields {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct NetworkTraffic {
    pub kerberos: KerberosFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct KerberosFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<&'static str>,
    /// Client principal of the request (AS-REQ cname), components joined by "/".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Client principal the reply or error names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_cname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crealm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub etypes: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_etype: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enc_part_etype: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub weak_etype: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub weak_etype_offered: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub padata_types: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pa_enc_timestamp: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_padata_types: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kdc_options: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_text: Option<String>,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.kerberos.request_type", "keyword", "Request message type: AS-REQ or TGS-REQ."),
    (
        "network_traffic.kerberos.response_type",
        "keyword",
        "Response message type: AS-REP, TGS-REP or KRB-ERROR.",
    ),
    (
        "network_traffic.kerberos.cname",
        "keyword",
        "Client principal of the request (KDC-REQ-BODY cname), components joined by '/'.",
    ),
    (
        "network_traffic.kerberos.response_cname",
        "keyword",
        "Client principal named by the reply or the KRB-ERROR.",
    ),
    ("network_traffic.kerberos.crealm", "keyword", "Realm of the client principal."),
    (
        "network_traffic.kerberos.sname",
        "keyword",
        "Service principal (request sname, or the reply ticket's sname), joined by '/'.",
    ),
    ("network_traffic.kerberos.realm", "keyword", "Realm of the service principal."),
    (
        "network_traffic.kerberos.etypes",
        "long",
        "Encryption types the client requested (KDC-REQ-BODY etype), in its order.",
    ),
    (
        "network_traffic.kerberos.ticket_etype",
        "long",
        "Encryption type of the issued ticket's enc-part (23 in a TGS-REP: Kerberoastable).",
    ),
    (
        "network_traffic.kerberos.enc_part_etype",
        "long",
        "Encryption type of the reply's enc-part (the client's session key part).",
    ),
    (
        "network_traffic.kerberos.weak_etype",
        "boolean",
        "A weak encryption type (RC4-HMAC 23/24, DES 1-3) was used for the ticket or the reply, or the request offered only weak types (a Kerberoasting downgrade).",
    ),
    (
        "network_traffic.kerberos.weak_etype_offered",
        "boolean",
        "The request's etype list offers a weak type (RC4-HMAC 23/24, DES 1-3) among others.",
    ),
    ("network_traffic.kerberos.padata_types", "long", "PA-DATA types of the request."),
    (
        "network_traffic.kerberos.pa_enc_timestamp",
        "boolean",
        "The request carried PA-ENC-TIMESTAMP (type 2): encrypted-timestamp pre-authentication.",
    ),
    (
        "network_traffic.kerberos.error_padata_types",
        "long",
        "PA-DATA types the KRB-ERROR's e-data offers (METHOD-DATA of PREAUTH_REQUIRED).",
    ),
    ("network_traffic.kerberos.kdc_options", "keyword", "KDCOptions flags set in the request."),
    ("network_traffic.kerberos.till", "date", "Requested ticket end time."),
    ("network_traffic.kerberos.rtime", "date", "Requested renewable end time."),
    ("network_traffic.kerberos.error_code", "long", "KRB-ERROR error-code."),
    (
        "network_traffic.kerberos.error_name",
        "keyword",
        "Name of the error code (KDC_ERR_PREAUTH_FAILED, KRB_AP_ERR_SKEW, ...).",
    ),
    ("network_traffic.kerberos.e_text", "keyword", "KRB-ERROR e-text (bounded)."),
];
