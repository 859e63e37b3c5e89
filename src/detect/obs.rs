//! Observations: what the workers tell the detection engine, as small owned values.
//!
//! A worker sees only the flows hashed to it, but a scan, a flood or a password guesser spreads
//! over many flows (one per port, per source, per session), so detectors cannot live in the
//! workers. Each worker turns what detectors need into an [`Obs`] — a packet's addresses, ports
//! and flags; a final flow's shape; a transaction's outcome — and hands them to the one
//! [`super::DetectEngine`] beside the queue thread, which sees the whole sensor.
//!
//! Cost: packets that cannot matter to any detector are not copied (established TCP data: an
//! ACK without SYN, FIN or RST). Everything here is a few dozen bytes and allocation-free except
//! the DNS name and HTTP path of a transaction.

use crate::decode::{Fragmented, Packet, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::flow::{EndReason, Flow, Report, TcpState};
use crate::proto::{Outcome, ProtoFields, Txn};
use std::net::IpAddr;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

/// One observation, in the order the worker made it.
#[derive(Debug, Clone)]
pub enum Obs {
    Packet(PacketObs),
    Flow(Box<FlowObs>),
    Txn(Box<TxnObs>),
    /// An alert a worker raised itself (threat-intel matches are checked where the events are
    /// built); it goes through the engine for suppression and counting like any other.
    Alert(Box<super::Alert>),
}

/// What the detectors keep of a packet of an ICMP error: the header of the datagram it quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
}

/// A decoded packet (innermost addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketObs {
    pub ts_ns: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// Ports for TCP/UDP; ICMP type and code for ICMP/ICMPv6; 0 otherwise.
    pub sport: u16,
    pub dport: u16,
    /// TCP flags; 0 for other protocols.
    pub tcp_flags: u8,
    pub wire_bytes: u32,
    pub payload_len: u32,
    /// Frames the packet was made of (more than 1: reassembled from IP fragments).
    pub frames: u16,
    /// The datagram an ICMP/ICMPv6 error quotes (destination unreachable, time exceeded).
    pub quoted: Option<Quoted>,
    /// Whether it came from IP fragments (reassembled, or a datagram never completed).
    pub fragmented: Fragmented,
    /// IPv6 extension headers in front of the transport (a fragment header not counted).
    pub ext_headers: u8,
}

impl PacketObs {
    /// The observation of `p`, or `None` when no detector looks at such a packet.
    pub fn of(p: &Packet<'_>) -> Option<PacketObs> {
        let (sport, dport) = p.ports.unwrap_or((0, 0));
        let tcp_flags = p.tcp.map_or(0, |t| t.flags);
        if p.proto == PROTO_TCP
            && tcp_flags & TCP_ACK != 0
            && tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST) == 0
        {
            return None;
        }
        let quoted = match p.proto {
            PROTO_ICMP if matches!(sport, 3 | 11) => quoted_ipv4(p.payload),
            PROTO_ICMPV6 if matches!(sport, 1 | 3) => quoted_ipv6(p.payload),
            _ => None,
        };
        Some(PacketObs {
            ts_ns: p.ts_ns,
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            sport,
            dport,
            tcp_flags,
            wire_bytes: u32::try_from(p.wire_bytes).unwrap_or(u32::MAX),
            payload_len: u32::try_from(p.payload.len()).unwrap_or(u32::MAX),
            frames: u16::try_from(p.frames).unwrap_or(u16::MAX),
            quoted,
            fragmented: p.fragmented,
            ext_headers: p.ext_headers,
        })
    }

    pub fn is_tcp(&self) -> bool {
        self.proto == PROTO_TCP
    }

    pub fn has(&self, flags: u8) -> bool {
        self.tcp_flags & flags == flags
    }
}

fn ports_at(b: &[u8], at: usize) -> (u16, u16) {
    let get = |i: usize| b.get(i).copied().unwrap_or(0);
    (u16::from_be_bytes([get(at), get(at + 1)]), u16::from_be_bytes([get(at + 2), get(at + 3)]))
}

/// ICMPv4 error: 8 bytes of ICMP header, then the quoted IPv4 header and 8 bytes of its payload.
fn quoted_ipv4(icmp: &[u8]) -> Option<Quoted> {
    let ip = icmp.get(8..)?;
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let src = IpAddr::from(<[u8; 4]>::try_from(&ip[12..16]).ok()?);
    let dst = IpAddr::from(<[u8; 4]>::try_from(&ip[16..20]).ok()?);
    let (sport, dport) = if ip.len() >= ihl + 4 { ports_at(ip, ihl) } else { (0, 0) };
    Some(Quoted { proto: ip[9], src, dst, sport, dport })
}

