//! Command line: `run`, `read`, `devices`, `setup`, `export`, `test config|output`, `version`.
//!
//! Exit codes: 0 success; 1 runtime failure (a clear one-line message on stderr); 2 usage error.
//!
//! A thin shell: parse the arguments, load the configuration, start logging, hand the run to
//! `pipeline::read` or `pipeline::live` with the stop token of SIGINT/SIGTERM, then print the
//! summary and map the outcome to the exit code.

use crate::config::{self, Config, Settings};
use crate::pipeline::RunResult;
use crate::shutdown::Shutdown;
use crate::stats::Counters;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

mod summary;

#[derive(Parser, Debug)]
#[command(name = "wirebeat", version, about = "Network traffic shipper for the Elastic stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone, Default)]
struct Common {
    /// Configuration file (YAML). Without it, /etc/wirebeat/wirebeat.yml when it exists
    /// ($WIREBEAT_DEFAULT_CONFIG names another; empty: none), else built-in defaults.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override a configuration key: -E wirebeat.workers=2 (value is YAML).
    #[arg(short = 'E', value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Capture live from the configured interfaces.
    Run {
        #[command(flatten)]
        common: Common,
        /// Interface to capture on (repeatable; `any` for all). Overrides wirebeat.interfaces
        /// (each takes the other settings of the first configured interface, if any).
        #[arg(short = 'i', long = "interface", value_name = "NAME")]
        interfaces: Vec<String>,
        /// How the -i interfaces are read: `pcap` (libpcap) or `af_packet` (TPACKET_V3 ring).
        #[arg(long = "type", value_name = "TYPE", value_parser = ["pcap", "af_packet"])]
        capture_type: Option<String>,
        /// BPF filter for the -i interfaces.
        #[arg(short = 'f', long = "filter", value_name = "EXPR")]
        filter: Option<String>,
        /// Also write every captured frame to this capture file (pcapng).
        #[arg(long = "dump", value_name = "FILE")]
        dump: Option<PathBuf>,
        /// Show zero counters in the summary too (also WIREBEAT_ALL_COUNTERS=1).
        #[arg(long)]
        all_counters: bool,
        /// Write only alerts (wirebeat.detect.alerts_only).
        #[arg(long)]
        alerts_only: bool,
    },
    /// Run the pipeline over capture files (pcap, pcapng) or directories of them.
    Read {
        #[command(flatten)]
        common: Common,
        /// Never show a progress bar, even on a terminal.
        #[arg(long)]
        no_progress: bool,
        /// Show zero counters in the summary too (also WIREBEAT_ALL_COUNTERS=1).
        #[arg(long)]
        all_counters: bool,
        /// Write only alerts: flows and transactions are tracked, not written
        /// (wirebeat.detect.alerts_only).
        #[arg(long)]
        alerts_only: bool,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// List capture interfaces.
    Devices,
    /// Check configuration or output.
    Test {
        #[command(subcommand)]
        what: TestWhat,
    },
    /// Install the Elastic content: index management and ingest pipelines into Elasticsearch
    /// (output.elasticsearch.*), data view, dashboards and detection rules into Kibana
    /// (setup.kibana.*). Without a part flag, everything.
    Setup {
        #[command(flatten)]
        common: Common,
        /// Lifecycle policy, component and index templates.
        #[arg(long)]
        index_management: bool,
        /// Ingest pipelines.
        #[arg(long)]
        pipelines: bool,
        /// Data view and dashboards.
        #[arg(long)]
        dashboards: bool,
        /// Detection rules.
        #[arg(long)]
        rules: bool,
        /// Create wirebeat's detection rules enabled (default: disabled; also
        /// setup.kibana.rules.enabled). Rules already in Kibana keep their state.
        #[arg(long)]
        enable_rules: bool,
        /// Print the requests instead of sending them.
        #[arg(long)]
        dry_run: bool,
        /// Read what is installed and say what a setup would change (objects missing or of
        /// another version, rules to create or update, rules edited in Kibana that would be
        /// kept, streams another index template governs); writes nothing.
        #[arg(long, conflicts_with = "dry_run")]
        check: bool,
        /// With --dry-run: data stream lifecycle instead of the ILM policy (the real run asks
        /// the cluster).
        #[arg(long)]
        no_ilm: bool,
    },
    /// Print Elastic content for installing by hand.
    Export {
        #[arg(value_enum)]
        what: ExportWhat,
        /// `template`: data stream lifecycle instead of the ILM policy.
        #[arg(long)]
        no_ilm: bool,
        /// `config`: the packetbeat.yml to convert.
        #[arg(long, value_name = "FILE")]
        from_packetbeat: Option<PathBuf>,
        /// `template`, `pipelines`: `console` (Kibana Dev Tools: `PUT path` then the body) or
        /// `json` (one JSON array of {method, path, body}, in installation order, for jq/curl).
        #[arg(long, value_enum, default_value = "console")]
        format: ExportFormat,
        /// `template`, `pipelines`: write each body, exactly as it is PUT, to
        /// DIR/<kind>/<name>.json (the layout of elasticsearch/) and print the curl commands
        /// that install them in order (a shell script; $ES_URL, default http://localhost:9200).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the version.
    Version,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum ExportWhat {
    /// Lifecycle policy, component and index templates (Kibana Dev Tools console format).
    Template,
    /// Ingest pipelines (Dev Tools console format).
    Pipelines,
    /// Data view and dashboards (saved-objects NDJSON for the import API).
    Dashboards,
    /// Detection rules (NDJSON for the rules import API).
    Rules,
    /// The Logstash pipeline (Kafka → Elasticsearch data streams).
    Logstash,
    /// The wirebeat.yml equivalent of a packetbeat.yml (--from-packetbeat FILE), with a
    /// comment for every setting that does not carry over.
    Config,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ExportFormat {
    /// Kibana Dev Tools console: `PUT /path` and the pretty-printed body.
    Console,
    /// One JSON array of `{"method", "path", "body"}` in installation order.
    Json,
}

#[derive(Subcommand, Debug)]
enum TestWhat {
    /// Check that the configured output is reachable (connection, TLS, authentication).
    Output {
        #[command(flatten)]
        common: Common,
    },
    /// Load and validate the configuration (and compile BPF filters); prints it with -v.
    Config {
        #[command(flatten)]
        common: Common,
        #[arg(short = 'v', long)]
        verbose: bool,
    },
}

/// Entry point; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Version => {
            say(&crate::service::version_text());
            0
        }
        Command::Devices => devices(),
        Command::Test { what: TestWhat::Config { common, verbose } } => {
            test_config(&common, verbose)
        }
        Command::Test { what: TestWhat::Output { common } } => test_output(&common),
        Command::Export { what: ExportWhat::Config, from_packetbeat, .. } => {
            export_config(from_packetbeat.as_deref())
        }
        Command::Export { what, no_ilm, format, dir, .. } => {
            export(what, no_ilm, format, dir.as_deref())
        }
        Command::Setup {
            common,
            index_management,
            pipelines,
            dashboards,
            rules,
            enable_rules,
            dry_run,
            check,
            no_ilm,
        } => {
            let mut common = common;
            if enable_rules {
                common.overrides.push("setup.kibana.rules.enabled=true".into());
            }
            let parts = crate::setup::Parts { index_management, pipelines, dashboards, rules };
            setup(&common, parts, dry_run, check, no_ilm)
        }
        Command::Read { mut common, no_progress, files, all_counters, alerts_only } => {
            summary::show_all(all_counters);
            if alerts_only {
                common.overrides.push("wirebeat.detect.alerts_only=true".into());
            }
            let cfg = match load(&common) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_logging(&cfg, &common);
            crate::service::watch_config(config_path(&common), &common.overrides, &cfg);
            read(&cfg, &files, !no_progress && std::io::stderr().is_terminal())
        }
        Command::Run {
            mut common,
            interfaces,
            capture_type,
            filter,
            dump,
            all_counters,
            alerts_only,
        } => {
            summary::show_all(all_counters);
            if alerts_only {
                common.overrides.push("wirebeat.detect.alerts_only=true".into());
            }
            let mut cfg = match load(&common) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let loaded = cfg.config().clone();
            if !interfaces.is_empty() || capture_type.is_some() {
                let mut raw = cfg.into_config();
                let template = raw.wirebeat.interfaces.first().cloned().unwrap_or_default();
                let kind = match capture_type.as_deref() {
                    Some("af_packet") => crate::capture::config::CaptureType::AfPacket,
                    Some(_) => crate::capture::config::CaptureType::Pcap,
                    None => template.kind,
                };
                if interfaces.is_empty() {
                    raw.wirebeat.interfaces.iter_mut().for_each(|i| i.kind = kind);
                } else {
                    raw.wirebeat.interfaces = interfaces
                        .into_iter()
                        .map(|name| config::Interface {
                            name,
                            bpf_filter: filter
                                .clone()
                                .unwrap_or_else(|| template.bpf_filter.clone()),
                            kind,
                            ..template.clone()
                        })
                        .collect();
                }
                cfg = match Settings::new(raw).and_then(|s| s.check_machine().map(|()| s)) {
                    Ok(s) => s,
                    Err(e) => {
                        complain(&e.to_string());
                        return e.exit_code();
                    }
                };
            }
            init_logging(&cfg, &common);
            crate::service::watch_config(config_path(&common), &common.overrides, &loaded);
            run(&cfg, dump.as_deref())
        }
    }
}

#[allow(clippy::print_stdout)]
fn say(line: &str) {
    println!("{line}");
}

#[allow(clippy::print_stderr)]
fn complain(line: &str) {
    eprintln!("wirebeat: {line}");
}

/// `-c FILE`; else the default file when it exists, as Beats read `path.config`:
/// `$WIREBEAT_DEFAULT_CONFIG` (empty: none; tests set it so that /etc does not matter), else
/// /etc/wirebeat/wirebeat.yml. Without either, built-in defaults apply.
fn config_path(common: &Common) -> Option<PathBuf> {
    if common.config.is_some() {
        return common.config.clone();
    }
    let default = std::env::var_os("WIREBEAT_DEFAULT_CONFIG")
        .unwrap_or_else(|| "/etc/wirebeat/wirebeat.yml".into());
    Some(PathBuf::from(default)).filter(|p| p.is_file())
}

fn load(common: &Common) -> Result<Settings, i32> {
    config::load(config_path(common).as_deref(), &common.overrides).map_err(|e| {
        complain(&e.to_string());
        e.exit_code()
    })
}

/// Logging as `logging` says; SIGHUP re-reads `logging.level` from the same file and `-E`s.
fn init_logging(cfg: &Config, common: &Common) {
    let (path, overrides) = (config_path(common), common.overrides.clone());
    let reread = move || {
        config::load(path.as_deref(), &overrides)
            .map(|s| s.logging.level.clone())
            .map_err(|e| e.to_string())
    };
    crate::logging::init(&cfg.logging, crate::ecs::ECS_VERSION, Box::new(reread));
}

fn devices() -> i32 {
    match pcap::Device::list() {
        Ok(list) => {
            for d in list {
                let addrs: Vec<String> = d.addresses.iter().map(|a| a.addr.to_string()).collect();
                say(&format!(
                    "{}\t{}\t{}",
                    d.name,
                    d.desc.as_deref().unwrap_or(""),
                    addrs.join(",")
                ));
            }
            0
        }
        Err(e) => {
            complain(&format!("cannot list interfaces: {e}"));
            1
        }
    }
}

fn test_config(common: &Common, verbose: bool) -> i32 {
    let cfg = match load(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    for i in &cfg.wirebeat.interfaces {
        // Ethernet is the usual link type; a filter valid there is valid on most.
        if let Err(e) = crate::capture::live::check_filter(&i.bpf_filter, 1, i.snaplen) {
            complain(&format!(
                "interface {:?}: invalid BPF filter {:?}: {e}",
                i.name, i.bpf_filter
            ));
            return 1;
        }
    }
    if verbose {
        say(&cfg.to_yaml());
    }
    say("Config OK");
    0
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) -> i32 {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            complain(&format!("cannot write to standard output: {e}"));
            1
        }
    }
}

