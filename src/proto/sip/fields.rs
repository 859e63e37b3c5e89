//! ECS fields of a SIP transaction and the custom-field list. Names are Packetbeat's `sip.*`
//! (7.11+) under `network_traffic.sip.*`, the integration's layout (its pipeline renames `sip`).
//! The request's User-Agent is also ECS `user_agent.original`.

use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<UserAgent>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserAgent {
    pub original: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub sip: SipFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct UriFields {
    pub original: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Party {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_info: Option<String>,
    pub uri: UriFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Cseq {
    pub code: u64,
    pub method: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Original {
    pub original: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AuthFields {
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<UriFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SdpOwner {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SdpConnection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SdpFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub owner: SdpOwner,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SdpSession>,
    pub connection: SdpConnection,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    pub body: SdpBody,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SdpSession {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SdpBody {
    pub original: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SipFields {
    /// "request" for a request nobody answered, "response" when the event has a response.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<UriFields>,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provisional_codes: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cseq: Option<Cseq>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Original>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<UaFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_forwards: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp: Option<SdpFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmissions: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct UaFields {
    pub original: String,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.sip.from.display_info", "keyword", "Display name of the From header."),
    ("network_traffic.sip.from.tag", "keyword", "Tag parameter of the From header."),
    ("network_traffic.sip.from.uri.original", "keyword", "URI of the From header."),
    ("network_traffic.sip.from.uri.scheme", "keyword", "URI scheme of the From header."),
    ("network_traffic.sip.from.uri.username", "keyword", "URI user of the From header."),
    ("network_traffic.sip.from.uri.host", "keyword", "URI host of the From header."),
    ("network_traffic.sip.from.uri.port", "long", "URI port of the From header."),
    ("network_traffic.sip.to.display_info", "keyword", "Display name of the To header."),
    ("network_traffic.sip.to.tag", "keyword", "Tag parameter of the To header."),
    ("network_traffic.sip.to.uri.original", "keyword", "URI of the To header."),
    ("network_traffic.sip.to.uri.scheme", "keyword", "URI scheme of the To header."),
    ("network_traffic.sip.to.uri.username", "keyword", "URI user of the To header."),
    ("network_traffic.sip.to.uri.host", "keyword", "URI host of the To header."),
    ("network_traffic.sip.to.uri.port", "long", "URI port of the To header."),
    ("network_traffic.sip.contact.display_info", "keyword", "Display name of the first Contact header."),
    ("network_traffic.sip.contact.tag", "keyword", "Tag parameter of the first Contact header."),
    ("network_traffic.sip.contact.uri.original", "keyword", "URI of the first Contact header."),
    ("network_traffic.sip.contact.uri.scheme", "keyword", "URI scheme of the first Contact header."),
    ("network_traffic.sip.contact.uri.username", "keyword", "URI user of the first Contact header."),
    ("network_traffic.sip.contact.uri.host", "keyword", "URI host of the first Contact header."),
    ("network_traffic.sip.contact.uri.port", "long", "URI port of the first Contact header."),
    ("network_traffic.sip.type", "keyword", "request (unanswered) or response (the event has one)."),
    ("network_traffic.sip.method", "keyword", "Request method (INVITE, REGISTER, …)."),
    ("network_traffic.sip.uri.original", "keyword", "Request URI."),
    ("network_traffic.sip.uri.scheme", "keyword", "Request URI scheme."),
    ("network_traffic.sip.uri.username", "keyword", "Request URI user."),
    ("network_traffic.sip.uri.host", "keyword", "Request URI host."),
    ("network_traffic.sip.uri.port", "long", "Request URI port."),
    ("network_traffic.sip.version", "keyword", "SIP version (2.0)."),
    ("network_traffic.sip.code", "long", "Status code of the final response."),
    ("network_traffic.sip.status", "keyword", "Reason phrase of the final response."),
    ("network_traffic.sip.provisional_codes", "long", "Provisional (1xx) status codes seen before the final response."),
    ("network_traffic.sip.call_id", "keyword", "Call-ID."),
    ("network_traffic.sip.cseq.code", "long", "CSeq sequence number."),
    ("network_traffic.sip.cseq.method", "keyword", "CSeq method."),
    ("network_traffic.sip.via.original", "keyword", "Via header values, in order (bounded)."),
    ("network_traffic.sip.user_agent.original", "keyword", "User-Agent of the request."),
    ("network_traffic.sip.server", "keyword", "Server header of the response."),
    ("network_traffic.sip.max_forwards", "long", "Max-Forwards of the request."),
    ("network_traffic.sip.content_length", "long", "Content-Length of the request."),
    ("network_traffic.sip.content_type", "keyword", "Content-Type of the request."),
    ("network_traffic.sip.auth.scheme", "keyword", "Authorization scheme (Digest)."),
    ("network_traffic.sip.auth.realm", "keyword", "Authorization realm."),
    ("network_traffic.sip.auth.username", "keyword", "Authorization user name."),
    ("network_traffic.sip.auth.uri.original", "keyword", "Authorization URI."),
    ("network_traffic.sip.auth.uri.scheme", "keyword", "Authorization URI scheme."),
    ("network_traffic.sip.auth.uri.username", "keyword", "Authorization URI user."),
    ("network_traffic.sip.auth.uri.host", "keyword", "Authorization URI host."),
    ("network_traffic.sip.auth.uri.port", "long", "Authorization URI port."),
    ("network_traffic.sip.sdp.version", "keyword", "SDP v= line."),
    ("network_traffic.sip.sdp.owner.username", "keyword", "SDP o= user name."),
    ("network_traffic.sip.sdp.owner.session_id", "keyword", "SDP o= session id."),
    ("network_traffic.sip.sdp.owner.version", "keyword", "SDP o= session version."),
    ("network_traffic.sip.sdp.owner.ip", "keyword", "SDP o= address."),
    ("network_traffic.sip.sdp.session.name", "keyword", "SDP s= line."),
    ("network_traffic.sip.sdp.connection.info", "keyword", "SDP c= line."),
    ("network_traffic.sip.sdp.connection.address", "keyword", "SDP c= address."),
    ("network_traffic.sip.sdp.media", "keyword", "SDP m= lines (bounded)."),
    ("network_traffic.sip.sdp.body.original", "keyword", "SDP body (bounded)."),
    ("network_traffic.sip.retransmissions", "long", "Copies of the request seen again (UDP retransmissions)."),
];
