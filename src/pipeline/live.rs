//! `wirebeat run`: live capture through the pipeline until the stop token is requested.
//!
//! One thread polls every interface (non-blocking, see `capture::live`), optionally writes each
//! frame to a dump file, and every 200 ms of wall-clock time ticks the pipeline with
//! `max(last packet time, now)` so idle flows still expire — the one place the wall clock enters
//! the data path — and publishes the kernel's drop counters and, every `wirebeat.health_period`,
//! a health event. On stop, the frames already in the kernel buffer are still read, a last
//! health event is published, and [`super::Pipeline::finish`] drains within `wirebeat.shutdown_timeout`.

use super::RunResult;
use crate::capture::live::LiveInterface;
use crate::config::Settings;
use crate::shutdown::Shutdown;
use crate::stats::Counters;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often idle flows are expired on the wall clock.
const TICK: Duration = Duration::from_millis(200);
/// The wait of a poll round that found nothing (returns early on stop).
const IDLE: Duration = Duration::from_millis(2);

/// How a `run` ended.
pub struct LiveOutcome {
    pub counters: Arc<Counters>,
    pub result: RunResult,
    /// Capture failed (an interface went away): the message.
    pub failure: Option<String>,
}

/// Captures on the configured interfaces until `stop`. `complain` gets the one-line problems
/// the user must see before the summary (the dump file could not be finished). `Err` is a
/// failure before capture started.
pub fn run(
    cfg: &Settings,
    dump: Option<&Path>,
    stop: &Shutdown,
    complain: &mut dyn FnMut(&str),
) -> Result<LiveOutcome, String> {
    let mut ifaces = Vec::new();
    for i in &cfg.wirebeat.interfaces {
        let sockets = cfg.workers.max(1);
        ifaces.push(LiveInterface::open(i, sockets).map_err(|e| e.to_string())?);
    }
    let mut dumper = match dump {
        Some(p) => match crate::capture::dump::PcapngWriter::create(p) {
            Ok(mut w) => {
                let ids: Vec<u32> =
                    ifaces.iter().map(|i| w.add_interface(i.linktype, i.snaplen)).collect();
                Some((w, ids))
            }
            Err(e) => return Err(format!("cannot create dump file {}: {e}", p.display())),
        },
        None => None,
    };
    let (mut pipeline, counters) = super::open(cfg, false, stop)?;
    tracing::info!(
        interfaces = ?cfg.wirebeat.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        "capturing"
    );
    // systemd (Type=notify): up once the captures are open and the pipeline runs.
    crate::service::ready();
    let mut last_tick = Instant::now();
    let health_ctx = super::context(cfg);
    let health_period = cfg.wirebeat.health_period.0;
    let mut last_health = Instant::now();
    let mut failure: Option<String> = None;
    while !stop.is_requested() && !pipeline.output_failed.load(Ordering::Relaxed) {
        let mut got = 0;
        for (idx, iface) in ifaces.iter_mut().enumerate() {
            let res = iface.poll(1024, &mut |ts, len, lt, data| {
                if let Some((w, ids)) = dumper.as_mut() {
                    if let Err(e) = w.write(ids[idx], ts, len, data) {
                        tracing::warn!(error = %e, "dump file write failed; dumping stopped");
                    }
                }
                pipeline.push(ts, len, lt, data);
            });
            match res {
                Ok(n) => got += n,
                Err(e) => failure = Some(e.to_string()),
            }
        }
        if failure.is_some() {
            break;
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            pipeline.tick(wall_clock_ns());
            publish_kernel_stats(&mut ifaces, &counters);
            crate::service::watchdog();
            if !health_period.is_zero() && last_health.elapsed() >= health_period {
                last_health = Instant::now();
                let ev = crate::ecs::health::health_event(&health_ctx, &counters, wall_clock_ns());
                pipeline.publish(ev);
            }
        }
        if got == 0 {
            stop.wait_timeout(IDLE);
        }
    }
    // Frames already in the kernel buffer when the stop came are still read and counted.
    if failure.is_none() {
        for (idx, iface) in ifaces.iter_mut().enumerate() {
            let res = iface.poll(1 << 20, &mut |ts, len, lt, data| {
                if let Some((w, ids)) = dumper.as_mut() {
                    let _ = w.write(ids[idx], ts, len, data);
                }
                pipeline.push(ts, len, lt, data);
            });
            if let Err(e) = res {
                tracing::warn!(error = %e, "final read of the capture buffer failed");
            }
        }
    }
    publish_kernel_stats(&mut ifaces, &counters);
    for iface in ifaces.iter_mut() {
        let sockets = iface.socket_stats();
        if sockets.len() > 1 {
            for (socket, s) in sockets.iter().enumerate() {
                tracing::info!(
                    interface = %iface.name,
                    socket,
                    received = s.received,
                    dropped = s.dropped,
                    "fanout socket counters"
                );
            }
        }
    }
    if let Some((mut w, _)) = dumper {
        if let Err(e) = w.flush() {
            complain(&format!("dump file: {e}"));
        }
    }
    tracing::info!("stopping: flushing flows and delivering events");
    crate::service::stopping();
    if !health_period.is_zero() && !pipeline.output_failed.load(Ordering::Relaxed) {
        // Hands the last frames to the workers, which also publishes their count.
        pipeline.tick(wall_clock_ns());
        pipeline.publish(crate::ecs::health::health_event(&health_ctx, &counters, wall_clock_ns()));
    }
    let result = pipeline.finish();
    Ok(LiveOutcome { counters, result, failure })
}

fn publish_kernel_stats(ifaces: &mut [LiveInterface], counters: &Counters) {
    let (mut dropped, mut if_dropped) = (0, 0);
    for i in ifaces.iter_mut() {
        if let Some(s) = i.stats() {
            dropped += s.dropped;
            if_dropped += s.if_dropped;
        }
    }
    Counters::set(&counters.dropped_kernel, dropped);
    Counters::set(&counters.dropped_interface, if_dropped);
}

/// The one place the wall clock enters: idle ticks of live capture.
fn wall_clock_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
