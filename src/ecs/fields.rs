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
    (
        "network_traffic.flow.gap_bytes.source",
        "long",
        "Bytes of the source's TCP stream the capture missed (holes given up), when any.",
    ),
    (
        "network_traffic.flow.gap_bytes.destination",
        "long",
        "Bytes of the destination's TCP stream the capture missed (holes given up), when any.",
    ),
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
    all.push(NAMESPACED_STATUS_FIELD);
    // `network_traffic.<dataset>.{method,query,resource}` of the namespaced protocols present.
    // A protocol that declares one of them itself (with its own type) keeps its declaration.
    let declared: std::collections::HashSet<&str> = all.iter().map(|(n, _, _)| *n).collect();
    let namespaced: Vec<_> = NAMESPACED_TXN_FIELDS
        .iter()
        .copied()
        .filter(|(name, _, _)| !declared.contains(name))
        .collect();
    all.extend(namespaced.into_iter().filter(|(name, _, _)| {
        crate::proto::PROTOCOLS.iter().any(|p| {
            p.in_content
                && crate::proto::SERVICE_PROTOCOLS.contains(&p.name)
                && p.dataset.strip_prefix("network_traffic.").is_some_and(|d| {
                    name.strip_prefix("network_traffic.")
                        .and_then(|rest| rest.strip_prefix(d))
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        })
    }));
    all.extend_from_slice(OUTPUT_FIELDS);
    all.extend_from_slice(ALERT_FIELDS);
    all.extend_from_slice(FLOW_STATS_FIELDS);
    all.extend_from_slice(FLOW_STATS_FLAG_FIELDS);
    all
}

/// The five fields of one summary under `network_traffic.flow.stats.<name>`.
macro_rules! summaries {
    ($([$name:literal, $what:literal, $unit:literal]),* $(,)?) => {
        &[$(
            (concat!("network_traffic.flow.stats.", $name, ".count"), "long",
             concat!("Samples of ", $what, ".")),
            (concat!("network_traffic.flow.stats.", $name, ".min"), "long",
             concat!("Smallest ", $what, " (", $unit, ").")),
            (concat!("network_traffic.flow.stats.", $name, ".max"), "long",
             concat!("Largest ", $what, " (", $unit, ").")),
            (concat!("network_traffic.flow.stats.", $name, ".mean"), "double",
             concat!("Mean ", $what, " (", $unit, ").")),
            (concat!("network_traffic.flow.stats.", $name, ".std"), "double",
             concat!("Sample standard deviation of ", $what, " (", $unit, "); 0 under two.")),
        )*]
    };
}

/// `wirebeat.flows.statistics` (`crate::flow::stats`): on final flow reports only.
pub const FLOW_STATS_FIELDS: &[(&str, &str, &str)] = summaries![
    ["forward.packet_length", "packet length from the source (wire bytes)", "bytes"],
    ["forward.iat", "inter-arrival time of the source's packets", "ns"],
    ["backward.packet_length", "packet length from the destination (wire bytes)", "bytes"],
    ["backward.iat", "inter-arrival time of the destination's packets", "ns"],
    ["both.packet_length", "packet length in both directions (wire bytes)", "bytes"],
    ["both.iat", "inter-arrival time of the flow's packets in both directions", "ns"],
    ["active", "active period (packets less than flows.activity_timeout apart)", "ns"],
    ["idle", "idle period (gap over flows.activity_timeout)", "ns"],
];

/// TCP flag counts of `wirebeat.flows.statistics`.
pub const FLOW_STATS_FLAG_FIELDS: &[(&str, &str, &str)] = &[
    ("network_traffic.flow.stats.tcp_flags.syn", "long", "TCP packets with SYN, both ways."),
    ("network_traffic.flow.stats.tcp_flags.fin", "long", "TCP packets with FIN, both ways."),
    ("network_traffic.flow.stats.tcp_flags.rst", "long", "TCP packets with RST, both ways."),
    ("network_traffic.flow.stats.tcp_flags.psh", "long", "TCP packets with PSH, both ways."),
    ("network_traffic.flow.stats.tcp_flags.urg", "long", "TCP packets with URG, both ways."),
    ("network_traffic.flow.stats.tcp_flags.ack", "long", "TCP packets with ACK, both ways."),
    ("network_traffic.flow.stats.tcp_flags.ece", "long", "TCP packets with ECE, both ways."),
    ("network_traffic.flow.stats.tcp_flags.cwr", "long", "TCP packets with CWR, both ways."),
];

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
pub const TXN_FIELDS: &[(&str, &str, &str)] = &[
    ("status", "keyword", "Packetbeat transaction status (OK, Error, …)."),
    ("method", "keyword", "Packetbeat's request verb: GET, QUERY, SELECT, SET, …"),
    ("query", "keyword", "Packetbeat's request as read by a person: GET /path, the SQL text, …"),
    ("resource", "keyword", "Packetbeat's request target: URL path, DNS name, key, table."),
];

/// `method`, `query` and `resource` under `network_traffic.<dataset>` (see
/// [`crate::proto::SERVICE_PROTOCOLS`]); only those of registered protocols are mapped.
macro_rules! namespaced {
    ($($d:literal),* $(,)?) => {
        &[$(
            (concat!("network_traffic.", $d, ".method"), "keyword",
             "Packetbeat's method (the request verb), as the Elastic Agent integration places it."),
            (concat!("network_traffic.", $d, ".query"), "keyword",
             "Packetbeat's query (the request as read by a person), as the integration places it."),
            (concat!("network_traffic.", $d, ".resource"), "keyword",
             "Packetbeat's resource (the request target), as the integration places it."),
        )*]
    };
}

/// Packetbeat's `status` as the integration places it, on the service protocols' events.
pub const NAMESPACED_STATUS_FIELD: (&str, &str, &str) = (
    "network_traffic.status",
    "keyword",
    "Packetbeat's transaction status (OK, Error), as the Elastic Agent integration places it.",
);

pub const NAMESPACED_TXN_FIELDS: &[(&str, &str, &str)] = namespaced![
    "mysql",
    "pgsql",
    "redis",
    "memcached",
    "mongodb",
    "cassandra",
    "amqp",
    "thrift",
    "nfs",
    "sip"
];

/// Fields an output may add.
pub const OUTPUT_FIELDS: &[(&str, &str, &str)] = &[(
    "wirebeat.original_bytes",
    "long",
    "Size of an event trimmed to fit the output's max_message_bytes.",
)];