fn lifecycle(no_ilm: bool) -> crate::content::Lifecycle {
    if no_ilm {
        crate::content::Lifecycle::DataStream
    } else {
        crate::content::Lifecycle::Ilm
    }
}

fn export(what: ExportWhat, no_ilm: bool, format: ExportFormat, dir: Option<&Path>) -> i32 {
    use crate::setup::{plan, render, Parts};
    let parts = match what {
        ExportWhat::Template => Parts { index_management: true, ..Parts::default() },
        ExportWhat::Pipelines => Parts { pipelines: true, ..Parts::default() },
        ExportWhat::Config => return export_config(None),
        other => {
            if format != ExportFormat::Console || dir.is_some() {
                complain("--format and --dir apply to `export template` and `export pipelines`");
                return 2;
            }
            return match other {
                ExportWhat::Dashboards => print_out(&crate::kibana::saved_objects_ndjson()),
                ExportWhat::Rules => print_out(&crate::kibana::rules_ndjson()),
                _ => print_out(&crate::content::logstash_pipeline()),
            };
        }
    };
    let steps = plan(parts, lifecycle(no_ilm), &crate::setup::Config::default());
    if let Some(dir) = dir {
        return match crate::setup::export_files(&steps, dir) {
            Ok(script) => print_out(&script),
            Err(e) => {
                complain(&e);
                1
            }
        };
    }
    match format {
        ExportFormat::Json => print_out(&crate::setup::render_json(&steps)),
        ExportFormat::Console => {
            let text: Vec<String> = steps.iter().map(render).collect();
            print_out(&text.join("\n"))
        }
    }
}

