use super::*;
use std::io::Write as _;

fn ev(i: usize) -> EncodedEvent {
    EncodedEvent {
        dataset: if i.is_multiple_of(2) { "network_traffic.flow" } else { "network_traffic.dns" },
        key: if i.is_multiple_of(3) { None } else { Some(format!("1:key{i}").into()) },
        json: format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 50)).into_bytes(),
    }
}

fn disk(dir: &std::path::Path) -> Config {
    Config {
        disk: Some(DiskConfig {
            path: dir.to_str().unwrap().into(),
            segment_size: ByteSize(4096),
            max_size: ByteSize(1 << 20),
            ..DiskConfig::default()
        }),
        ..Config::default()
    }
}

fn take_all(q: &Queue) -> Vec<EncodedEvent> {
    let mut out = Vec::new();
    while let Taken::Batch(b) = q.take(7, Duration::from_millis(1)) {
        out.extend(b);
    }
    out
}

fn numbers(evs: &[EncodedEvent]) -> Vec<usize> {
    evs.iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(&e.json).unwrap();
            v["n"].as_u64().unwrap() as usize
        })
        .collect()
}

#[test]
fn byte_sizes_parse() {
    assert_eq!("64MiB".parse::<ByteSize>(), Ok(ByteSize(64 << 20)));
    assert_eq!("1 GiB".parse::<ByteSize>(), Ok(ByteSize(1 << 30)));
    assert_eq!("500MB".parse::<ByteSize>(), Ok(ByteSize(500_000_000)));
    assert_eq!("4096".parse::<ByteSize>(), Ok(ByteSize(4096)));
    assert!("12 parsecs".parse::<ByteSize>().is_err());
    assert!("MiB".parse::<ByteSize>().is_err());
}

#[test]
fn record_round_trip() {
    for i in 0..6 {
        let e = ev(i);
        let rec = spool::encode(&e);
        let back = spool::decode(&rec[8..]).unwrap();
        assert_eq!((back.dataset, back.key.clone(), back.json.clone()), (e.dataset, e.key, e.json));
    }
}

#[test]
fn memory_queue_keeps_order_and_counts_depth_until_ack() {
    let c = Arc::new(Counters::default());
    let q = Queue::memory(c.clone());
    q.push((0..10).map(ev).collect());
    assert_eq!(c.get(&c.queue_events), 10);
    let Taken::Batch(b) = q.take(4, Duration::ZERO) else { panic!("batch expected") };
    assert_eq!(numbers(&b), vec![0, 1, 2, 3]);
    assert_eq!(c.get(&c.queue_events), 10, "taken events are held until acknowledged");
    q.ack(4);
    assert_eq!(c.get(&c.queue_events), 6);
    q.close();
    let rest = take_all(&q);
    assert_eq!(numbers(&rest), (4..10).collect::<Vec<_>>());
    assert!(matches!(q.take(1, Duration::ZERO), Taken::Closed));
}

#[test]
fn memory_queue_drop_newest_counts_what_does_not_fit() {
    let c = Arc::new(Counters::default());
    let mut cfg = Config::default();
    cfg.mem.events = 5;
    cfg.mem.when_full = WhenFull::DropNewest;
    let q = Queue::open(&cfg, c.clone()).unwrap();
    q.push((0..8).map(ev).collect());
    assert_eq!(c.get(&c.dropped_queue_full), 3);
    q.close();
    assert_eq!(numbers(&take_all(&q)), vec![0, 1, 2, 3, 4]);
}

