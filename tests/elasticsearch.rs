//! The Elasticsearch output against a stand-in server (tests/es_server): exactly-once delivery
//! through injected faults, dead letters, 413 splitting, failover, health check errors and the
//! request shape (checked against Elasticsearch's OpenAPI in ../shared/elasticsearch-spec).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;
mod es_server;

use common::*;
use es_server::{closed_port, Answer, EsServer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn flood() -> PathBuf {
    corpus().join("pcaps/zeek-dhcp-dhcp_flood.pcap")
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/demo.pcap")
}

fn hosts(urls: &[String]) -> String {
    let quoted: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!("output.elasticsearch.hosts=[{}]", quoted.join(","))
}

/// Fast retries for tests.
const FAST: [&str; 2] =
    ["output.elasticsearch.backoff.init=5ms", "output.elasticsearch.backoff.max=50ms"];

/// `wirebeat read` to the given hosts; returns (exit code, stderr).
fn read_es(file: &Path, urls: &[String], extra: &[&str]) -> (Option<i32>, String) {
    let h = hosts(urls);
    let mut o: Vec<&str> = vec![h.as_str()];
    o.extend(FAST);
    o.extend(extra);
    let (out, events) = read(&[file], &o);
    assert!(events.is_empty(), "nothing goes to stdout with the elasticsearch output");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), err)
}

/// The console output of the same file: what must arrive.
fn console(file: &Path) -> Vec<Value> {
    let (out, events) = read(&[file], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!events.is_empty());
    events
}

/// Multiset of documents, as canonical JSON strings.
fn multiset(docs: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in docs {
        *m.entry(d.to_string()).or_insert(0) += 1;
    }
    m
}

fn summary(stderr: &str) -> String {
    summary_lines(stderr)
}

/// A stable number from a document, to pick some for faults.
fn pick(doc: &Value) -> u64 {
    let s = doc.to_string();
    s.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
}

#[test]
fn every_document_indexed_exactly_once_despite_faults() {
    require_shared!();
    let want = console(&flood());
    let es = EsServer::start();
    // Whole-request faults for the first requests: 429, 500, an acknowledgement lost after
    // storing (the resend meets 409s), 503.
    for a in
        [Answer::Status(429), Answer::Status(500), Answer::StoreThenFail(500), Answer::Status(503)]
    {
        es.push_answer(a);
    }
    // Item faults on the first attempt of about a quarter of the documents.
    es.set_item_fault(|doc, attempt| match (attempt, pick(doc) % 8) {
        (0, 0) => Some((429, "es_rejected_execution_exception".into(), "queue full".into())),
        (0, 1) => Some((500, "internal_server_error".into(), "shard failure".into())),
        _ => None,
    });
    let started = std::time::Instant::now();
    let (code, err) = read_es(&flood(), &[es.url()], &["output.elasticsearch.bulk_max_size=100"]);
    assert_eq!(code, Some(0), "{err}");
    let got = es.docs();
    assert_eq!(got.len(), want.len());
    assert_eq!(multiset(&got), multiset(&want), "server holds exactly the console documents");
    let s = summary(&err);
    assert!(s.contains(&format!(" written={} of {}; rejected=0;", want.len(), want.len())), "{s}");
    let st = es.state.lock().unwrap();
    assert!(st.attempts.values().any(|&a| a >= 2), "some ids were sent twice");
    // The lost acknowledgement really caused a resend answered with 409 (a duplicate).
    assert!(st.conflicts > 0, "no 409 seen");
    eprintln!(
        "{} documents, {} bulk requests, {} 409s, {:.2}s wall for the run",
        want.len(),
        st.requests.iter().filter(|r| r.path.starts_with("/_bulk")).count(),
        st.conflicts,
        started.elapsed().as_secs_f64()
    );
    assert!(st.answers.is_empty(), "every scripted answer was used");
}

