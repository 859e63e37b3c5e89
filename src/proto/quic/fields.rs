//! ECS fields of a QUIC connection: `tls.*` from the ClientHello and ServerHello carried in the
//! Initial packets (the TLS parser's field types, with `tls.client.ja4` in its QUIC form), and
//! `network_traffic.quic.*`.

use crate::proto::tls::hello::{ClientHello, Extensions, ServerHello};
use crate::proto::tls::{
    client_hello_detail, fingerprint, names, ClientFields, Detailed, HelloExtensions,
    ServerFields, ServerHelloDetail, TlsFields,
};
use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub tls: TlsFields,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub quic: QuicFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct QuicFields {
    /// Version of the client's Initial, e.g. "0x00000001".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The client's first Destination Connection ID (hex): the connection's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dcid: Option<String>,
    /// The client's Source Connection ID (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scid: Option<String>,
    /// The server's Source Connection ID (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_scid: Option<String>,
    pub packets: Packets,
    /// The server answered with a Retry.
    pub retry: bool,
    /// Versions a Version Negotiation packet offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_negotiation: Option<VersionNegotiation>,
    /// CONNECTION_CLOSE seen in an Initial or Handshake packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_close: Option<ConnectionClose>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Packets {
    pub initial: u64,
    pub zero_rtt: u64,
    pub handshake: u64,
    pub retry: u64,
    pub version_negotiation: u64,
    pub short: u64,
    /// Initial packets that could not be decrypted.
    pub undecryptable: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VersionNegotiation {
    pub offered_versions: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ConnectionClose {
    pub source: &'static str,
    pub error_code: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

pub fn version_hex(v: u32) -> String {
    format!("0x{v:08x}")
}

fn unparsed(types: &[u16], known: &[u16]) -> Vec<String> {
    types
        .iter()
        .filter(|t| !known.contains(t) && !names::is_grease(**t))
        .map(|t| names::extension_name(*t))
        .collect()
}

fn alpn(e: &Extensions) -> Vec<String> {
    e.alpn.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect()
}

/// The JA4 of a ClientHello carried by QUIC ("q" transport).
pub fn ja4(ch: &ClientHello) -> Option<String> {
    fingerprint::ja4_with(ch, fingerprint::Ja4Options { original: false, raw: false, quic: true })
}

/// `tls.*` as the TLS parser fills them, from the hellos of the Initial packets.
pub fn tls_fields(
    ch: Option<&ClientHello>,
    sh: Option<&ServerHello>,
    established: bool,
) -> TlsFields {
    let hexs = |b: &[u8]| (!b.is_empty()).then(|| b.iter().map(|x| format!("{x:02x}")).collect());
    let negotiated = sh.map(ServerHello::negotiated);
    let ecs_version = negotiated.and_then(names::ecs_version);
    let mut detailed = Detailed { version: negotiated.map(names::version_name), ..Detailed::default() };
    let client = ch.map(|ch| {
        let ja3 = fingerprint::ja3_string(ch);
        detailed.ja3_string.clone_from(&ja3);
        let mut anomalies: Vec<String> = ch.anomalies.iter().map(|a| (*a).to_owned()).collect();
        anomalies.extend(ch.ext.anomalies.iter().map(|a| (*a).to_owned()));
        detailed.anomalies = anomalies;
        detailed.client_hello = Some(client_hello_detail(ch));
        ClientFields {
            server_name: ch.ext.server_names.first().cloned(),
            ja3: ja3.as_deref().map(fingerprint::md5_hex),
            ja4: ja4(ch),
            supported_ciphers: ch
                .ciphers
                .iter()
                .filter(|c| !names::is_grease(**c))
                .map(|c| names::cipher_name(*c))
                .collect(),
            ..ClientFields::default()
        }
    });
    let server = sh.map(|sh| {
        let ja3s = fingerprint::ja3s_string(sh);
        let known = [16u16, 11, 35, 43, 51];
        detailed.server_hello = Some(ServerHelloDetail {
            version: names::hello_version(sh.version),
            selected_cipher: names::cipher_name(sh.cipher),
            selected_compression_method: sh.compression.map(names::compression_name),
            session_id: hexs(&sh.session_id),
            extensions: HelloExtensions {
                application_layer_protocol_negotiation: alpn(&sh.ext),
                supported_versions: sh
                    .ext
                    .supported_versions
                    .iter()
                    .map(|v| names::version_name(*v))
                    .collect(),
                key_share: sh.ext.key_share.iter().map(|g| names::group_name(*g)).collect(),
                unparsed: unparsed(&sh.ext.types, &known),
                ..HelloExtensions::default()
            },
        });
        let f = ServerFields { ja3s: Some(fingerprint::md5_hex(&ja3s)), ..ServerFields::default() };
        detailed.ja3s_string = Some(ja3s);
        f
    });
    TlsFields {
        version: ecs_version.map(|v| v.0),
        version_protocol: Some("tls"),
        cipher: sh.map(|s| names::cipher_name(s.cipher)),
        curve: sh.and_then(|s| s.ext.key_share.first().copied()).map(names::group_name),
        established,
        resumed: sh.is_some_and(|s| s.ext.pre_shared_key),
        next_protocol: sh
            .and_then(|s| s.ext.alpn.first())
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        client,
        server,
        detailed,
    }
}

/// Fields outside ECS that this protocol emits (the `tls.*` ones are declared by TLS).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.quic.version", "keyword", "QUIC version of the client's Initial (hex)."),
    ("network_traffic.quic.dcid", "keyword", "The client's first Destination Connection ID."),
    ("network_traffic.quic.scid", "keyword", "The client's Source Connection ID (hex)."),
    ("network_traffic.quic.server_scid", "keyword", "The server's Source Connection ID (hex)."),
    ("network_traffic.quic.packets.initial", "long", "Initial packets (both sides)."),
    ("network_traffic.quic.packets.zero_rtt", "long", "0-RTT packets."),
    ("network_traffic.quic.packets.handshake", "long", "Handshake packets (both sides)."),
    ("network_traffic.quic.packets.retry", "long", "Retry packets."),
    ("network_traffic.quic.packets.version_negotiation", "long", "Version Negotiation packets."),
    ("network_traffic.quic.packets.short", "long", "Short-header (1-RTT) packets."),
    ("network_traffic.quic.packets.undecryptable", "long", "Initials that failed to decrypt."),
    ("network_traffic.quic.retry", "boolean", "The server sent a Retry."),
    (
        "network_traffic.quic.version_negotiation.offered_versions",
        "keyword",
        "Versions the server offered in Version Negotiation (hex).",
    ),
    ("network_traffic.quic.connection_close.source", "keyword", "client or server."),
    ("network_traffic.quic.connection_close.error_code", "long", "CONNECTION_CLOSE error code."),
    ("network_traffic.quic.connection_close.reason", "keyword", "CONNECTION_CLOSE reason phrase."),
];