#[test]
fn memory_queue_bytes_limit_blocks_until_ack() {
    let c = Arc::new(Counters::default());
    let mut cfg = Config::default();
    cfg.mem.bytes = ByteSize(1024);
    let q = Arc::new(Queue::open(&cfg, c.clone()).unwrap());
    let big = |i: usize| EncodedEvent {
        dataset: "network_traffic.flow",
        key: None,
        json: format!("{{\"n\":{i},\"p\":\"{}\"}}", "y".repeat(400)).into_bytes(),
    };
    q.push(vec![big(0), big(1)]);
    let producer = {
        let q = q.clone();
        std::thread::spawn(move || q.push(vec![big(2)]))
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!producer.is_finished(), "third event must wait for room");
    assert_eq!(c.get(&c.queue_blocked), 1);
    let Taken::Batch(b) = q.take(1, Duration::ZERO) else { panic!() };
    assert_eq!(numbers(&b), vec![0]);
    q.ack(1);
    producer.join().unwrap();
    q.close();
    assert_eq!(numbers(&take_all(&q)), vec![1, 2]);
    assert_eq!(c.get(&c.dropped_queue_full), 0);
}

/// A memory queue of 2 events with a producer blocked pushing 5, released by `end`.
fn release_blocked_producer(end: fn(&Queue)) -> (Arc<Queue>, Arc<Counters>) {
    let c = Arc::new(Counters::default());
    let mut cfg = Config::default();
    cfg.mem.events = 2;
    let q = Arc::new(Queue::open(&cfg, c.clone()).unwrap());
    let producer = {
        let q = q.clone();
        std::thread::spawn(move || q.push((0..5).map(ev).collect()))
    };
    std::thread::sleep(Duration::from_millis(50));
    end(&q);
    producer.join().unwrap();
    (q, c)
}

#[test]
fn abort_releases_a_blocked_producer_and_counts_the_loss() {
    let (_q, c) = release_blocked_producer(Queue::abort);
    assert_eq!(c.get(&c.dropped_output_failed), 5, "2 held + 3 never stored");
}

#[test]
fn abandon_releases_a_blocked_producer_and_counts_dropped_shutdown() {
    let (q, c) = release_blocked_producer(Queue::abandon);
    assert_eq!(c.get(&c.dropped_shutdown), 5, "2 held + 3 never stored");
    assert_eq!(c.get(&c.dropped_output_failed), 0);
    assert!(matches!(q.take(7, Duration::from_millis(1)), Taken::Closed));
}

#[test]
fn spool_survives_reopen_and_replays_only_unacknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Counters::default());
    {
        let q = Queue::open(&disk(dir.path()), c.clone()).unwrap();
        assert!(q.durable());
        q.push((0..300).map(ev).collect());
        let Taken::Batch(b) = q.take(120, Duration::ZERO) else { panic!() };
        assert_eq!(b.len(), 120);
        q.ack(100); // 20 taken but not confirmed
        assert!(c.get(&c.spool_bytes) > 0);
    }
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap().starts_with("segment-"))
        .count();
    assert!(segments > 1, "4 KiB segments must rotate");
    let c2 = Arc::new(Counters::default());
    let q = Queue::open(&disk(dir.path()), c2.clone()).unwrap();
    assert_eq!(c2.get(&c2.spool_replayed), 200);
    assert_eq!(c2.get(&c2.queue_events), 200);
    q.push((300..310).map(ev).collect());
    let all = take_all(&q);
    assert_eq!(numbers(&all), (100..310).collect::<Vec<_>>());
    q.ack(all.len());
    assert_eq!(c2.get(&c2.queue_events), 0);
    drop(q);
    // Everything acknowledged: nothing replays, old segments are gone.
    let c3 = Arc::new(Counters::default());
    let q = Queue::open(&disk(dir.path()), c3.clone()).unwrap();
    assert_eq!(c3.get(&c3.spool_replayed), 0);
    q.close();
    assert!(take_all(&q).is_empty());
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap().starts_with("segment-"))
        .count();
    assert!(segments <= 3, "acknowledged segments are deleted ({segments} left)");
}

