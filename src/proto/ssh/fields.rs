//! Fields of an SSH connection event (`network_traffic.ssh.*`; ECS has no SSH fields), and the
//! fields outside ECS they add.

use crate::proto::CustomField;
use serde::Serialize;

/// The fields flattened into the event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fields {
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkTraffic {
    pub ssh: SshFields,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SshFields {
    #[serde(skip_serializing_if = "Side::is_empty")]
    pub client: Side,
    #[serde(skip_serializing_if = "Side::is_empty")]
    pub server: Side,
    /// The algorithms both sides agreed on (RFC 4253 7.1), once both KEXINITs were seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<Negotiated>,
    /// Salesforce HASSH of the client's KEXINIT and its algorithm string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh_algorithms: Option<String>,
    /// HASSHServer of the server's KEXINIT and its algorithm string.
    #[serde(rename = "hasshServer", skip_serializing_if = "Option::is_none")]
    pub hassh_server: Option<String>,
    #[serde(rename = "hasshServer_algorithms", skip_serializing_if = "Option::is_none")]
    pub hassh_server_algorithms: Option<String>,
    /// Both sides sent NEWKEYS: what follows is encrypted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// Authentication requests the client was seen to send (size heuristic; see the module doc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_attempts: Option<u64>,
    /// Encrypted segments each side sent after NEWKEYS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_encrypted_packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_encrypted_packets: Option<u64>,
}

/// One side's identification and offered algorithms.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Side {
    /// The identification line (`SSH-2.0-OpenSSH_8.9p1 Ubuntu-3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// Protocol version of the banner (`2.0`, `1.99`, `1.5`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Algorithms>,
}

impl Side {
    fn is_empty(&self) -> bool {
        self == &Side::default()
    }
}

/// Name-lists of one KEXINIT, each split at its commas.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Algorithms {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub cipher_c2s: Vec<String>,
    pub cipher_s2c: Vec<String>,
    pub mac_c2s: Vec<String>,
    pub mac_s2c: Vec<String>,
    pub compression_c2s: Vec<String>,
    pub compression_s2c: Vec<String>,
}

/// The negotiated algorithms; a list with no common name is left out.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Negotiated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_c2s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_s2c: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_c2s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_s2c: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_c2s: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_s2c: Option<String>,
}

macro_rules! custom_fields {
    ([$($side:literal),*], [$($extra:expr,)*]) => {
        &[$(
            (
                concat!("network_traffic.ssh.", $side, ".banner"),
                "keyword",
                concat!("Identification string of the ", $side, " without CR LF."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".version"),
                "keyword",
                concat!("SSH protocol version of the ", $side, "'s banner (2.0, 1.99, 1.5)."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".software"),
                "keyword",
                concat!("Software version of the ", $side, "'s banner (OpenSSH_8.9p1)."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".comments"),
                "keyword",
                concat!("Comments after the software version in the ", $side, "'s banner."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.kex"),
                "keyword",
                concat!("Key exchange algorithms the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.host_key"),
                "keyword",
                concat!("Host key algorithms the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.cipher_c2s"),
                "keyword",
                concat!("Client-to-server ciphers the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.cipher_s2c"),
                "keyword",
                concat!("Server-to-client ciphers the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.mac_c2s"),
                "keyword",
                concat!("Client-to-server MACs the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.mac_s2c"),
                "keyword",
                concat!("Server-to-client MACs the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.compression_c2s"),
                "keyword",
                concat!("Client-to-server compression the ", $side, " offers."),
            ),
            (
                concat!("network_traffic.ssh.", $side, ".algorithms.compression_s2c"),
                "keyword",
                concat!("Server-to-client compression the ", $side, " offers."),
            ),
        )* $($extra,)*]
    };
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] =
    custom_fields!(["client", "server"], [
    ("network_traffic.ssh.negotiated.kex", "keyword", "Negotiated key exchange algorithm."),
    ("network_traffic.ssh.negotiated.host_key", "keyword", "Negotiated host key algorithm."),
    ("network_traffic.ssh.negotiated.cipher_c2s", "keyword", "Negotiated client-to-server cipher."),
    ("network_traffic.ssh.negotiated.cipher_s2c", "keyword", "Negotiated server-to-client cipher."),
    ("network_traffic.ssh.negotiated.mac_c2s", "keyword", "Negotiated client-to-server MAC."),
    ("network_traffic.ssh.negotiated.mac_s2c", "keyword", "Negotiated server-to-client MAC."),
    (
        "network_traffic.ssh.negotiated.compression_c2s",
        "keyword",
        "Negotiated client-to-server compression.",
    ),
    (
        "network_traffic.ssh.negotiated.compression_s2c",
        "keyword",
        "Negotiated server-to-client compression.",
    ),
    (
        "network_traffic.ssh.hassh",
        "keyword",
        "HASSH (Salesforce) of the client's KEXINIT: md5 of hassh_algorithms.",
    ),
    (
        "network_traffic.ssh.hassh_algorithms",
        "keyword",
        "The client's kex;cipher;mac;compression (client to server) lists HASSH hashes.",
    ),
    (
        "network_traffic.ssh.hasshServer",
        "keyword",
        "HASSHServer of the server's KEXINIT: md5 of hasshServer_algorithms.",
    ),
    (
        "network_traffic.ssh.hasshServer_algorithms",
        "keyword",
        "The server's kex;cipher;mac;compression (server to client) lists HASSHServer hashes.",
    ),
    (
        "network_traffic.ssh.encrypted",
        "boolean",
        "Both sides sent NEWKEYS; what follows is encrypted.",
    ),
    (
        "network_traffic.ssh.auth_attempts",
        "long",
        "Authentication requests inferred from encrypted packet sizes (heuristic).",
    ),
    (
        "network_traffic.ssh.client_encrypted_packets",
        "long",
        "Encrypted segments the client sent after NEWKEYS.",
    ),
    (
        "network_traffic.ssh.server_encrypted_packets",
        "long",
        "Encrypted segments the server sent after NEWKEYS.",
    ),
]);