/// `export config --from-packetbeat FILE`: the converted configuration on stdout.
fn export_config(from: Option<&Path>) -> i32 {
    let Some(path) = from else {
        complain("export config needs --from-packetbeat FILE (the packetbeat.yml to convert)");
        return 2;
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            complain(&format!("cannot read {}: {e}", path.display()));
            return 1;
        }
    };
    match config::from_packetbeat(&text, &path.display().to_string()) {
        Ok(out) => print_out(&out),
        Err(e) => {
            complain(&e);
            1
        }
    }
}

fn setup(
    common: &Common,
    parts: crate::setup::Parts,
    dry_run: bool,
    check: bool,
    no_ilm: bool,
) -> i32 {
    let cfg = match load(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if dry_run {
        let steps = crate::setup::plan(parts, lifecycle(no_ilm), &cfg.setup);
        let text: Vec<String> = steps.iter().map(crate::setup::render).collect();
        return print_out(&text.join("\n"));
    }
    init_logging(&cfg, common);
    let es_cfg = cfg.output.elasticsearch.clone().unwrap_or_default();
    let mut log = |line: &str| say(line);
    match crate::setup::run(&es_cfg, &cfg.setup, &cfg.wirebeat.namespace, parts, check, &mut log) {
        Ok(report) => {
            let mut line = if check {
                let would = report
                    .steps
                    .iter()
                    .filter(|(_, d)| match d {
                        crate::setup::Done::WouldChange => true,
                        crate::setup::Done::Rules(r) => r.created + r.updated > 0,
                        _ => false,
                    })
                    .count();
                format!(
                    "setup check: {would} of {} steps would change something; nothing was written",
                    report.steps.len()
                )
            } else {
                format!("setup complete: {} steps", report.steps.len())
            };
            if let Some(r) = report.rules().filter(|r| r.kept_edited > 0) {
                line.push_str(&format!(
                    "; {} detection rules edited in Kibana left as they are (above)",
                    r.kept_edited
                ));
            }
            if report.governed_elsewhere > 0 {
                line.push_str(&format!(
                    "; {} of wirebeat's data streams governed by another index template (above)",
                    report.governed_elsewhere
                ));
            }
            say(&line);
            0
        }
        Err(e) => {
            complain(&format!("setup failed: {e}"));
            1
        }
    }
}

fn test_output(common: &Common) -> i32 {
    let cfg = match load(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let o = &cfg.output;
    let result = if let Some(e) = o.elasticsearch.as_ref().filter(|e| e.enabled) {
        crate::sink::elasticsearch::test_connection(e)
    } else if let Some(k) = o.kafka.as_ref().filter(|k| k.enabled) {
        crate::sink::kafka::test_connection(k)
    } else if let Some(f) = o.file.as_ref().filter(|f| f.enabled) {
        crate::sink::file::FileOutput::open(f)
            .map(|_| format!("file: {}/{} is writable", f.path, f.filename))
            .map_err(|e| e.to_string())
    } else {
        Ok("console: events go to standard output".to_owned())
    };
    match result {
        Ok(lines) => {
            say(&lines);
            0
        }
        Err(e) => {
            complain(&e);
            1
        }
    }
}

/// The stop token of SIGINT/SIGTERM, and SIGHUP's reload. The first stop signal says what the
/// drain waits for and how to abort; a second aborts: it prints the summary and what the abort
/// leaves (in the spool, or lost), then exits 130. The thread counts signals itself: the token
/// may already be requested by the end of the input, and the first signal during that drain
/// must not abort. SIGHUP runs the reload handlers on this thread (`crate::reload`).
fn on_signals() -> Shutdown {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let s = Shutdown::new();
    let token = s.clone();
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(sig) => sig,
        Err(e) => {
            tracing::warn!(error = %e, "cannot install the SIGINT/SIGTERM/SIGHUP handler");
            return s;
        }
    };
    let handler = move || {
        let mut seen = false;
        for sig in signals.forever() {
            if sig == SIGHUP {
                crate::service::reload_now();
                continue;
            }
            let run = crate::pipeline::current_run();
            if std::mem::replace(&mut seen, true) {
                if let Some(run) = &run {
                    abort_summary(run);
                }
                std::process::exit(130);
            }
            if let Some(run) = &run {
                complain(&stopping_line(run));
            }
            token.request();
        }
    };
    if let Err(e) = std::thread::Builder::new().name("signals".into()).spawn(handler) {
        tracing::warn!(error = %e, "cannot start the signal thread");
    }
    s
}

/// The first signal's line: what the drain delivers, where, for how long, how to abort.
fn stopping_line(run: &crate::pipeline::RunInfo) -> String {
    let c = &run.counters;
    let queued = c.get(&c.queue_events);
    let limit = match run.limit {
        Some(d) => format!("up to {}", crate::units::Duration(d)),
        None => "no time limit (wirebeat.shutdown_timeout: 0)".to_owned(),
    };
    format!(
        "stopping: delivering {queued} queued events and the final flow reports to {} ({limit}); \
         press Ctrl-C again (or send another SIGTERM) to abort",
        run.output
    )
}

/// The second signal: the summary, then what is left undelivered.
fn abort_summary(run: &crate::pipeline::RunInfo) {
    let c = &run.counters;
    summary::print(c, &RunResult::default());
    let left = c.get(&c.queue_events);
    match &run.spool {
        Some(path) => complain(&format!(
            "aborted: {left} events stay in the spool {path} and are sent at the next start; \
             events not yet queued (flows still open) are lost"
        )),
        None => complain(&format!(
            "aborted: {left} queued events are lost (memory queue), as are flows still open"
        )),
    }
}

/// Events that will never reach the output: refused without a dead-letter file to keep them,
/// or dropped after being queued. `(count, what)`.
fn undelivered(c: &Counters) -> (u64, String) {
    let rejected = c.get(&c.events_rejected).saturating_sub(c.get(&c.events_dead_lettered));
    let parts = [
        ("rejected by the output", rejected),
        ("dropped after max_retries", c.get(&c.dropped_retries_exhausted)),
        ("dropped at the drain limit", c.get(&c.dropped_shutdown)),
        ("dropped on a full queue", c.get(&c.dropped_queue_full)),
        ("dropped when the output failed", c.get(&c.dropped_output_failed)),
        ("dropped on spool errors", c.get(&c.dropped_spool_error)),
    ];
    let n = parts.iter().map(|(_, v)| v).sum();
    let what: Vec<String> =
        parts.iter().filter(|(_, v)| *v > 0).map(|(k, v)| format!("{v} {k}")).collect();
    (n, what.join(", "))
}

fn read(cfg: &Settings, files: &[PathBuf], progress: bool) -> i32 {
    let stop = on_signals();
    let out = match crate::pipeline::read::read(cfg, files, progress, &stop, &mut complain) {
        Ok(o) => o,
        Err(e) => {
            complain(&e);
            return 1;
        }
    };
    summary::print(&out.counters, &out.result);
    // Events lost to the output are a failed read, like an unreadable file: a script must not
    // take "0 of 75 written" for success. Dead-lettered events are kept, so they do not count.
    let (lost, what) = undelivered(&out.counters);
    let failed = run_failed(cfg, &out.result, true);
    if lost > 0 && failed.is_none() {
        complain(&format!("{lost} events were not delivered: {what}"));
        return 1;
    }
    if let Some(code) = failed {
        return code;
    }
    if !out.unreadable.is_empty() {
        complain(&format!("unreadable capture files: {}", out.unreadable.join(", ")));
        return 1;
    }
    0
}

fn run(cfg: &Settings, dump: Option<&Path>) -> i32 {
    if cfg.wirebeat.interfaces.is_empty() {
        complain("no interface to capture on: set wirebeat.interfaces or pass -i NAME");
        return 2;
    }
    let stop = on_signals();
    let out = match crate::pipeline::live::run(cfg, dump, &stop, &mut complain) {
        Ok(o) => o,
        Err(e) => {
            complain(&e);
            return 1;
        }
    };
    summary::print(&out.counters, &out.result);
    let (lost, what) = undelivered(&out.counters);
    if lost > 0 {
        tracing::warn!(events = lost, "{lost} events were not delivered: {what}");
    }
    if let Some(f) = out.failure {
        complain(&f);
        return 1;
    }
    run_failed(cfg, &out.result, false).unwrap_or(0)
}

/// The exit code when the output failed or the drain limit left events undelivered. `read`
/// fails in both cases; `run` fails when events were lost, not when the spool keeps them.
fn run_failed(cfg: &Config, result: &RunResult, read: bool) -> Option<i32> {
    if let Some(e) = &result.output_error {
        complain(&format!("output failed: {e}"));
        return Some(1);
    }
    let cut = result.drain_cut?;
    let line = cut.describe(cfg);
    if !read {
        // A service's log should have it too, not only its standard error.
        tracing::warn!(in_spool = cut.in_spool, lost = cut.lost, "{line}");
    }
    complain(&line);
    (read || cut.lost > 0).then_some(1)
}
