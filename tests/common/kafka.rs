//! Kafka helpers shared by the Kafka and spool tests: the Tansu broker and a consumer.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Tansu binary, if installed (`cargo install tansu --features dynostore,libsql`).
pub fn tansu_bin() -> Option<PathBuf> {
    let home = PathBuf::from("/root/.cargo/bin/tansu");
    if home.is_file() {
        return Some(home);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("tansu"))
        .find(|p| p.is_file())
}

/// A Tansu broker process, killed on drop.
pub struct Tansu {
    pub child: Child,
    pub port: u16,
    pub bin: PathBuf,
}

impl Tansu {
    pub fn start(bin: PathBuf) -> Tansu {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Tansu::start_with(bin, port, "memory://tansu/", Path::new("."))
    }

    /// A broker on `port` with the given storage URL, run in `dir` (sqlite paths are relative).
    pub fn start_with(bin: PathBuf, port: u16, storage: &str, dir: &Path) -> Tansu {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", storage])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Tansu { child, port, bin };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "tansu did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        t
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(&self.bin)
            .args(["topic", "create", "--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .args(["--partitions", &partitions.to_string(), name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every message of `topic` from the beginning, until `want` arrived or `patience` ran out:
/// (key, headers, value).
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    want: usize,
    patience: Duration,
) -> Vec<(Option<String>, BTreeMap<String, String>, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "wirebeat-test")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < want && start.elapsed() < patience {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let key = m.key().map(|k| String::from_utf8(k.to_vec()).unwrap());
                let mut headers = BTreeMap::new();
                if let Some(h) = m.headers() {
                    for hd in h.iter() {
                        let v = hd.value.map(|v| String::from_utf8(v.to_vec()).unwrap());
                        headers.insert(hd.key.to_owned(), v.unwrap_or_default());
                    }
                }
                let value = String::from_utf8(m.payload().unwrap_or_default().to_vec()).unwrap();
                got.push((key, headers, value));
            }
            Some(Err(e)) => eprintln!("consumer: {e}"),
            None => {}
        }
    }
    got
}