/// ICMPv6 error: 8 bytes of ICMPv6 header, then the quoted IPv6 header (extension headers are
/// not walked: the ports are read only when the next header is TCP or UDP).
fn quoted_ipv6(icmp: &[u8]) -> Option<Quoted> {
    let ip = icmp.get(8..)?;
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return None;
    }
    let src = IpAddr::from(<[u8; 16]>::try_from(&ip[8..24]).ok()?);
    let dst = IpAddr::from(<[u8; 16]>::try_from(&ip[24..40]).ok()?);
    let next = ip[6];
    let (sport, dport) = if matches!(next, PROTO_TCP | PROTO_UDP) && ip.len() >= 44 {
        ports_at(ip, 40)
    } else {
        (0, 0)
    };
    Some(Quoted { proto: next, src, dst, sport, dport })
}

/// A flow's final report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowObs {
    pub ts_ns: i64,
    pub first_ts: i64,
    pub last_ts: i64,
    /// Initiator and responder.
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub fwd_packets: u64,
    pub fwd_bytes: u64,
    pub rev_packets: u64,
    pub rev_bytes: u64,
    /// TCP flags seen from the initiator / the responder (ORed).
    pub fwd_flags: u8,
    pub rev_flags: u8,
    pub tcp_state: Option<TcpState>,
    pub end: EndReason,
    /// The application protocol the flow was parsed as.
    pub app: Option<&'static str>,
    pub community_id: Option<String>,
}

impl FlowObs {
    /// The observation of a final report (`None` for periodic reports: detectors count a flow
    /// once, when it ends).
    pub fn of(r: &Report<'_>) -> Option<FlowObs> {
        let end = r.final_reason?;
        let f: &Flow = r.flow;
        Some(FlowObs {
            ts_ns: r.ts_ns,
            first_ts: f.first_ts,
            last_ts: f.last_ts,
            src: f.src(),
            dst: f.dst(),
            sport: f.sport,
            dport: f.dport,
            proto: f.key.proto,
            fwd_packets: f.fwd.packets,
            fwd_bytes: f.fwd.bytes,
            rev_packets: f.rev.packets,
            rev_bytes: f.rev.bytes,
            fwd_flags: f.fwd.tcp_flags,
            rev_flags: f.rev.tcp_flags,
            tcp_state: f.tcp_state,
            end,
            app: f.app_protocol(),
            community_id: f.community_id.get().and_then(|c| c.as_deref()).map(str::to_owned),
        })
    }

    /// The TCP handshake completed (the responder answered the SYN with SYN-ACK and data or
    /// an ACK followed).
    pub fn established(&self) -> bool {
        self.rev_flags & TCP_SYN != 0
            && self.rev_flags & TCP_ACK != 0
            && self.fwd_flags & TCP_ACK != 0
    }

    pub fn duration_ns(&self) -> i64 {
        self.last_ts.saturating_sub(self.first_ts)
    }
}

/// What a transaction says about authentication (`detect::brute_force` counts it).
///
/// Where it comes from: a parser that sees logins sets [`Txn::auth`] on the login transaction
/// (`Some(Outcome::Failure)` for FTP 530, PostgreSQL 28P01, MySQL 1045, SMB
/// `STATUS_LOGON_FAILURE`, Kerberos `KDC_ERR_PREAUTH_FAILED`; `Some(Outcome::Success)`; or
/// `Some(Outcome::Unknown)` when the answer was not seen) and nothing else: [`classify_auth`]
/// maps it here. HTTP has no login message, so its transactions are judged from the status
/// and the path (see [`classify_auth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Nothing about authentication.
    None,
    /// A login was tried; its outcome is not visible (a POST to a login path).
    Attempt,
    Failure,
    Success,
}

impl Auth {
    /// A login was tried (whatever its outcome).
    pub fn is_login(self) -> bool {
        self != Auth::None
    }
}

/// What detectors read of a transaction's protocol fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    None,
    Dns {
        /// Question name, lower case, without the trailing dot.
        name: String,
        /// The registered domain of the name, when the public-suffix list knows it.
        registered_domain: Option<String>,
        qtype: String,
        /// `NOERROR`, `NXDOMAIN`, …; empty when no response was seen.
        rcode: String,
        answers: u16,
    },
    Http {
        method: String,
        path: String,
        status: Option<u16>,
    },
    /// A DHCPv4 message (one transaction each).
    Dhcp {
        /// A client's message (BOOTREQUEST: discover, request, inform, ...), not a server's.
        request: bool,
        /// Option 53 (`discover`, `request`, ...); empty when absent (plain BOOTP).
        message_type: String,
        /// chaddr, as the parser writes it; empty when absent.
        client_mac: String,
    },
}

