//! The DNS message wire format (RFC 1035 §4, EDNS RFC 6891): a pure, bounded parser.
//!
//! [`parse`] takes one whole message (a UDP payload, or the bytes after a TCP length prefix)
//! and fails only when it is shorter than a header. Everything after the header is decoded as
//! far as the bytes allow: a message cut short, a broken name or bad RDATA becomes an
//! [`Anomaly`] on the message, never a panic and never a lost message. [`frame`] splits a TCP
//! stream into messages and tells "need more bytes" apart.
//!
//! Work is bounded: names stop at [`MAX_NAME_TEXT`] bytes and [`MAX_POINTER_JUMPS`] pointers,
//! each section keeps at most [`MAX_RECORDS_PER_SECTION`] records, and every read is checked.

use super::rdata::{self, Rendered};
use crate::bytes::{ParseError, View};

pub const HEADER_LEN: usize = 12;
/// RFC 1035 §2.3.4: a name is at most 255 bytes on the wire (length bytes included).
pub const MAX_NAME_WIRE: usize = 255;
/// A name of 255 bytes holds at most 127 labels.
pub const MAX_LABELS: usize = 127;
/// Compression pointers followed for one name; beyond this (or on revisiting a pointer target)
/// the name is flagged as a pointer loop.
pub const MAX_POINTER_JUMPS: usize = 64;
/// Decoding of a name stops once it reaches this many wire bytes (ECS keeps keywords up to 1024).
pub const MAX_NAME_TEXT: usize = 1024;
/// Records (or questions) decoded per section; more are counted in the header only.
pub const MAX_RECORDS_PER_SECTION: usize = 1024;

/// Something wrong with a message that did not stop it from being reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Anomaly {
    /// The message ends before the records its header counts.
    Truncated,
    NamePointerLoop,
    /// A compression pointer points outside the message.
    NameBadPointer,
    NameTooLong,
    NameTooManyLabels,
    /// Label type 01 or 10 (obsolete extended labels).
    NameBadLabelType,
    /// RDATA that does not fit its type; the record keeps its data as hex.
    RdataMalformed,
    /// Bytes after the last record the header counts.
    TrailingBytes,
    /// An OPT record whose options run past its RDATA.
    OptMalformed,
    OptDuplicate,
    /// OPT outside the additional section or with an owner other than the root.
    OptMisplaced,
    TooManyRecords,
}

impl Anomaly {
    /// Keyword for `dns.anomalies`.
    pub fn code(self) -> &'static str {
        match self {
            Anomaly::Truncated => "message_truncated",
            Anomaly::NamePointerLoop => "name_pointer_loop",
            Anomaly::NameBadPointer => "name_bad_pointer",
            Anomaly::NameTooLong => "name_too_long",
            Anomaly::NameTooManyLabels => "name_too_many_labels",
            Anomaly::NameBadLabelType => "name_bad_label_type",
            Anomaly::RdataMalformed => "rdata_malformed",
            Anomaly::TrailingBytes => "trailing_bytes",
            Anomaly::OptMalformed => "opt_malformed",
            Anomaly::OptDuplicate => "opt_duplicate",
            Anomaly::OptMisplaced => "opt_misplaced",
            Anomaly::TooManyRecords => "too_many_records",
        }
    }

    /// Sentence for `event.reason`.
    pub fn describe(self) -> &'static str {
        match self {
            Anomaly::Truncated => "message ends before the records its header counts",
            Anomaly::NamePointerLoop => "name compression pointers loop",
            Anomaly::NameBadPointer => "name compression pointer outside the message",
            Anomaly::NameTooLong => "name longer than 255 bytes",
            Anomaly::NameTooManyLabels => "name with more than 127 labels",
            Anomaly::NameBadLabelType => "name with an invalid label type",
            Anomaly::RdataMalformed => "record data does not match its type",
            Anomaly::TrailingBytes => "bytes after the last record",
            Anomaly::OptMalformed => "malformed EDNS OPT record",
            Anomaly::OptDuplicate => "more than one EDNS OPT record",
            Anomaly::OptMisplaced => "EDNS OPT record outside the additional section",
            Anomaly::TooManyRecords => "more records than wirebeat decodes per section",
        }
    }
}

