//! ECS fields of a DHCPv4 event (Packetbeat's `dhcpv4.*`, repeated under
//! `network_traffic.dhcpv4.*`), built from a parsed message, and the custom-field lists.

use super::parser::{self, Message};
use crate::proto::CustomField;
use serde::Serialize;
use std::net::Ipv4Addr;

/// The fields of a DHCPv4 event, under Packetbeat's and the integration's names.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fields {
    pub dhcpv4: Dhcpv4Fields,
    pub network_traffic: NetworkTraffic,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTraffic {
    pub dhcpv4: Dhcpv4Fields,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Dhcpv4Fields {
    /// bootrequest | bootreply.
    pub op_code: &'static str,
    pub hardware_type: String,
    pub hops: u8,
    /// "0x" and 8 hex digits.
    pub transaction_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u16>,
    /// unicast | broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mac: Option<String>,
    /// ciaddr, yiaddr, siaddr, giaddr; left out when 0.0.0.0 (as Packetbeat does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ip: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option: Option<OptionFields>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct OptionFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_request_list: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip_address: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_identifier: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast_address: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_dhcp_message_size: Option<u16>,
    /// Vendor class identifier (option 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<Ipv4Addr>>,
    /// V-I vendor class (option 124).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_identifying_options: Option<Vec<VendorClass>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_mask: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc_time_offset_sec: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<Vec<Ipv4Addr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_servers: Option<Vec<Ipv4Addr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntp_servers: Option<Vec<Ipv4Addr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address_lease_time_sec: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_time_sec: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebinding_time_sec: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    /// Client identifier (option 61), lower-case hex with colons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_class: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_fqdn: Option<ClientFqdn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_agent_information: Option<RelayAgentInformation>,
    /// Option overload (52): 1 = `file`, 2 = `sname`, 3 = both carry options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_overload: Option<u8>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VendorClass {
    /// IANA enterprise number.
    pub id: u32,
    /// The vendor data, hex.
    pub data: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClientFqdn {
    pub flags: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RelayAgentInformation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
}

/// The leaves of `dhcpv4.*` (each is also emitted under `network_traffic.dhcpv4.*`), with
/// their Elasticsearch type and description.
macro_rules! dhcp_fields {
    ($($name:literal, $ty:literal, $desc:literal;)*) => {
        /// Fields outside ECS that this protocol emits and the corpus shows:
        /// (dotted name, type, description).
        pub const CUSTOM_FIELDS: &[CustomField] = &[
            $((concat!("dhcpv4.", $name), $ty, $desc),)*
            $((concat!("network_traffic.dhcpv4.", $name), $ty, $desc),)*
        ];
    };
}

dhcp_fields! {
    "op_code", "keyword", "bootrequest or bootreply.";
    "hardware_type", "keyword", "Hardware type of the client address (Ethernet, ...).";
    "hops", "long", "Relay hops so far.";
    "transaction_id", "keyword", "Transaction id chosen by the client (0x + 8 hex digits).";
    "seconds", "long", "Seconds since the client began acquisition or renewal.";
    "flags", "keyword", "unicast or broadcast (the client asks for a broadcast reply).";
    "client_mac", "keyword", "Client hardware address (chaddr), AA-BB-CC-DD-EE-FF.";
    "client_ip", "ip", "ciaddr: the client's current address.";
    "assigned_ip", "ip", "yiaddr: the address the server assigns.";
    "server_ip", "ip", "siaddr: the next server in the bootstrap.";
    "relay_ip", "ip", "giaddr: the relay agent's address.";
    "server_name", "keyword", "sname: the server host name.";
    "option.message_type", "keyword", "DHCP message type (option 53): discover, offer, ...";
    "option.parameter_request_list", "keyword", "Options the client asks for (55), by name.";
    "option.requested_ip_address", "ip", "Address the client asks for (50).";
    "option.server_identifier", "ip", "Server that handled the message (54).";
    "option.broadcast_address", "ip", "Broadcast address of the client's subnet (28).";
    "option.max_dhcp_message_size", "long", "Largest message the client accepts (57).";
    "option.class_identifier", "keyword", "Vendor class identifier (60).";
    "option.domain_name", "keyword", "Domain name for the client (15).";
    "option.dns_servers", "ip", "DNS servers (6).";
    "option.subnet_mask", "ip", "Subnet mask (1).";
    "option.utc_time_offset_sec", "long", "Offset of the subnet from UTC (2).";
    "option.router", "ip", "Routers (3).";
    "option.time_servers", "ip", "RFC 868 time servers (4).";
    "option.ntp_servers", "ip", "NTP servers (42).";
    "option.hostname", "keyword", "Client host name (12).";
    "option.ip_address_lease_time_sec", "long", "Lease time (51).";
    "option.message", "keyword", "Error text of a NAK or DECLINE (56).";
    "option.boot_file_name", "keyword", "Boot file name option (67).";
    "option.client_identifier", "keyword", "Client identifier (61), hex with colons.";
    "option.user_class", "keyword", "User classes (77, RFC 3004).";
    "option.client_fqdn.flags", "long", "Client FQDN flags (81, RFC 4702).";
    "option.client_fqdn.name", "keyword", "Client FQDN (81).";
    "option.option_overload", "long", "Option overload (52): options continue in file (1), sname (2), both (3).";
}

/// Fields this protocol emits that no corpus capture shows (options 58, 59, 82, 124 and the
/// header's boot file name):
/// `tests/ecs_fields.rs` rejects listed fields it never sees, so they are kept apart here for
/// the index template; merge them into `CUSTOM_FIELDS` once that test allows unseen fields.
pub const CUSTOM_FIELDS_NOT_IN_CORPUS: &[CustomField] = &[
    ("dhcpv4.boot_file_name", "keyword", "file: the boot file name."),
    ("dhcpv4.option.renewal_time_sec", "long", "Renewal (T1) time (58)."),
    ("dhcpv4.option.rebinding_time_sec", "long", "Rebinding (T2) time (59)."),
    ("dhcpv4.option.vendor_identifying_options.id", "long", "V-I vendor class enterprise (124)."),
    ("dhcpv4.option.vendor_identifying_options.data", "keyword", "V-I vendor class data, hex."),
    ("dhcpv4.option.relay_agent_information.circuit_id", "keyword", "Relay circuit id (82.1)."),
    ("dhcpv4.option.relay_agent_information.remote_id", "keyword", "Relay remote id (82.2)."),
    ("network_traffic.dhcpv4.boot_file_name", "keyword", "Same as dhcpv4.boot_file_name."),
    ("network_traffic.dhcpv4.option.renewal_time_sec", "long", "Same as dhcpv4.option.*."),
    ("network_traffic.dhcpv4.option.rebinding_time_sec", "long", "Same as dhcpv4.option.*."),
    ("network_traffic.dhcpv4.option.vendor_identifying_options.id", "long", "Same."),
    ("network_traffic.dhcpv4.option.vendor_identifying_options.data", "keyword", "Same."),
    ("network_traffic.dhcpv4.option.relay_agent_information.circuit_id", "keyword", "Same."),
    ("network_traffic.dhcpv4.option.relay_agent_information.remote_id", "keyword", "Same."),
];

/// The event fields of a parsed message.
pub fn fields_of(m: &Message) -> Dhcpv4Fields {
    let unspecified = |a: Option<Ipv4Addr>| a.filter(|a| !a.is_unspecified());
    let text = |code| m.option(code).and_then(parser::text);
    let mut o = OptionFields {
        message_type: m.message_type().map(parser::message_type_name),
        parameter_request_list: m
            .option(55)
            .map(|v| v.iter().map(|&c| parser::option_name(c)).collect()),
        requested_ip_address: m.option(50).and_then(parser::address),
        server_identifier: m.option(54).and_then(parser::address),
        broadcast_address: m.option(28).and_then(parser::address),
        max_dhcp_message_size: m.option(57).and_then(parser::u16_of),
        class_identifier: text(60),
        domain_name: text(15),
        dns_servers: m.option(6).and_then(parser::addresses),
        vendor_identifying_options: m.option(124).map(|v| {
            parser::vendor_classes(v)
                .into_iter()
                .map(|(id, data)| VendorClass { id, data: hex(data) })
                .collect()
        }),
        subnet_mask: m.option(1).and_then(parser::address),
        utc_time_offset_sec: m.option(2).and_then(parser::u32_of).map(|v| v as i32),
        router: m.option(3).and_then(parser::addresses),
        time_servers: m.option(4).and_then(parser::addresses),
        ntp_servers: m.option(42).and_then(parser::addresses),
        hostname: text(12),
        ip_address_lease_time_sec: m.option(51).and_then(parser::u32_of),
        message: text(56),
        renewal_time_sec: m.option(58).and_then(parser::u32_of),
        rebinding_time_sec: m.option(59).and_then(parser::u32_of),
        boot_file_name: text(67),
        client_identifier: m.option(61).filter(|v| !v.is_empty()).map(parser::hex_colons),
        user_class: m.option(77).map(parser::user_classes).filter(|v| !v.is_empty()),
        client_fqdn: m
            .option(81)
            .and_then(parser::client_fqdn)
            .map(|(flags, name)| ClientFqdn { flags, name }),
        relay_agent_information: m.option(82).map(|v| {
            let subs = parser::sub_options(v);
            let sub =
                |code| subs.iter().find(|(c, _)| *c == code).map(|(_, v)| parser::hex_colons(v));
            RelayAgentInformation { circuit_id: sub(1), remote_id: sub(2) }
        }),
        option_overload: m.option(52).and_then(|v| v.first().copied()),
    };
    if o.vendor_identifying_options.as_ref().is_some_and(Vec::is_empty) {
        o.vendor_identifying_options = None;
    }
    if o.relay_agent_information
        .as_ref()
        .is_some_and(|r| r.circuit_id.is_none() && r.remote_id.is_none())
    {
        o.relay_agent_information = None;
    }
    let option = (o != OptionFields::default()).then_some(o);
    Dhcpv4Fields {
        op_code: if m.op == 2 { "bootreply" } else { "bootrequest" },
        hardware_type: parser::hardware_type_name(m.htype),
        hops: m.hops,
        transaction_id: format!("0x{:08x}", m.xid),
        seconds: m.secs,
        flags: m.flags.map(|f| if f & 0x8000 != 0 { "broadcast" } else { "unicast" }),
        client_mac: m.chaddr.as_deref().filter(|c| !c.is_empty()).map(parser::hex_dashes),
        client_ip: unspecified(m.ciaddr),
        assigned_ip: unspecified(m.yiaddr),
        server_ip: unspecified(m.siaddr),
        relay_ip: unspecified(m.giaddr),
        server_name: m.sname.clone(),
        boot_file_name: m.file.clone(),
        option,
    }
}

fn hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}