/// A transaction with its flow's endpoints (client = flow initiator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnObs {
    pub ts_ns: i64,
    pub start_ns: i64,
    pub end_ns: Option<i64>,
    pub protocol: &'static str,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub outcome: Outcome,
    pub auth: Auth,
    pub detail: Detail,
    pub community_id: Option<String>,
}

impl TxnObs {
    pub fn of(f: &Flow, t: &Txn) -> TxnObs {
        let detail = detail(&t.fields);
        TxnObs {
            ts_ns: t.end_ns.unwrap_or(t.start_ns),
            start_ns: t.start_ns,
            end_ns: t.end_ns,
            protocol: t.protocol,
            src: f.src(),
            dst: f.dst(),
            sport: f.sport,
            dport: f.dport,
            outcome: t.outcome,
            auth: classify_auth(t, &detail),
            detail,
            community_id: f.community_id.get().and_then(|c| c.as_deref()).map(str::to_owned),
        }
    }
}

fn detail(fields: &ProtoFields) -> Detail {
    match fields {
        ProtoFields::Dns(d) => {
            let d = &d.dns;
            let Some(q) = d.question.as_ref() else { return Detail::None };
            Detail::Dns {
                name: q.name.trim_end_matches('.').to_ascii_lowercase(),
                registered_domain: q.registered_domain.clone(),
                qtype: q.qtype.clone(),
                rcode: if d.kind == "answer" || d.request.is_some() {
                    d.response_code.clone()
                } else {
                    String::new()
                },
                answers: d.answers_count,
            }
        }
        ProtoFields::Http(h) => Detail::Http {
            method: h.http.request.as_ref().map(|r| r.method.clone()).unwrap_or_default(),
            path: h.url.as_ref().and_then(|u| u.path.clone()).unwrap_or_default(),
            status: h.http.response.as_ref().and_then(|r| r.status_code),
        },
        ProtoFields::Dhcpv4(d) => {
            let d = &d.dhcpv4;
            Detail::Dhcp {
                request: d.op_code == "bootrequest",
                message_type: d
                    .option
                    .as_ref()
                    .and_then(|o| o.message_type.clone())
                    .unwrap_or_default(),
                client_mac: d.client_mac.clone().unwrap_or_default(),
            }
        }
        _ => Detail::None,
    }
}

/// Words that name a login form or API when a path segment (its part before the first `.`)
/// contains them: `/wp-login.php`, `/user/login`, `/signin`, `/adminlogon.aspx`.
const LOGIN_WORDS: &[&str] = &["login", "logon", "signin", "sign-in", "sign_in"];
/// Path segments (before the first `.`) that are login endpoints as a whole word only: `auth`
/// must not match `/author/…`, `token` must not match `/tokens-of-appreciation`.
const LOGIN_SEGMENTS: &[&str] = &[
    "auth",
    "authenticate",
    "authentication",
    "session",
    "sessions",
    "token",
    "xmlrpc",
    "j_security_check",
];

/// Whether an HTTP path is a login form or API (see [`LOGIN_WORDS`], [`LOGIN_SEGMENTS`]).
pub fn is_login_path(path: &str) -> bool {
    let path = path.split(['?', '#', ';']).next().unwrap_or("");
    path.split('/').any(|seg| {
        let base = seg.split('.').next().unwrap_or("").to_ascii_lowercase();
        !base.is_empty()
            && (LOGIN_WORDS.iter().any(|w| base.contains(w))
                || LOGIN_SEGMENTS.iter().any(|w| base == *w))
    })
}

/// Whether a transaction is an authentication attempt, and how it ended.
///
/// - A parser's own verdict ([`Txn::auth`]) wins: a new protocol parser only sets that field.
/// - HTTP: 401 is a refused authentication anywhere; 403 on a login path too (403 elsewhere is
///   authorization, not a password); a POST to a login path is an attempt whose outcome we
///   cannot judge (WordPress answers a wrong password with 200, a right one with 302; APIs
///   the other way round), so it counts as an attempt.
pub fn classify_auth(t: &Txn, d: &Detail) -> Auth {
    if let Some(o) = t.auth {
        return match o {
            Outcome::Failure => Auth::Failure,
            Outcome::Success => Auth::Success,
            Outcome::Unknown => Auth::Attempt,
        };
    }
    match d {
        Detail::Http { method, path, status } => {
            let login = is_login_path(path);
            match status {
                Some(401) => Auth::Failure,
                Some(403) if login => Auth::Failure,
                _ if login && method.eq_ignore_ascii_case("POST") => Auth::Attempt,
                _ => Auth::None,
            }
        }
        _ => Auth::None,
    }
}

#[cfg(test)]
pub(super) fn quoted_ipv4_for_tests(icmp: &[u8]) -> Option<Quoted> {
    quoted_ipv4(icmp)
}