/// Anomalies of one message, each once, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies(pub Vec<Anomaly>);

impl Anomalies {
    pub fn push(&mut self, a: Anomaly) {
        if !self.0.contains(&a) {
            self.0.push(a);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    pub fn ad(&self) -> bool {
        self.flags & 0x0020 != 0
    }
    pub fn cd(&self) -> bool {
        self.flags & 0x0010 != 0
    }
    /// The 4-bit RCODE of the header.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: Rendered,
}

/// A decoded EDNS option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdnsOption {
    /// Client subnet (option 8): "address/source-prefix/scope-prefix".
    ClientSubnet(String),
    /// Cookie (option 10): client cookie and, in responses, the server cookie (hex).
    Cookie { client: String, server: Option<String> },
    /// Any other option: its code and data (hex).
    Other { code: u16, data: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub udp_size: u16,
    /// Upper 8 bits of the extended RCODE.
    pub ext_rcode: u8,
    pub version: u8,
    pub dnssec_ok: bool,
    pub options: Vec<EdnsOption>,
    /// Option codes in wire order.
    pub codes: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    /// Additional records without the OPT pseudo-record.
    pub additionals: Vec<Record>,
    pub opt: Option<Opt>,
    pub anomalies: Anomalies,
}

impl Message {
    /// RCODE with the EDNS extension (12 bits).
    pub fn rcode(&self) -> u16 {
        let ext = self.opt.as_ref().map_or(0, |o| u16::from(o.ext_rcode));
        (ext << 4) | u16::from(self.header.rcode())
    }
}

/// TCP framing (RFC 1035 §4.2.2): the message at the start of `buf` and the bytes it uses
/// (prefix included). Only `Incomplete` can fail: any length is a frame boundary.
pub fn frame(buf: &[u8]) -> Result<(&[u8], usize), ParseError> {
    let Some(len) = buf.get(..2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
        return Err(ParseError::Incomplete);
    };
    match buf.get(2..2 + len) {
        Some(msg) => Ok((msg, 2 + len)),
        None => Err(ParseError::Incomplete),
    }
}

pub fn header(buf: &[u8]) -> Option<Header> {
    Some(Header {
        id: View(buf).u16(0)?,
        flags: View(buf).u16(2)?,
        qdcount: View(buf).u16(4)?,
        ancount: View(buf).u16(6)?,
        nscount: View(buf).u16(8)?,
        arcount: View(buf).u16(10)?,
    })
}

/// Appends one label in presentation form: ECS's escaping (`\DDD` for bytes outside 32..=126,
/// `\t`, `\r`, `\n`, backslash and quote escaped) plus `\.` for a dot inside a label.
pub fn escape_label(label: &[u8], out: &mut String) {
    for &b in label {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'.' => out.push_str("\\."),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            32..=126 => out.push(char::from(b)),
            _ => {
                out.push('\\');
                out.push(char::from(b'0' + b / 100));
                out.push(char::from(b'0' + (b / 10) % 10));
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
}

/// Reads a (possibly compressed) name at `start`: its text (root is ".", no trailing dot
/// otherwise) and the position after it in the stream. `Err` when the name cannot be read: the
/// message ends inside it, a pointer leads outside the message (garbage rather than DNS, and
/// tshark gives up there too), or a bad label type comes before any pointer. Loops and length
/// violations are flagged and the name is what could be decoded.
pub fn read_name(msg: &[u8], start: usize, an: &mut Anomalies) -> Result<(String, usize), Anomaly> {
    let mut text = String::new();
    let mut pos = start;
    // Where the name ends in the stream: known at the first pointer.
    let mut end: Option<usize> = None;
    let mut targets = [0usize; MAX_POINTER_JUMPS];
    let mut jumps = 0;
    let mut wire = 1; // the root label
    let mut labels = 0;
    let mut decoding = true;
    let done = |text: String, end: usize| {
        if text.is_empty() {
            (".".to_owned(), end)
        } else {
            (text, end)
        }
    };
    loop {
        let Some(&len) = msg.get(pos) else {
            return match end {
                // A pointer led to a place where the name runs off the message.
                Some(_) => Err(Anomaly::NameBadPointer),
                None => Err(Anomaly::Truncated),
            };
        };
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(done(text, end.unwrap_or(pos + 1))),
            0x00 => {
                let l = usize::from(len);
                let Some(label) = msg.get(pos + 1..pos + 1 + l) else {
                    return match end {
                        Some(_) => Err(Anomaly::NameBadPointer),
                        None => Err(Anomaly::Truncated),
                    };
                };
                pos += 1 + l;
                if !decoding {
                    continue;
                }
                labels += 1;
                wire += 1 + l;
                if wire > MAX_NAME_WIRE {
                    an.push(Anomaly::NameTooLong);
                }
                if labels > MAX_LABELS {
                    an.push(Anomaly::NameTooManyLabels);
                }
                if wire > MAX_NAME_TEXT {
                    // Stop decoding; keep scanning only to find where the name ends.
                    decoding = false;
                    if let Some(e) = end {
                        return Ok(done(text, e));
                    }
                    continue;
                }
                if !text.is_empty() {
                    text.push('.');
                }
                escape_label(label, &mut text);
            }
            0xc0 => {
                let Some(&lo) = msg.get(pos + 1) else {
                    return match end {
                        Some(_) => Err(Anomaly::NameBadPointer),
                        None => Err(Anomaly::Truncated),
                    };
                };
                let first = end.is_none();
                let e = *end.get_or_insert(pos + 2);
                if !decoding {
                    return Ok(done(text, e));
                }
                let target = (usize::from(len & 0x3f) << 8) | usize::from(lo);
                if target >= msg.len() {
                    return Err(Anomaly::NameBadPointer);
                }
                let seen = targets.get(..jumps).is_some_and(|t| t.contains(&target));
                if seen || jumps >= MAX_POINTER_JUMPS || (first && target == start) {
                    // The labels before the loop; never "." (that would read as the root).
                    an.push(Anomaly::NamePointerLoop);
                    return Ok((text, e));
                }
                if let Some(slot) = targets.get_mut(jumps) {
                    *slot = target;
                }
                jumps += 1;
                pos = target;
            }
            _ => {
                an.push(Anomaly::NameBadLabelType);
                return match end {
                    Some(e) => Ok(done(text, e)),
                    None => Err(Anomaly::NameBadLabelType),
                };
            }
        }
    }
}

/// Parses one whole DNS message. Fails only when `buf` is shorter than a header.
pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
    let header = header(buf).ok_or(ParseError::Malformed("shorter than a DNS header"))?;
    let mut m = Message {
        header,
        questions: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        opt: None,
        anomalies: Anomalies::default(),
    };
    let mut pos = HEADER_LEN;
    if parse_sections(buf, &mut pos, &mut m).is_ok() && pos < buf.len() {
        m.anomalies.push(Anomaly::TrailingBytes);
    }
    Ok(m)
}

/// Walks the four sections; `Err` when decoding had to stop (the anomaly is recorded).
fn parse_sections(buf: &[u8], pos: &mut usize, m: &mut Message) -> Result<(), ()> {
    let stop = |m: &mut Message, a: Anomaly| {
        m.anomalies.push(a);
    };
    for i in 0..m.header.qdcount {
        if usize::from(i) >= MAX_RECORDS_PER_SECTION {
            stop(m, Anomaly::TooManyRecords);
            return Err(());
        }
        let (name, end) = match read_name(buf, *pos, &mut m.anomalies) {
            Ok(x) => x,
            Err(a) => {
                stop(m, a);
                return Err(());
            }
        };
        let (Some(qtype), Some(qclass)) = (View(buf).u16(end), View(buf).u16(end + 2)) else {
            stop(m, Anomaly::Truncated);
            return Err(());
        };
        m.questions.push(Question { name, qtype, qclass });
        *pos = end + 4;
    }
    for (section, count) in [(0, m.header.ancount), (1, m.header.nscount), (2, m.header.arcount)] {
        for i in 0..count {
            if usize::from(i) >= MAX_RECORDS_PER_SECTION {
                stop(m, Anomaly::TooManyRecords);
                return Err(());
            }
            let (name, end) = match read_name(buf, *pos, &mut m.anomalies) {
                Ok(x) => x,
                Err(a) => {
                    stop(m, a);
                    return Err(());
                }
            };
            let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) =
                (View(buf).u16(end), View(buf).u16(end + 2), View(buf).u32(end + 4), View(buf).u16(end + 8))
            else {
                stop(m, Anomaly::Truncated);
                return Err(());
            };
            let rstart = end + 10;
            let rend = rstart + usize::from(rdlen);
            if rend > buf.len() {
                stop(m, Anomaly::Truncated);
                return Err(());
            }
            *pos = rend;
            if rtype == 41 {
                if section != 2 || name != "." {
                    m.anomalies.push(Anomaly::OptMisplaced);
                }
                if section == 2 {
                    if m.opt.is_some() {
                        m.anomalies.push(Anomaly::OptDuplicate);
                    } else {
                        m.opt = Some(parse_opt(buf, class, ttl, rstart, rend, &mut m.anomalies));
                    }
                    continue;
                }
            }
            // RFC 2136 §2.5: UPDATE deletes carry class ANY or NONE and may have no RDATA.
            let data = if rdlen == 0 && matches!(class, 254 | 255) {
                Rendered::default()
            } else {
                rdata::render(buf, rtype, rstart, rend, &mut m.anomalies)
            };
            let rec = Record { name, rtype, class, ttl, data };
            match section {
                0 => m.answers.push(rec),
                1 => m.authorities.push(rec),
                _ => m.additionals.push(rec),
            }
        }
    }
    Ok(())
}

fn parse_opt(
    buf: &[u8],
    class: u16,
    ttl: u32,
    start: usize,
    end: usize,
    an: &mut Anomalies,
) -> Opt {
    let mut opt = Opt {
        udp_size: class,
        ext_rcode: (ttl >> 24) as u8,
        version: (ttl >> 16) as u8,
        dnssec_ok: ttl & 0x8000 != 0,
        options: Vec::new(),
        codes: Vec::new(),
    };
    let rdata = buf.get(start..end).unwrap_or_default();
    let mut p = 0;
    while p < rdata.len() {
        let (Some(code), Some(len)) = (View(rdata).u16(p), View(rdata).u16(p + 2)) else {
            an.push(Anomaly::OptMalformed);
            break;
        };
        let Some(data) = rdata.get(p + 4..p + 4 + usize::from(len)) else {
            an.push(Anomaly::OptMalformed);
            break;
        };
        p += 4 + usize::from(len);
        opt.codes.push(code);
        let decoded = match code {
            8 => client_subnet(data).map(EdnsOption::ClientSubnet),
            10 if (8..=40).contains(&data.len()) => Some(EdnsOption::Cookie {
                client: rdata::hex(data.get(..8).unwrap_or_default()),
                server: (data.len() > 8).then(|| rdata::hex(data.get(8..).unwrap_or_default())),
            }),
            _ => None,
        };
        match decoded {
            Some(o) => opt.options.push(o),
            None => {
                if matches!(code, 8 | 10) {
                    an.push(Anomaly::OptMalformed);
                }
                opt.options.push(EdnsOption::Other { code, data: rdata::hex(data) });
            }
        }
    }
    opt
}

/// RFC 7871 client subnet: family, source prefix, scope prefix, then the address truncated to
/// the source prefix. Written "address/source/scope" (as Packetbeat writes it).
fn client_subnet(d: &[u8]) -> Option<String> {
    let family = View(d).u16(0)?;
    let (&src, &scope) = (d.get(2)?, d.get(3)?);
    let addr = d.get(4..)?;
    let need = usize::from(src).div_ceil(8);
    if addr.len() != need {
        return None;
    }
    let ip: std::net::IpAddr = match family {
        1 if src <= 32 => {
            let mut a = [0u8; 4];
            a.get_mut(..need)?.copy_from_slice(addr);
            std::net::Ipv4Addr::from(a).into()
        }
        2 if src <= 128 => {
            let mut a = [0u8; 16];
            a.get_mut(..need)?.copy_from_slice(addr);
            std::net::Ipv6Addr::from(a).into()
        }
        _ => return None,
    };
    Some(format!("{ip}/{src}/{scope}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compressed_root_and_escaped() {
        // "\x03www\x07example\x03com\x00" then a pointer to offset 4 ("example.com").
        let mut m = vec![0u8; 0];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00");
        m.extend_from_slice(&[0xc0, 4]);
        m.extend_from_slice(b"\x02a.\x00");
        let mut an = Anomalies::default();
        assert_eq!(read_name(&m, 0, &mut an), Ok(("www.example.com".into(), 17)));
        assert_eq!(read_name(&m, 17, &mut an), Ok(("example.com".into(), 19)));
        assert_eq!(read_name(&m, 16, &mut an), Ok((".".into(), 17)));
        assert_eq!(read_name(&m, 19, &mut an), Ok(("a\\.".into(), 23)));
        assert!(an.is_empty());
        let mut s = String::new();
        escape_label(b"a\x00\t\"\\\xff", &mut s);
        assert_eq!(s, "a\\000\\t\\\"\\\\\\255");
    }

    #[test]
    fn name_limits_are_flagged_not_fatal() {
        // A pointer to itself.
        let mut an = Anomalies::default();
        let m = [0u8, 0, 0xc0, 2];
        assert_eq!(read_name(&m, 2, &mut an), Ok((String::new(), 4)));
        assert_eq!(an.0, [Anomaly::NamePointerLoop]);
        // Two labels pointing at each other.
        let m = [1u8, b'a', 0xc0, 4, 1, b'b', 0xc0, 0];
        let mut an = Anomalies::default();
        let (text, end) = read_name(&m, 0, &mut an).unwrap();
        assert_eq!(end, 4);
        assert!(text.starts_with("a.b.a"), "{text}");
        assert_eq!(an.0, [Anomaly::NamePointerLoop]);
        // 130 one-byte labels: too many labels, too long (261 bytes), still decoded.
        let mut m = Vec::new();
        for _ in 0..130 {
            m.extend_from_slice(b"\x01x");
        }
        m.push(0);
        let mut an = Anomalies::default();
        let (text, end) = read_name(&m, 0, &mut an).unwrap();
        assert_eq!(end, m.len());
        assert_eq!(text.len(), 259);
        assert_eq!(an.0, [Anomaly::NameTooLong, Anomaly::NameTooManyLabels]);
        // A very long uncompressed name: decoding stops, the end is still found.
        let mut m = Vec::new();
        for _ in 0..40 {
            m.push(63);
            m.extend_from_slice(&[b'y'; 63]);
        }
        m.push(0);
        let mut an = Anomalies::default();
        let (text, end) = read_name(&m, 0, &mut an).unwrap();
        assert_eq!(end, m.len());
        assert!(text.len() < MAX_NAME_TEXT);
        // Bad label type and a name running off the end.
        let mut an = Anomalies::default();
        assert_eq!(read_name(&[0x40, 1], 0, &mut an), Err(Anomaly::NameBadLabelType));
        assert_eq!(read_name(&[3, b'a'], 0, &mut an), Err(Anomaly::Truncated));
        assert_eq!(read_name(&[0xc0], 0, &mut an), Err(Anomaly::Truncated));
        assert_eq!(read_name(&[0xc0, 9], 0, &mut an), Err(Anomaly::NameBadPointer));
        assert_eq!(read_name(&[0xc0, 2, 9], 0, &mut an), Err(Anomaly::NameBadPointer));
    }

    #[test]
    fn framing_prefixes_are_incomplete() {
        let stream = [0u8, 3, 1, 2, 3, 0, 0, 9];
        for n in 0..5 {
            assert_eq!(frame(&stream[..n]), Err(ParseError::Incomplete), "prefix {n}");
        }
        assert_eq!(frame(&stream), Ok((&stream[2..5], 5)));
        assert_eq!(frame(&stream[5..]), Ok((&stream[7..7], 2)));
    }

    #[test]
    fn client_subnet_forms() {
        assert_eq!(client_subnet(&[0, 1, 24, 0, 192, 0, 2]).as_deref(), Some("192.0.2.0/24/0"));
        assert_eq!(client_subnet(&[0, 1, 0, 0]).as_deref(), Some("0.0.0.0/0/0"));
        assert_eq!(
            client_subnet(&[0, 2, 56, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0]).as_deref(),
            Some("2001:db8::/56/0")
        );
        assert_eq!(client_subnet(&[0, 1, 24, 0, 192, 0]), None);
        assert_eq!(client_subnet(&[0, 3, 0, 0]), None);
    }
}
