//! Pure BOOTP/DHCPv4 parsing (RFC 951, 2131, 2132, 3396): the fixed 236-byte header, the magic
//! cookie, and the options (pad, end, option overload into `file`/`sname`, long options split
//! over several instances). Bytes in, a [`Message`] out; nothing here keeps state or panics.
//!
//! [`parse`] is strict and answers `Incomplete` for any prefix of a message (header not all
//! there, an option running past the end, no end option yet). [`parse_datagram`] is what the
//! flow layer needs: a UDP datagram is all there is, so what `parse` would wait for becomes an
//! anomaly note on a message that is still reported.

use crate::bytes::{ParseError, View};
use std::net::Ipv4Addr;

/// op, htype, hlen, hops, xid, secs, flags, 4 addresses, chaddr, sname, file.
pub const HEADER_LEN: usize = 236;
/// The DHCP magic cookie (99.130.83.99) after the BOOTP header.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
const SNAME: std::ops::Range<usize> = 44..108;
const FILE: std::ops::Range<usize> = 108..236;

/// A parsed BOOTP/DHCP message. Fields beyond the end of a cut datagram are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub hops: u8,
    pub xid: u32,
    pub secs: Option<u16>,
    pub flags: Option<u16>,
    pub ciaddr: Option<Ipv4Addr>,
    pub yiaddr: Option<Ipv4Addr>,
    pub siaddr: Option<Ipv4Addr>,
    pub giaddr: Option<Ipv4Addr>,
    /// Client hardware address: the first `hlen` bytes (at most 16) of chaddr.
    pub chaddr: Option<Vec<u8>>,
    /// Server host name and boot file name, unless option overload uses them for options.
    pub sname: Option<String>,
    pub file: Option<String>,
    /// The magic cookie was present and right: the options are DHCP options.
    pub cookie_ok: bool,
    /// Options in wire order; several instances of one code are concatenated (RFC 3396).
    pub options: Vec<(u8, Vec<u8>)>,
    /// Anomalies (become `event.reason` notes).
    pub notes: Vec<&'static str>,
}

impl Message {
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice())
    }

    /// Option 53, the DHCP message type.
    pub fn message_type(&self) -> Option<u8> {
        self.option(53).and_then(|v| v.first().copied())
    }
}

/// Strict parse of a whole message; `Incomplete` for any prefix of one.
pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
    parse_inner(buf, false)
}

/// Parse of a UDP datagram, which is complete by definition: a missing end option or an
/// option cut short is noted, and a datagram cut inside the fixed header (snaplen) is reported
/// with what it has, down to op..xid. Shorter ones are `Malformed`.
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    parse_inner(buf, true)
}

fn parse_inner(buf: &[u8], whole: bool) -> Result<Message, ParseError> {
    let b = View(buf);
    let (Some(op), Some(htype), Some(hlen), Some(hops), Some(xid)) =
        (b.u8(0), b.u8(1), b.u8(2), b.u8(3), b.u32(4))
    else {
        return Err(if whole {
            ParseError::Malformed("datagram shorter than the BOOTP transaction id")
        } else {
            ParseError::Incomplete
        });
    };
    if op != 1 && op != 2 {
        return Err(ParseError::Malformed("op code is neither BOOTREQUEST nor BOOTREPLY"));
    }
    if buf.len() < HEADER_LEN && !whole {
        return Err(ParseError::Incomplete);
    }
    let ip = |at: usize| b.array::<4>(at).map(Ipv4Addr::from);
    let mut m = Message {
        op,
        htype,
        hlen,
        hops,
        xid,
        secs: b.u16(8),
        flags: b.u16(10),
        ciaddr: ip(12),
        yiaddr: ip(16),
        siaddr: ip(20),
        giaddr: ip(24),
        ..Message::default()
    };
    if hlen > 16 {
        m.notes.push("hardware address length above 16");
    }
    let hw_len = usize::from(hlen.min(16));
    m.chaddr = buf.get(28..28 + hw_len).map(<[u8]>::to_vec);
    if buf.len() < HEADER_LEN {
        // Only reached for a whole datagram (the strict parse returned `Incomplete` above).
        m.notes.push("datagram cut inside the BOOTP header");
        return Ok(m);
    }
    let sname = buf.get(SNAME).unwrap_or(&[]);
    let file = buf.get(FILE).unwrap_or(&[]);
    match buf.get(HEADER_LEN..HEADER_LEN + 4) {
        Some(c) if c == MAGIC_COOKIE => m.cookie_ok = true,
        Some(_) => m.notes.push("bad DHCP magic cookie: BOOTP fields only"),
        None if buf.len() == HEADER_LEN => {
            // Plain BOOTP without vendor area: nothing more can come.
            if !whole {
                return Err(ParseError::Incomplete);
            }
            m.notes.push("no DHCP magic cookie: BOOTP fields only");
        }
        None => {
            if !whole {
                return Err(ParseError::Incomplete);
            }
            m.notes.push("DHCP magic cookie cut short");
        }
    }
    let mut overload = 0u8;
    if m.cookie_ok {
        let area = buf.get(HEADER_LEN + 4..).unwrap_or(&[]);
        let mut opts = Options::default();
        match walk_options(area, &mut opts) {
            Walk::End => {}
            Walk::Cut if !whole => return Err(ParseError::Incomplete),
            Walk::Cut => m.notes.push("option cut short by the end of the datagram"),
            Walk::NoEnd if !whole => return Err(ParseError::Incomplete),
            Walk::NoEnd => m.notes.push("options not terminated by an end option"),
        }
        // Option overload (52): options continue in `file` (1), `sname` (2) or both (3), in
        // that order (RFC 2131 section 4.1).
        overload = opts.get(52).and_then(|v| v.first().copied()).unwrap_or(0);
        if overload > 3 {
            m.notes.push("option overload value out of range");
        }
        for (field, bit) in [(file, 1u8), (sname, 2u8)] {
            if overload & bit != 0 && overload <= 3 {
                match walk_options(field, &mut opts) {
                    Walk::End => {}
                    Walk::Cut => m.notes.push("option cut short in an overloaded field"),
                    Walk::NoEnd => m.notes.push("overloaded field without an end option"),
                }
            }
        }
        m.options = opts.list;
    }
    if overload & 2 == 0 || overload > 3 {
        m.sname = text(sname);
    }
    if overload & 1 == 0 || overload > 3 {
        m.file = text(file);
    }
    Ok(m)
}