#[test]
fn spool_cuts_a_torn_tail_and_a_corrupt_record() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Counters::default());
    let cfg = Config {
        disk: Some(DiskConfig {
            path: dir.path().to_str().unwrap().into(),
            segment_size: ByteSize(1 << 20),
            max_size: ByteSize(4 << 20),
            ..DiskConfig::default()
        }),
        ..Config::default()
    };
    {
        let q = Queue::open(&cfg, c.clone()).unwrap();
        q.push((0..10).map(ev).collect());
    }
    let seg = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("segment-"))
        .unwrap();
    // A half-written record at the end, as SIGKILL inside write() leaves it.
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&spool::encode(&ev(99))[..13]).unwrap();
    drop(f);
    let c2 = Arc::new(Counters::default());
    {
        let q = Queue::open(&cfg, c2.clone()).unwrap();
        assert_eq!(c2.get(&c2.spool_torn_records), 1);
        assert_eq!(c2.get(&c2.spool_replayed), 10);
        q.close();
        assert_eq!(numbers(&take_all(&q)), (0..10).collect::<Vec<_>>());
    }
    // Flip a byte inside the 6th record's JSON: only that record is lost, the ones after it
    // are found again by their checksums and kept.
    let mut bytes = std::fs::read(&seg).unwrap();
    let off = record_offset(&bytes, 5);
    bytes[off + 20] ^= 0x55;
    std::fs::write(&seg, bytes).unwrap();
    let c3 = Arc::new(Counters::default());
    {
        let q = Queue::open(&cfg, c3.clone()).unwrap();
        assert_eq!(c3.get(&c3.spool_corrupt_records), 1);
        assert_eq!(c3.get(&c3.spool_torn_records), 0, "damage in the middle is not a torn tail");
        q.close();
        let expect: Vec<usize> = (0..10).filter(|&i| i != 5).collect();
        assert_eq!(numbers(&take_all(&q)), expect);
    }
    // The segment was rewritten without the damage: a third start finds nothing wrong.
    let c4 = Arc::new(Counters::default());
    let q = Queue::open(&cfg, c4.clone()).unwrap();
    assert_eq!(c4.get(&c4.spool_corrupt_records) + c4.get(&c4.spool_torn_records), 0);
    q.close();
    assert_eq!(take_all(&q).len(), 9);
}

/// Byte offset of record `i` in a segment file.
fn record_offset(bytes: &[u8], i: usize) -> usize {
    let mut off = 8usize;
    for _ in 0..i {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        off += 8 + len;
    }
    off
}

fn one_segment_spool(events: usize) -> (tempfile::TempDir, Config, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        disk: Some(DiskConfig {
            path: dir.path().to_str().unwrap().into(),
            segment_size: ByteSize(1 << 20),
            max_size: ByteSize(4 << 20),
            ..DiskConfig::default()
        }),
        ..Config::default()
    };
    {
        let q = Queue::open(&cfg, Arc::new(Counters::default())).unwrap();
        q.push((0..events).map(ev).collect());
    }
    let seg = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("segment-"))
        .find(|p| std::fs::metadata(p).unwrap().len() > 8)
        .unwrap();
    (dir, cfg, seg)
}

#[test]
fn spool_tells_a_corrupt_length_from_a_torn_tail_and_keeps_what_follows() {
    // An impossible length, and a length that points past the end of the segment (which alone
    // would look like a torn tail): in both, the records after the damaged one are valid.
    for bad_len in [u32::MAX, 1 << 19] {
        let (_dir, cfg, seg) = one_segment_spool(10);
        let mut bytes = std::fs::read(&seg).unwrap();
        let off = record_offset(&bytes, 3);
        bytes[off..off + 4].copy_from_slice(&bad_len.to_le_bytes());
        std::fs::write(&seg, bytes).unwrap();
        let c = Arc::new(Counters::default());
        let q = Queue::open(&cfg, c.clone()).unwrap();
        assert_eq!(c.get(&c.spool_corrupt_records), 1, "length {bad_len:#x}");
        assert_eq!(c.get(&c.spool_torn_records), 0, "length {bad_len:#x}");
        assert_eq!(c.get(&c.spool_replayed), 9);
        q.close();
        let expect: Vec<usize> = (0..10).filter(|&i| i != 3).collect();
        assert_eq!(numbers(&take_all(&q)), expect, "length {bad_len:#x}");
    }
}

