//! ECS fields of an NFS transaction and the custom-field list.
//!
//! Layout: the Elastic Agent "Network Packet Capture" integration's. Its NFS pipeline renames
//! Packetbeat's top-level `nfs` to `network_traffic.nfs` and `rpc` to `network_traffic.nfs.rpc`,
//! so the ONC RPC fields sit under `network_traffic.nfs.rpc.*` (the prebuilt rule
//! `collection_nfs_auth_sys_root_uid_access` reads `network_traffic.nfs.rpc.cred.uid`).
//! The AUTH_UNIX uid and gid are also ECS `user.id` and `group.id` (as Packetbeat's pipeline
//! does); a file name seen in the arguments is ECS `file.name`.

use crate::proto::CustomField;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Id {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct File {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub nfs: NfsFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct NfsFields {
    pub version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor_version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub opcode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    pub rpc: RpcFields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RpcFields {
    /// Hex, as Packetbeat writes it.
    pub xid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub auth_flavor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cred: Option<Cred>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
    pub stamp: u32,
    pub machinename: String,
}

/// Fields outside ECS that this protocol emits: (dotted name, type, description).
pub const CUSTOM_FIELDS: &[CustomField] = &[
    ("network_traffic.nfs.version", "long", "NFS protocol version number."),
    ("network_traffic.nfs.minor_version", "long", "NFS protocol minor version number."),
    ("network_traffic.nfs.tag", "keyword", "NFS v4 COMPOUND operation tag."),
    (
        "network_traffic.nfs.opcode",
        "keyword",
        "NFS operation name, or main operation name of a COMPOUND call.",
    ),
    ("network_traffic.nfs.status", "keyword", "NFS reply status (NFS_OK, NFSERR_NOENT, …)."),
    ("network_traffic.nfs.operations", "keyword", "NFSv4 COMPOUND operation names in order."),
    (
        "network_traffic.nfs.failed_operation",
        "keyword",
        "NFSv4: the operation whose failure ended the COMPOUND.",
    ),
    ("network_traffic.nfs.file_handle", "keyword", "File handle of the call (hex)."),
    ("network_traffic.nfs.name", "keyword", "File name of the call (LOOKUP, CREATE, REMOVE, …)."),
    ("network_traffic.nfs.to_name", "keyword", "New name of a RENAME or LINK."),
    ("network_traffic.nfs.offset", "long", "READ, WRITE or COMMIT offset."),
    ("network_traffic.nfs.count", "long", "READ, WRITE or COMMIT byte count."),
    ("network_traffic.nfs.rpc.xid", "keyword", "RPC message transaction identifier (hex)."),
    ("network_traffic.nfs.rpc.status", "keyword", "RPC message reply status."),
    ("network_traffic.nfs.rpc.auth_flavor", "keyword", "RPC authentication flavor."),
    ("network_traffic.nfs.rpc.cred.uid", "long", "RPC caller's user id, in case of auth-unix."),
    ("network_traffic.nfs.rpc.cred.gid", "long", "RPC caller's group id, in case of auth-unix."),
    ("network_traffic.nfs.rpc.cred.gids", "long", "RPC caller's secondary group ids."),
    ("network_traffic.nfs.rpc.cred.stamp", "long", "Arbitrary ID the caller machine may generate."),
    ("network_traffic.nfs.rpc.cred.machinename", "keyword", "The name of the caller's machine."),
];