#[derive(Default)]
struct Options {
    list: Vec<(u8, Vec<u8>)>,
}

impl Options {
    fn get(&self, code: u8) -> Option<&[u8]> {
        self.list.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice())
    }

    /// Adds an instance; a repeated code is concatenated to the first (RFC 3396).
    fn add(&mut self, code: u8, value: &[u8]) {
        match self.list.iter_mut().find(|(c, _)| *c == code) {
            Some((_, v)) => v.extend_from_slice(value),
            None => self.list.push((code, value.to_vec())),
        }
    }
}

enum Walk {
    End,
    /// An option's length runs past the area.
    Cut,
    /// The area ended without an end option.
    NoEnd,
}

/// Reads options from `area` until the end option. The list grows by at most one entry per
/// code (256) and its bytes by at most the area's length: bounded by the datagram.
fn walk_options(area: &[u8], opts: &mut Options) -> Walk {
    let mut i = 0;
    while let Some(&code) = area.get(i) {
        match code {
            0 => i += 1,
            255 => return Walk::End,
            _ => {
                let Some(&len) = area.get(i + 1) else { return Walk::Cut };
                let Some(value) = area.get(i + 2..i + 2 + usize::from(len)) else {
                    return Walk::Cut;
                };
                opts.add(code, value);
                i += 2 + usize::from(len);
            }
        }
    }
    Walk::NoEnd
}

/// A NUL-padded text field (sname, file, or a text option) as a string; `None` when empty.
pub fn text(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
    let s = String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[])).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Option values as IPv4 addresses (4 bytes each); `None` unless a whole number of them.
pub fn addresses(v: &[u8]) -> Option<Vec<Ipv4Addr>> {
    if v.is_empty() || !v.len().is_multiple_of(4) {
        return None;
    }
    Some(v.chunks_exact(4).map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3])).collect())
}

pub fn address(v: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from)
}

pub fn u32_of(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_be_bytes)
}

pub fn u16_of(v: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(v).ok().map(u16::from_be_bytes)
}

/// Upper-case, dash-separated hex (the ECS MAC format), for chaddr.
pub fn hex_dashes(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join("-")
}