#[test]
fn spool_does_not_trust_an_acknowledgement_beyond_its_data() {
    // Past the end of its segment.
    let (dir, cfg, seg) = one_segment_spool(6);
    let id: u64 = seg.file_name().unwrap().to_str().unwrap()[8..28].parse().unwrap();
    let size = std::fs::metadata(&seg).unwrap().len();
    std::fs::write(dir.path().join("ack"), format!("wirebeat-spool-ack 1 {id} {}\n", size + 100))
        .unwrap();
    let c = Arc::new(Counters::default());
    {
        let q = Queue::open(&cfg, c.clone()).unwrap();
        assert_eq!(c.get(&c.spool_ack_beyond_data), 1);
        assert_eq!(c.get(&c.spool_replayed), 6, "every record is sent again, none is dropped");
        q.close();
        assert_eq!(numbers(&take_all(&q)), (0..6).collect::<Vec<_>>());
    }
    // A segment newer than any on disk.
    let (dir, cfg, _seg) = one_segment_spool(4);
    std::fs::write(dir.path().join("ack"), "wirebeat-spool-ack 1 999999 8\n").unwrap();
    let c = Arc::new(Counters::default());
    let q = Queue::open(&cfg, c.clone()).unwrap();
    assert_eq!(c.get(&c.spool_ack_beyond_data), 1);
    q.close();
    assert_eq!(numbers(&take_all(&q)), (0..4).collect::<Vec<_>>());
    // A valid acknowledgement is followed as before.
    let (dir, cfg, seg) = one_segment_spool(5);
    let bytes = std::fs::read(&seg).unwrap();
    let id: u64 = seg.file_name().unwrap().to_str().unwrap()[8..28].parse().unwrap();
    let off = record_offset(&bytes, 2);
    std::fs::write(dir.path().join("ack"), format!("wirebeat-spool-ack 1 {id} {off}\n")).unwrap();
    let c = Arc::new(Counters::default());
    let q = Queue::open(&cfg, c.clone()).unwrap();
    assert_eq!(c.get(&c.spool_ack_beyond_data), 0);
    q.close();
    assert_eq!(numbers(&take_all(&q)), (2..5).collect::<Vec<_>>());
}

#[test]
fn spool_is_locked_against_a_second_process() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Counters::default());
    let _q = Queue::open(&disk(dir.path()), c.clone()).unwrap();
    let second = Queue::open(&disk(dir.path()), c);
    assert!(
        matches!(second, Err(QueueError::Spool { ref message, .. }) if message.contains("in use"))
    );
}

#[test]
fn spool_full_blocks_or_drops() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Counters::default());
    let mut cfg = disk(dir.path());
    if let Some(d) = cfg.disk.as_mut() {
        d.max_size = ByteSize(8192);
        d.when_full = WhenFull::DropNewest;
    }
    let q = Queue::open(&cfg, c.clone()).unwrap();
    q.push((0..1000).map(ev).collect());
    let dropped = c.get(&c.dropped_queue_full);
    assert!(dropped > 800, "dropped {dropped}");
    assert!(c.get(&c.spool_bytes) <= 8192);
    q.close();
    assert_eq!(take_all(&q).len() as u64, 1000 - dropped);
}

#[test]
fn validation_names_the_keys() {
    let mut cfg = Config::default();
    cfg.mem.events = 0;
    cfg.disk = Some(DiskConfig {
        path: " ".into(),
        max_size: ByteSize(8192),
        segment_size: ByteSize(8192),
        ..DiskConfig::default()
    });
    let errs = cfg.validate().join("\n");
    assert!(errs.contains("queue.mem.events"));
    assert!(errs.contains("queue.disk.path"));
    assert!(errs.contains("queue.disk.max_size"));
    assert!(Config::default().validate().is_empty());
}

