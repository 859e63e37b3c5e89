//! DNS transactions against tshark's per-packet truth, for every corpus capture in which tshark
//! dissected DNS (summary `app_counts.dns`).
//!
//! Every DNS message tshark dissected must be found in wirebeat's events with the same id, QR
//! bit, op code, RCODE (header bits), answer count and questions (name and numeric type), and
//! wirebeat must report no message tshark did not see (multisets per capture). A transaction
//! event carries up to two messages: the response (top-level `dns.*`) and its query
//! (`dns.request.*`, sharing id and question); a lone query or response carries one.
//!
//! Not compared: DNS quoted inside ICMP errors (tshark dissects the quoted datagram; it is not a
//! DNS exchange). Known differences are listed per capture, with the reason, in
//! `tests/dns-differences.txt`; the list may only shrink.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use wirebeat::proto::dns::names;

/// One DNS message; `None` where the source does not tell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Msg {
    id: u64,
    response: bool,
    opcode: u64,
    rcode: Option<u64>,
    answers: Option<u64>,
    questions: Option<Vec<(String, u64)>>,
}

impl Msg {
    /// Whether wirebeat's message `w` shows what tshark's message `self` shows.
    fn fits(&self, w: &Msg) -> bool {
        self.id == w.id
            && self.response == w.response
            && self.opcode == w.opcode
            && (self.rcode.is_none() || self.rcode == w.rcode)
            && (self.answers.is_none() || self.answers == w.answers)
            && (self.questions.is_none() || self.questions == w.questions)
    }
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn truth_messages(capture: &str) -> Vec<Msg> {
    let mut out = Vec::new();
    for p in truth_lines(capture) {
        let Some(d) = p.get("dns") else { continue };
        let protocols = p.get("protocols").and_then(Value::as_str).unwrap_or("");
        if protocols.split(':').any(|x| x == "icmp" || x == "icmpv6") {
            continue;
        }
        let ids = list(d, "id");
        let n = ids.len();
        let responses = list(d, "response");
        let nresp = responses.iter().filter(|r| r.as_bool() == Some(true)).count();
        let rcodes = list(d, "rcode");
        let answers = list(d, "answers");
        let qnames = list(d, "qname");
        let qtypes = list(d, "qtype");
        let mut rcode_iter = rcodes.iter();
        for i in 0..n {
            let response = responses.get(i).and_then(Value::as_bool).unwrap_or(false);
            let rcode = if response && rcodes.len() == nresp {
                rcode_iter.next().and_then(Value::as_u64)
            } else {
                None
            };
            let questions = if qnames.len() != qtypes.len() {
                None
            } else if qnames.len() == n {
                Some(vec![q(&qnames[i], &qtypes[i])])
            } else if n == 1 {
                Some(qnames.iter().zip(qtypes).map(|(a, b)| q(a, b)).collect())
            } else {
                None
            };
            out.push(Msg {
                id: ids[i].as_u64().unwrap(),
                response,
                opcode: list(d, "opcode").get(i).and_then(Value::as_u64).unwrap_or(0),
                rcode,
                answers: if answers.len() == n { answers[i].as_u64() } else { None },
                questions,
            });
        }
    }
    out
}

fn q(name: &Value, qtype: &Value) -> (String, u64) {
    let name = name.as_str().unwrap_or("");
    let name = if name == "<Root>" { "." } else { name };
    (name.to_owned(), qtype.as_u64().unwrap_or(0))
}

fn num(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

fn wirebeat_messages(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.dns") {
        let d = e.get("dns").unwrap();
        let s = |k: &str| get(d, k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let id: u64 = s("id").parse().unwrap();
        let question = |x: &Value| {
            let t = x.get("type").and_then(Value::as_str).unwrap();
            (
                x.get("name").and_then(Value::as_str).unwrap().to_owned(),
                u64::from(names::type_number(t).unwrap_or_else(|| panic!("type {t}"))),
            )
        };
        let qs: Vec<(String, u64)> = match (d.get("questions"), d.get("question")) {
            (Some(Value::Array(a)), _) => a.iter().map(question).collect(),
            (_, Some(x)) => vec![question(x)],
            _ => Vec::new(),
        };
        let qcount = num(d.get("questions_count")).unwrap();
        let opcode = |v: &str| u64::from(names::opcode_number(v).unwrap());
        let request = d.get("request");
        let req_qcount = request.and_then(|r| num(r.get("questions_count")));
        let main_qs = if qcount == 0 {
            Some(Vec::new())
        } else if req_qcount.is_none_or(|c| c == qcount) {
            Some(qs.clone())
        } else {
            None
        };
        let response = s("type") == "answer";
        out.push(Msg {
            id,
            response,
            opcode: opcode(&s("op_code")),
            rcode: response
                .then(|| u64::from(names::rcode_number(&s("response_code")).unwrap()) & 0xf),
            answers: num(d.get("answers_count")),
            questions: main_qs,
        });
        if let Some(r) = request {
            out.push(Msg {
                id,
                response: false,
                opcode: opcode(r.get("op_code").and_then(Value::as_str).unwrap()),
                rcode: None,
                answers: num(r.get("answers_count")),
                questions: Some(if req_qcount == Some(0) { Vec::new() } else { qs }),
            });
        }
    }
    out
}

/// Multiset comparison; returns the differences.
fn compare(truth: &[Msg], wb: &[Msg]) -> Vec<String> {
    let (missing, extra) = match_up(truth, wb, Msg::fits);
    let missing = missing.into_iter().map(|t| format!("missing {t:?}"));
    missing.chain(extra.into_iter().map(|w| format!("extra {w:?}"))).collect()
}

const DIFFERENCES: &str = "tests/dns-differences.txt";

#[test]
fn dns_messages_match_tshark_truth() {
    require_shared!();
    let mut differences = Differences::load(DIFFERENCES);
    let (mut compared, mut messages) = (0, 0);
    for name in captures_with_app("dns") {
        let events = read_capture_ok(&name, &["wirebeat.workers=1"]);
        let truth = truth_messages(&name);
        let wb = wirebeat_messages(&events);
        messages += truth.len();
        compared += 1;
        let diffs = compare(&truth, &wb);
        differences.record(&name, !diffs.is_empty(), || {
            format!(
                "{name}: {} differences (truth {}, wirebeat {}), first: {}",
                diffs.len(),
                truth.len(),
                wb.len(),
                diffs[..diffs.len().min(4)].join("; ")
            )
        });
    }
    println!("{compared} captures, {messages} tshark DNS messages compared");
    assert!(compared >= 40, "only {compared} captures with DNS");
    differences.check("DNS differs");
}

/// The differences file names only captures with DNS, each with a reason.
#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    Differences::load(DIFFERENCES)
        .check_well_formed(&captures_with_app("dns"), "a corpus capture with DNS");
}

/// One event per transaction, with the ECS fields the rules read.
#[test]
fn transaction_event_shape() {
    require_shared!();
    let pcap = corpus().join("pcaps/tcpdump-dns-badcookie.pcap");
    let (_, events) = read(&[&pcap], &["wirebeat.workers=1"]);
    let dns = of_dataset(&events, "network_traffic.dns");
    assert_eq!(dns.len(), 2, "two query/response pairs");
    let e = dns[0];
    let s = |k: &str| get(e, k).and_then(Value::as_str).unwrap_or_default().to_owned();
    assert_eq!(s("dns.type"), "answer");
    assert_eq!(s("dns.id"), "63147");
    assert_eq!(s("dns.response_code"), "BADCOOKIE");
    assert_eq!(s("dns.request.response_code"), "NOERROR");
    assert_eq!(s("dns.question.name"), ".");
    assert_eq!(s("dns.question.type"), "SOA");
    assert_eq!(s("event.outcome"), "failure");
    assert_eq!(s("status"), "Error");
    assert_eq!(s("network.protocol"), "dns");
    assert_eq!(s("dns.opt.cookie.client"), "36bf111fef2e0109");
    assert_eq!(get(e, "dns.opt.udp_size").and_then(Value::as_u64), Some(4096));
    assert!(get(e, "event.duration").and_then(Value::as_u64).unwrap() > 0);
    let e = dns[1];
    assert_eq!(get(e, "event.outcome").and_then(Value::as_str), Some("success"));
    assert_eq!(get(e, "dns.answers.0.type"), None, "answers is an array");
    let answers = get(e, "dns.answers").and_then(Value::as_array).unwrap();
    assert_eq!(answers[0]["type"], "SOA");
    assert_eq!(answers[0]["data"], "a.root-servers.net");
    assert_eq!(answers[0]["rname"], "nstld.verisign-grs.com");
}

/// ECS question fields from the public suffix list, resolved_ip and related.hosts.
#[test]
fn question_domain_parts_and_resolved_ips() {
    require_shared!();
    let pcap = corpus().join("pcaps/zeek-wikipedia.pcap");
    let (_, events) = read(&[&pcap], &["wirebeat.workers=1"]);
    let e = events
        .iter()
        .find(|e| {
            get(e, "dns.question.name").and_then(Value::as_str) == Some("upload.wikimedia.org")
                && get(e, "dns.resolved_ip").is_some()
        })
        .expect("an answered upload.wikimedia.org query");
    let s = |k: &str| get(e, k).and_then(Value::as_str).unwrap_or_default().to_owned();
    assert_eq!(s("dns.question.registered_domain"), "wikimedia.org");
    assert_eq!(s("dns.question.subdomain"), "upload");
    assert_eq!(s("dns.question.top_level_domain"), "org");
    assert_eq!(get(e, "related.hosts").unwrap()[0], "upload.wikimedia.org");
    let ips = get(e, "dns.resolved_ip").and_then(Value::as_array).unwrap();
    assert!(ips.iter().all(|ip| ip.as_str().unwrap().parse::<std::net::IpAddr>().is_ok()));
}