/// Lower-case, colon-separated hex, for opaque identifiers (client id, relay sub-options).
pub fn hex_colons(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Packetbeat's (insomniacslk/dhcp) lower-case message type names.
pub fn message_type_name(t: u8) -> String {
    let s = match t {
        1 => "discover",
        2 => "offer",
        3 => "request",
        4 => "decline",
        5 => "ack",
        6 => "nak",
        7 => "release",
        8 => "inform",
        9 => "forcerenew",
        10 => "leasequery",
        11 => "leaseunassigned",
        12 => "leaseunknown",
        13 => "leaseactive",
        14 => "bulkleasequery",
        15 => "leasequerydone",
        16 => "activeleasequery",
        17 => "leasequerystatus",
        18 => "tls",
        _ => return format!("unknown ({t})"),
    };
    s.to_owned()
}

/// Inverse of [`message_type_name`] for the known names (used by tests and tools).
pub fn message_type_code(name: &str) -> Option<u8> {
    (1..=18).find(|&t| message_type_name(t) == name)
}

/// Option names as Packetbeat prints them in `parameter_request_list` (the IANA registry
/// names as spelled by insomniacslk/dhcp); unknown codes as "unknown (N)".
pub fn option_name(code: u8) -> String {
    let s = match code {
        0 => "Pad",
        1 => "Subnet Mask",
        2 => "Time Offset",
        3 => "Router",
        4 => "Time Server",
        5 => "Name Server",
        6 => "Domain Name Server",
        7 => "Log Server",
        8 => "Quote Server",
        9 => "LPR Server",
        10 => "Impress Server",
        11 => "Resource Location Server",
        12 => "Host Name",
        13 => "Boot File Size",
        14 => "Merit Dump File",
        15 => "Domain Name",
        16 => "Swap Server",
        17 => "Root Path",
        18 => "Extensions Path",
        19 => "IP Forwarding enable/disable",
        20 => "Non-local Source Routing enable/disable",
        21 => "Policy Filter",
        22 => "Maximum Datagram Reassembly Size",
        23 => "Default IP Time-to-live",
        24 => "Path MTU Aging Timeout",
        25 => "Path MTU Plateau Table",
        26 => "Interface MTU",
        27 => "All Subnets Are Local",
        28 => "Broadcast Address",
        29 => "Perform Mask Discovery",
        30 => "Mask Supplier",
        31 => "Perform Router Discovery",
        32 => "Router Solicitation Address",
        33 => "Static Routing Table",
        34 => "Trailer Encapsulation",
        35 => "ARP Cache Timeout",
        36 => "Ethernet Encapsulation",
        37 => "Default TCP TTL",
        38 => "TCP Keepalive Interval",
        39 => "TCP Keepalive Garbage",
        40 => "Network Information Service Domain",
        41 => "Network Information Servers",
        42 => "NTP Servers",
        43 => "Vendor Specific Information",
        44 => "NetBIOS over TCP/IP Name Server",
        45 => "NetBIOS over TCP/IP Datagram Distribution Server",
        46 => "NetBIOS over TCP/IP Node Type",
        47 => "NetBIOS over TCP/IP Scope",
        48 => "X Window System Font Server",
        49 => "X Window System Display Manager",
        50 => "Requested IP Address",
        51 => "IP Addresses Lease Time",
        52 => "Option Overload",
        53 => "DHCP Message Type",
        54 => "Server Identifier",
        55 => "Parameter Request List",
        56 => "Message",
        57 => "Maximum DHCP Message Size",
        58 => "Renew Time Value",
        59 => "Rebinding Time Value",
        60 => "Class Identifier",
        61 => "Client identifier",
        62 => "NetWare/IP Domain Name",
        63 => "NetWare/IP Information",
        64 => "Network Information Service+ Domain",
        65 => "Network Information Service+ Servers",
        66 => "TFTP Server Name",
        67 => "Bootfile Name",
        68 => "Mobile IP Home Agent",
        69 => "SMTP Server",
        70 => "POP Server",
        71 => "NNTP Server",
        72 => "Default WWW Server",
        73 => "Default Finger Server",
        74 => "Default IRC Server",
        75 => "StreetTalk Server",
        76 => "StreetTalk Directory Assistance Server",
        77 => "User Class Information",
        78 => "SLP DIrectory Agent",
        79 => "SLP Service Scope",
        80 => "Rapid Commit",
        81 => "FQDN",
        82 => "Relay Agent Information",
        83 => "Internet Storage Name Service",
        85 => "NDS Servers",
        86 => "NDS Tree Name",
        87 => "NDS Context",
        88 => "BCMCS Controller Domain Name List",
        89 => "BCMCS Controller IPv4 Address List",
        90 => "Authentication",
        91 => "Client Last Transaction Time",
        92 => "Associated IP",
        93 => "Client System Architecture Type",
        94 => "Client Network Interface Identifier",
        95 => "LDAP",
        97 => "Client Machine Identifier",
        98 => "OpenGroup's User Authentication",
        99 => "GEOCONF_CIVIC",
        100 => "IEEE 1003.1 TZ String",
        101 => "Reference to the TZ Database",
        108 => "Number of seconds that DHCPv4 should be disabled",
        109 => "DHCPv4 over DHCPv6 Softwire Source Address Option",
        112 => "NetInfo Parent Server Address",
        113 => "NetInfo Parent Server Tag",
        114 => "URL",
        116 => "Auto-Configure",
        117 => "Name Service Search",
        118 => "Subnet Selection",
        119 => "DNS Domain Search List",
        120 => "SIP Servers",
        121 => "Classless Static Route",
        122 => "CCC, CableLabs Client Configuration",
        123 => "GeoConf",
        124 => "Vendor-Identifying Vendor Class",
        125 => "Vendor-Identifying Vendor-Specific",
        128 => "TFTP Server IP Address",
        129 => "Call Server IP Address",
        130 => "Discrimination String",
        131 => "RemoteStatistics Server IP Address",
        132 => "802.1P VLAN ID",
        133 => "802.1Q L2 Priority",
        134 => "Diffserv Code Point",
        135 => "HTTP Proxy for phone-specific applications",
        150 => "TFTP Server Address",
        175 => "Etherboot",
        176 => "IP Telephone",
        208 => "PXELinux Magic String",
        209 => "PXELinux Config File",
        210 => "PXELinux Path Prefix",
        211 => "PXELinux Reboot Time",
        212 => "OPTION_6RD",
        255 => "End",
        _ => return format!("unknown ({code})"),
    };
    s.to_owned()
}

/// IANA hardware type names (RFC 1700 `ar$hrd`), as Packetbeat prints `hardware_type`.
pub fn hardware_type_name(htype: u8) -> String {
    let s = match htype {
        1 => "Ethernet",
        2 => "Experimental Ethernet",
        3 => "Amateur Radio AX.25",
        4 => "Proteon ProNET Token Ring",
        5 => "Chaos",
        6 => "IEEE 802",
        7 => "ARCNET",
        8 => "Hyperchannel",
        9 => "Lanstar",
        10 => "Autonet Short Address",
        11 => "LocalTalk",
        12 => "LocalNet",
        13 => "Ultra link",
        14 => "SMDS",
        15 => "Frame Relay",
        16 | 19 | 21 => "ATM",
        17 => "HDLC",
        18 => "Fibre Channel",
        20 => "Serial Line",
        32 => "InfiniBand",
        _ => return format!("unknown ({htype})"),
    };
    s.to_owned()
}

/// RFC 3004 user classes: a list of (length, data) instances. Some clients send one plain
/// string instead; then the whole value is that string.
pub fn user_classes(v: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&len) = v.get(i) {
        let len = usize::from(len);
        match v.get(i + 1..i + 1 + len) {
            Some(data) if len > 0 => {
                out.push(String::from_utf8_lossy(data).into_owned());
                i += 1 + len;
            }
            _ => return text(v).into_iter().collect(),
        }
    }
    out
}