#[test]
fn spool_full_with_block_passes_everything_through_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Counters::default());
    let mut cfg = disk(dir.path());
    if let Some(d) = cfg.disk.as_mut() {
        d.max_size = ByteSize(8192);
    }
    let q = Arc::new(Queue::open(&cfg, c.clone()).unwrap());
    let producer = {
        let q = q.clone();
        std::thread::spawn(move || {
            q.push((0..1000).map(ev).collect());
            q.close();
        })
    };
    let mut got = Vec::new();
    loop {
        match q.take(13, Duration::from_millis(100)) {
            Taken::Batch(b) => {
                let n = b.len();
                got.extend(b);
                q.ack(n);
            }
            Taken::Empty => {}
            Taken::Closed => break,
        }
    }
    producer.join().unwrap();
    assert_eq!(numbers(&got), (0..1000).collect::<Vec<_>>());
    assert!(c.get(&c.queue_blocked) > 0);
    assert_eq!(c.get(&c.spool_errors), 0);
    assert!(c.get(&c.spool_bytes) <= 8192 + 4096);
}

#[test]
fn an_aborted_spool_still_keeps_what_fits() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(Counters::default());
    {
        let q = Queue::open(&disk(dir.path()), c.clone()).unwrap();
        q.push((0..5).map(ev).collect());
        q.abort();
        q.push((5..8).map(ev).collect());
        assert_eq!(c.get(&c.dropped_output_failed), 0);
    }
    let c2 = Arc::new(Counters::default());
    let q = Queue::open(&disk(dir.path()), c2.clone()).unwrap();
    q.close();
    assert_eq!(numbers(&take_all(&q)), (0..8).collect::<Vec<_>>());
    assert_eq!(c2.get(&c2.spool_replayed), 8);
}

// The events identity holds while a producer waits for room, and the latency is recorded at
// acknowledgement for stamped events only.
#[test]
fn a_blocked_push_keeps_the_events_accounted_and_acks_record_latency() {
    let counters = Arc::new(Counters::default());
    let cfg = Config { mem: MemConfig { events: 2, ..MemConfig::default() }, ..Config::default() };
    let q = Arc::new(Queue::open(&cfg, counters.clone()).unwrap());
    // What the pipeline does before a push: built and in transit.
    Counters::add(&counters.events_built, 5);
    Counters::add(&counters.events_in_transit, 5);
    let stamp = crate::stats::wall_clock_ns() - 2_000_000_000;
    let producer = {
        let q = q.clone();
        std::thread::spawn(move || q.push_built((0..5).map(ev).collect(), &[(stamp, 4), (0, 1)]))
    };
    let balanced = || {
        let s = counters.snapshot_consistent();
        assert!(s.consistent && s.events().balanced(), "{:?}", s.events());
    };
    let mut got = 0;
    while got < 5 {
        balanced();
        if let Taken::Batch(b) = q.take(1, Duration::from_millis(50)) {
            got += b.len();
            // The output's outcome, then the acknowledgement (see pipeline::output).
            {
                let _s = counters.section();
                Counters::add(&counters.events_acked, b.len() as u64);
                Counters::add(&counters.events_pending_ack, b.len() as u64);
            }
            balanced();
            q.ack_settled(b.len());
        }
    }
    producer.join().unwrap();
    balanced();
    assert_eq!(counters.get(&counters.events_in_transit), 0);
    assert!(counters.get(&counters.queue_blocked) > 0, "the push had to wait");
    let (buckets, sum, count) = counters.latency.read();
    assert_eq!(count, 4, "the unstamped event is not recorded");
    assert!(sum >= 8.0, "{sum}");
    let at =
        |le: f64| buckets[crate::stats::LATENCY_BUCKETS.iter().position(|b| *b == le).unwrap()];
    assert_eq!((at(1.0), at(30.0)), (0, 4), "about 2 s: {buckets:?}");
}