#[test]
fn mapping_error_goes_to_dead_letter_file() {
    let want = console(&demo());
    let es = EsServer::start();
    let bad =
        |doc: &Value| doc.pointer("/network/transport").and_then(|t| t.as_str()) == Some("udp");
    let n_bad = want.iter().filter(|d| bad(d)).count();
    assert!(n_bad > 0 && n_bad < want.len());
    es.set_item_fault(move |doc, _| {
        bad(doc).then(|| {
            (
                400,
                "document_parsing_exception".into(),
                "[1:15] failed to parse field [network.transport]".into(),
            )
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("sub/dead.ndjson");
    let opt = format!("output.elasticsearch.dead_letter_file={}", dlq.display());
    let (code, err) = read_es(&demo(), &[es.url()], &[&opt]);
    assert_eq!(code, Some(0), "{err}");
    let s = summary(&err);
    assert!(
        s.contains(&format!(
            " written={} of {}; rejected={n_bad};",
            want.len() - n_bad,
            want.len()
        )),
        "{s}"
    );
    let text = std::fs::read_to_string(&dlq).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), n_bad);
    for l in &lines {
        assert_eq!(l["status"], 400);
        assert_eq!(l["error_type"], "document_parsing_exception");
        assert!(l["reason"].as_str().unwrap().contains("failed to parse field"), "{l}");
        let ds = l["document"]["data_stream"]["dataset"].as_str().unwrap();
        assert_eq!(l["index"], format!("logs-{ds}-default"));
        assert!(bad(&l["document"]));
    }
    let dead: Vec<Value> = lines.iter().map(|l| l["document"].clone()).collect();
    let good: Vec<Value> = want.iter().filter(|d| !bad(d)).cloned().collect();
    assert_eq!(
        multiset(&dead),
        multiset(&want.iter().filter(|d| bad(d)).cloned().collect::<Vec<_>>())
    );
    assert_eq!(multiset(&es.docs()), multiset(&good));
}

#[test]
fn too_large_request_is_split() {
    require_shared!();
    let want = console(&flood());
    let es = EsServer::start();
    es.state.lock().unwrap().max_body = Some(64 * 1024);
    let (code, err) = read_es(&flood(), &[es.url()], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(multiset(&es.docs()), multiset(&want));
    let reqs = es.bulk_requests();
    assert!(reqs.iter().any(|r| r.status == 413));
    assert!(reqs.iter().filter(|r| r.status == 200).all(|r| r.body.len() <= 64 * 1024));
    assert!(summary(&err).contains("; rejected=0;"), "{err}");
}

#[test]
fn failover_to_the_second_host() {
    let want = console(&demo());
    let es = EsServer::start();
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let (code, err) = read_es(&demo(), &[dead, es.url()], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(multiset(&es.docs()), multiset(&want));
    assert!(err.contains("connection refused"), "the dead host is named: {err}");
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    lines[0]
}

#[test]
fn health_check_names_the_problem() {
    // Connection refused.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let (code, err) = read_es(&demo(), std::slice::from_ref(&dead), &[]);
    assert_eq!(code, Some(1));
    let l = one_line(&err);
    assert!(l.contains("connection refused") && l.contains(&dead), "{l}");

    // 401.
    let es = EsServer::start();
    es.state.lock().unwrap().require_auth = Some("Basic ZWxhc3RpYzpyaWdodA==".into());
    let (code, err) = read_es(
        &demo(),
        &[es.url()],
        &["output.elasticsearch.username=elastic", "output.elasticsearch.password=wrong"],
    );
    assert_eq!(code, Some(1));
    let l = one_line(&err);
    assert!(l.contains("401") && l.contains("authentication failed"), "{l}");
    assert!(es.docs().is_empty());

    // Too old.
    let old = EsServer::start();
    old.state.lock().unwrap().version = "7.17.9".into();
    let (code, err) = read_es(&demo(), &[old.url()], &[]);
    assert_eq!(code, Some(1));
    let l = one_line(&err);
    assert!(l.contains("7.17.9") && l.contains("not supported"), "{l}");

    // The right password works.
    let (code, err) = read_es(
        &demo(),
        &[es.url()],
        &["output.elasticsearch.username=elastic", "output.elasticsearch.password=right"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(!es.docs().is_empty());
}

/// The query parameter names the OpenAPI spec allows on `POST /_bulk`.
fn spec_bulk_params() -> Vec<String> {
    let path = shared().join("elasticsearch-spec/elasticsearch-openapi-8.17.json");
    let spec: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let post = &spec["paths"]["/_bulk"]["post"];
    assert!(post.is_object(), "POST /_bulk is in the spec");
    post["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = match p["$ref"].as_str() {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap();
                    spec["components"]["parameters"][name].clone()
                }
                None => p.clone(),
            };
            assert_eq!(p["in"], "query");
            p["name"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn request_shape() {
    require_shared!();
    let params = spec_bulk_params();
    assert!(params.contains(&"pipeline".to_owned()), "{params:?}");

    let es = EsServer::start();
    let (code, err) = read_es(
        &demo(),
        &[es.url()],
        &[
            "output.elasticsearch.pipeline=wirebeat-geoip",
            "output.elasticsearch.api_key=id:key",
            "output.elasticsearch.compression_level=1",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let reqs = es.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/");
    let bulks = es.bulk_requests();
    assert!(!bulks.is_empty());
    for r in &bulks {
        assert_eq!(r.method, "POST");
        let (route, query) = r.path.split_once('?').unwrap();
        assert_eq!(route, "/_bulk");
        for kv in query.split('&') {
            let name = kv.split('=').next().unwrap();
            assert!(params.iter().any(|p| p == name), "{name} is a _bulk parameter of the spec");
        }
        assert_eq!(query, "pipeline=wirebeat-geoip");
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert!(r.raw_body.starts_with(&[0x1f, 0x8b]));
        assert_eq!(r.header("authorization"), Some("ApiKey aWQ6a2V5"));
        assert!(r.body.ends_with(b"\n"));
        let lines: Vec<&[u8]> = r.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        for pair in lines.chunks(2) {
            let action: Value = serde_json::from_slice(pair[0]).unwrap();
            let meta = action["create"].as_object().expect("create action");
            let doc: Value = serde_json::from_slice(pair[1]).unwrap();
            let ds = doc["data_stream"]["dataset"].as_str().unwrap();
            assert_eq!(meta["_index"], format!("logs-{ds}-default"));
            assert_eq!(meta["_id"].as_str().unwrap().len(), 22);
        }
    }
    let targets: std::collections::BTreeSet<String> = es.targets().into_iter().collect();
    assert!(targets.contains("logs-network_traffic.flow-default"), "{targets:?}");
    assert!(targets
        .iter()
        .all(|t| t.starts_with("logs-network_traffic.") && t.ends_with("-default")));

    // Basic auth, no compression, no pipeline; the same documents get the same ids.
    let es2 = EsServer::start();
    let (code, err) = read_es(
        &demo(),
        &[es2.url()],
        &[
            "output.elasticsearch.username=elastic",
            "output.elasticsearch.password=changeme",
            "output.elasticsearch.compression_level=0",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    for r in es2.bulk_requests() {
        assert_eq!(r.path, "/_bulk");
        assert_eq!(r.header("content-encoding"), None);
        assert_eq!(r.header("authorization"), Some("Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="));
        assert_eq!(r.raw_body, r.body);
    }
    let ids = |s: &EsServer| s.state.lock().unwrap().docs.keys().cloned().collect::<Vec<_>>();
    assert_eq!(ids(&es), ids(&es2), "deterministic _id");
}

/// The library API: duplicates are counted, a document too large alone is dead-lettered,
/// retries exhausted give `Retry`.
#[test]
fn output_api_outcomes() {
    use wirebeat::ecs::EncodedEvent;
    use wirebeat::sink::elasticsearch::{Config, ElasticsearchOutput};
    use wirebeat::sink::{Outcome, Output};

    let es = EsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dead.ndjson");
    let mut cfg: Config = wirebeat::yaml::from_str(&format!(
        "hosts: [\"{}\"]\nbackoff: {{init: 5ms, max: 20ms}}\nmax_retries: 2\ndead_letter_file: {}\n",
        es.url(),
        dlq.display()
    ))
    .unwrap();
    cfg.compression_level = 0;
    let mut out = ElasticsearchOutput::connect(&cfg).unwrap();
    let ev = |s: String| EncodedEvent {
        dataset: "network_traffic.flow",
        key: None,
        json: s.into_bytes(),
    };
    let small: Vec<EncodedEvent> = (0..3)
        .map(|i| ev(format!("{{\"n\":{i},\"data_stream\":{{\"namespace\":\"prod\"}}}}")))
        .collect();
    assert_eq!(out.send(&small).unwrap(), vec![Outcome::Delivered; 3]);
    assert_eq!(out.send(&small).unwrap(), vec![Outcome::Delivered; 3]);
    assert_eq!(out.duplicates(), 3);
    assert!(es.targets().iter().all(|t| t == "logs-network_traffic.flow-prod"));

    // One huge document next to small ones: the halves go through, the huge one is refused.
    es.state.lock().unwrap().max_body = Some(4096);
    let mut batch: Vec<EncodedEvent> = (10..13).map(|i| ev(format!("{{\"n\":{i}}}"))).collect();
    batch.insert(1, ev(format!("{{\"big\":\"{}\"}}", "x".repeat(5000))));
    let o = out.send(&batch).unwrap();
    assert_eq!(o[0], Outcome::Delivered);
    assert!(matches!(&o[1], Outcome::Rejected(r) if r.contains("413")), "{o:?}");
    assert_eq!(o[2], Outcome::Delivered);
    assert_eq!(o[3], Outcome::Delivered);
    out.flush().unwrap();
    let dead: Vec<Value> = std::fs::read_to_string(&dlq)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["status"], 413);
    assert_eq!(dead[0]["document"]["big"].as_str().unwrap().len(), 5000);

    // Retries exhausted: the events go back to the pipeline.
    for _ in 0..3 {
        es.push_answer(Answer::Status(429));
    }
    let o = out.send(&[ev("{\"n\":99}".into())]).unwrap();
    assert!(matches!(&o[0], Outcome::Retry(r) if r.contains("429")), "{o:?}");
    let o = out.send(&[ev("{\"n\":99}".into())]).unwrap();
    assert_eq!(o[0], Outcome::Delivered);

    // Items failing every time: Retry after max_retries resends.
    es.set_item_fault(|doc, _| {
        (doc["n"] == 7).then(|| (503, "unavailable_shards_exception".into(), "no shard".into()))
    });
    let o = out.send(&[ev("{\"n\":7}".into()), ev("{\"n\":8}".into())]).unwrap();
    assert!(
        matches!(&o[0], Outcome::Retry(r) if r.contains("unavailable_shards_exception")),
        "{o:?}"
    );
    assert_eq!(o[1], Outcome::Delivered);
    assert_eq!(es.state.lock().unwrap().attempts.values().max(), Some(&3));

    // test_connection
    let line = wirebeat::sink::elasticsearch::test_connection(&cfg).unwrap();
    assert!(line.contains("Elasticsearch 8.17.0"), "{line}");
    cfg.hosts = vec![format!("http://127.0.0.1:{}", closed_port())];
    let e = wirebeat::sink::elasticsearch::test_connection(&cfg).unwrap_err();
    assert!(e.contains("connection refused"), "{e}");
}

/// Runs openssl; `None` (with a printed reason) when it is not installed.
fn openssl(dir: &Path, args: &[&str]) -> Option<()> {
    match std::process::Command::new("openssl").current_dir(dir).args(args).output() {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => panic!("openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            skipped(&format!("openssl not available ({e})"));
            None
        }
    }
}

/// A CA and a server certificate for `es.example` only (not 127.0.0.1); the server presents
/// [server, CA]. Returns (chain, key, CA file, CA SHA-256 fingerprint).
fn make_pki(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf, String)> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=wirebeat test CA",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=es.example",
        ],
    )?;
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:es.example\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    )?;
    let chain = [
        std::fs::read(dir.join("server.pem")).unwrap(),
        std::fs::read(dir.join("ca.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
    let fp = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(["x509", "-in", "ca.pem", "-noout", "-fingerprint", "-sha256"])
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout).trim().rsplit('=').next().unwrap().to_owned();
    Some((dir.join("chain.pem"), dir.join("server.key"), dir.join("ca.pem"), fp))
}

#[test]
fn tls_ca_file_fingerprint_and_verification_modes() {
    use wirebeat::sink::elasticsearch::{test_connection, Config, VerificationMode};
    let dir = tempfile::tempdir().unwrap();
    let Some((chain, key, ca, fp)) = make_pki(dir.path()) else { return };
    let es = EsServer::start_tls(&chain, &key);
    let cfg = Config { hosts: vec![es.url()], ..Config::default() };

    // Unknown issuer: one clear line from `read`, exit 1.
    let (code, err) = read_es(&demo(), &[es.url()], &[]);
    assert_eq!(code, Some(1));
    let l = one_line(&err);
    assert!(l.contains("TLS error") && l.to_lowercase().contains("issuer"), "{l}");

    // The right CA, but the certificate names es.example, not 127.0.0.1.
    let mut c = cfg.clone();
    c.ssl.certificate_authorities = vec![ca.display().to_string()];
    let e = test_connection(&c).unwrap_err();
    assert!(e.contains("TLS error") && e.contains("not valid for name"), "{e}");
    // `certificate` checks the chain only.
    c.ssl.verification_mode = VerificationMode::Certificate;
    assert!(test_connection(&c).is_ok());
    // The CA pinned by fingerprint.
    let mut f = cfg.clone();
    f.ssl.ca_trusted_fingerprint = Some(fp.clone());
    f.ssl.verification_mode = VerificationMode::Certificate;
    assert!(test_connection(&f).is_ok(), "{:?}", test_connection(&f));
    f.ssl.ca_trusted_fingerprint = Some("00".repeat(32));
    assert!(test_connection(&f).is_err());
    // `none` accepts anything.
    let mut n = cfg.clone();
    n.ssl.verification_mode = VerificationMode::None;
    assert!(test_connection(&n).is_ok());

    // A whole run over TLS with the CA file.
    let want = console(&demo());
    let ca_opt = format!("output.elasticsearch.ssl.certificate_authorities=[\"{}\"]", ca.display());
    let (code, err) = read_es(
        &demo(),
        &[es.url()],
        &[&ca_opt, "output.elasticsearch.ssl.verification_mode=certificate"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(multiset(&es.docs()), multiset(&want));
}

#[test]
fn every_event_rejected_fails_the_read_with_rate_limited_warnings() {
    require_shared!();
    let want = console(&flood());
    let n = want.len();
    assert!(n >= 500, "a flood of rejections is the point: {n}");
    let es = EsServer::start();
    es.set_item_fault(|_, _| {
        Some((400, "document_parsing_exception".into(), "failed to parse field".into()))
    });
    let started = std::time::Instant::now();
    let (code, err) = read_es(&flood(), &[es.url()], &[]);
    let took = started.elapsed().as_secs() as usize;
    assert_eq!(code, Some(1), "nothing was delivered: {err}");
    let s = summary(&err);
    assert!(s.contains(&format!(" written=0 of {n}; rejected={n};")), "{s}");
    let last = err.lines().last().unwrap();
    assert_eq!(
        last,
        format!("wirebeat: {n} events were not delivered: {n} rejected by the output"),
        "{err}"
    );
    // One line a second at most (plus the first), and one that says how many were held back.
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("event rejected")).collect();
    assert!(!warnings.is_empty(), "{err}");
    assert!(warnings.len() <= took + 2, "{} lines in {took}s: {err}", warnings.len());
    let suppressed: Vec<&str> = err.lines().filter(|l| l.contains("suppressed")).collect();
    assert!(!suppressed.is_empty(), "the held-back lines are counted: {err}");
    assert!(!err.contains("document refused"), "one warning per cause, not two per event");
    assert!(
        err.lines().count() < 20,
        "{} stderr lines for {n} rejections: {err}",
        err.lines().count()
    );
    eprintln!("{n} rejections, {} stderr lines: {err}", err.lines().count());
}

#[test]
fn always_503_drops_after_max_retries_without_a_spool() {
    let want = console(&demo());
    let n = want.len();
    let es = EsServer::start();
    for _ in 0..100_000 {
        es.push_answer(Answer::Status(503));
    }
    let started = std::time::Instant::now();
    let (code, err) = read_es(&demo(), &[es.url()], &["output.elasticsearch.max_retries=1"]);
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}: {err}");
    assert_eq!(code, Some(1), "{err}");
    let s = summary(&err);
    assert!(s.contains(&format!("retries_exhausted={n}")), "{s}");
    assert!(s.contains(&format!(" written=0 of {n};")), "{s}");
    assert!(
        err.contains(&format!("{n} events were not delivered: {n} dropped after max_retries")),
        "{err}"
    );
    // max_retries 1: each send tries twice, and the pipeline resends once: 4 requests a batch.
    assert_eq!(es.bulk_requests().len(), 4, "{err}");
}

#[test]
fn unreachable_elasticsearch_with_a_spool_starts_and_spools() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let (code, err) = read_es(
        &demo(),
        std::slice::from_ref(&dead),
        &[&format!("queue.disk.path={}", spool.display()), "wirebeat.shutdown_timeout=2s"],
    );
    // The run starts, says why and where the events wait, and keeps them at the drain limit.
    let warn = err
        .lines()
        .find(|l| l.contains("starting anyway"))
        .unwrap_or_else(|| panic!("no warning: {err}"));
    assert!(warn.contains(&dead) && warn.contains("elasticsearch"), "{warn}");
    assert!(warn.contains(&spool.display().to_string()), "{warn}");
    assert_eq!(code, Some(1), "{err}");
    let n = console(&demo()).len();
    assert!(err.contains(&format!("{n} events stay in the spool")), "{err}");
}

#[test]
fn test_output_asks_elasticsearch_and_names_the_problem() {
    let es = EsServer::start();
    let h = hosts(&[es.url()]);
    let out = wirebeat().args(["test", "output", "-E", &h]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("OK") && stdout.contains("Elasticsearch 8"), "{stdout}");
    assert!(es.requests().iter().any(|r| r.method == "GET" && r.path == "/"));

    let dead = format!("http://127.0.0.1:{}", closed_port());
    let h = hosts(std::slice::from_ref(&dead));
    let out = wirebeat().args(["test", "output", "-E", &h]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("connection refused") && stderr.contains(&dead), "{stderr}");
}