/// Client FQDN (option 81, RFC 4702): flags, two deprecated rcode bytes, then the name in
/// wire format (flag E) or ASCII.
pub fn client_fqdn(v: &[u8]) -> Option<(u8, Option<String>)> {
    let flags = *v.first()?;
    let name = v.get(3..).unwrap_or(&[]);
    let name = if flags & 0x04 != 0 { dns_wire_name(name) } else { text(name) };
    Some((flags, name))
}

/// A DNS name in wire format without compression (labels up to the root or the end).
fn dns_wire_name(v: &[u8]) -> Option<String> {
    let mut labels = Vec::new();
    let mut i = 0;
    while let Some(&len) = v.get(i) {
        if len == 0 || len & 0xc0 != 0 {
            break;
        }
        let label = v.get(i + 1..i + 1 + usize::from(len))?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        i += 1 + usize::from(len);
    }
    (!labels.is_empty()).then(|| labels.join("."))
}

/// Relay agent information (option 82, RFC 3046): sub-options; returns (code, value) pairs.
pub fn sub_options(v: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while let (Some(&code), Some(&len)) = (v.get(i), v.get(i + 1)) {
        let Some(value) = v.get(i + 2..i + 2 + usize::from(len)) else { break };
        out.push((code, value));
        i += 2 + usize::from(len);
    }
    out
}

/// V-I vendor class (option 124, RFC 3925): enterprise number, data length, data.
pub fn vendor_classes(v: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    let b = View(v);
    while let (Some(id), Some(len)) = (b.u32(i), b.u8(i + 4)) {
        let Some(data) = v.get(i + 5..i + 5 + usize::from(len)) else { break };
        out.push((id, data));
        i += 5 + usize::from(len);
    }
    out
}
