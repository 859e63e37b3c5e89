//! Fields wirebeat emits that ECS does not define, with the type the index template maps.
//! Every other emitted field must exist in ECS (`ecs_flat.yml`) with a matching type; the
//! test `tests/ecs_fields.rs` checks both over the whole corpus.

/// (dotted name, Elasticsearch type, description).
pub const CUSTOM_FIELDS: &[(&str, &str, &str)] = &[
    ("type", "keyword", "Packetbeat document type (flow, dns, http, …)."),
    ("flow.id", "keyword", "Id shared by every report of one flow."),
    ("flow.final", "boolean", "True on the last report of a flow."),
    ("flow.vlan", "long", "Outer VLAN id of the flow (Packetbeat field)."),
    ("network_traffic.flow.tcp_flags", "keyword", "TCP flags seen in either direction."),
    ("network_traffic.flow.state", "keyword", "TCP state as seen by the sensor."),
    ("network_traffic.flow.end_reason", "keyword", "Why the final report was made."),
    ("network_traffic.flow.truncated_packets", "long", "Packets cut short by the snaplen."),
    ("network_traffic.flow.reassembled_packets", "long", "IP datagrams rebuilt from fragments."),
    (
        "network_traffic.flow.initiator_guessed",
        "boolean",
        "TCP flow whose handshake was not seen: source is the first sender.",
    ),
    ("network_traffic.tunnel.type", "keyword", "Outermost encapsulation (vxlan, gre, …)."),
    ("network_traffic.tunnel.id", "long", "VNI, GRE key, TEID or ERSPAN session id."),
    ("network_traffic.tunnel.source.ip", "ip", "Outer source address."),
    ("network_traffic.tunnel.destination.ip", "ip", "Outer destination address."),
];

/// Every custom field: the flow fields above and each protocol's own list.
pub fn custom_fields() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut all = CUSTOM_FIELDS.to_vec();
    all.extend(crate::proto::custom_fields());
    all.extend_from_slice(TXN_FIELDS);
    all.extend_from_slice(OUTPUT_FIELDS);
    all.extend_from_slice(ALERT_FIELDS);
    all
}

/// Fields outside ECS on alert events (`crate::detect`): (dotted name, type, description).
pub const ALERT_FIELDS: &[(&str, &str, &str)] = &[
    (
        "wirebeat.alert.count",
        "long",
        "Occurrences this alert stands for: 1, or more when repeats of the same rule, source \
         and target within wirebeat.detect.suppress_window were merged into it.",
    ),
    (
        "wirebeat.alert.facts",
        "object",
        "What the detector measured (counts, ratios, thresholds), one key per fact.",
    ),
    (
        "wirebeat.alert.evidence.path",
        "keyword",
        "Capture file (pcap) with the packets of the flows behind the alert.",
    ),
];

/// Fields of every transaction event.
pub const TXN_FIELDS: &[(&str, &str, &str)] =
    &[("status", "keyword", "Packetbeat transaction status (OK, Error, …).")];

/// Fields an output may add.
pub const OUTPUT_FIELDS: &[(&str, &str, &str)] = &[(
    "wirebeat.original_bytes",
    "long",
    "Size of an event trimmed to fit the output's max_message_bytes.",
)];
