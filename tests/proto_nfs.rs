//! NFS against tshark, run at test time on every corpus capture with NFS (name contains "nfs"
//! or tshark's summary counts NFS): every NFS RPC call tshark dissects must be a wirebeat
//! `network_traffic.nfs` event with the same xid, version and operation (NFSv3 procedure, NFSv4
//! main operation), and every reply one with the same xid and NFS status; compared as multisets
//! per capture, wirebeat messages tshark did not report are differences too.
//!
//! Known differences are listed per capture, with the reason, in `tests/nfs-differences.txt`.
//! The list may only shrink: a listed capture that now agrees fails the test.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Call { xid: String, version: u64, op: String },
    Reply { xid: String, status: Option<String> },
}

/// RFC 1813 procedure names.
const V3: [&str; 22] = [
    "NULL",
    "GETATTR",
    "SETATTR",
    "LOOKUP",
    "ACCESS",
    "READLINK",
    "READ",
    "WRITE",
    "CREATE",
    "MKDIR",
    "SYMLINK",
    "MKNOD",
    "REMOVE",
    "RMDIR",
    "RENAME",
    "LINK",
    "READDIR",
    "READDIRPLUS",
    "FSSTAT",
    "FSINFO",
    "PATHCONF",
    "COMMIT",
];

/// RFC 8881 operation names (3..=58).
fn v4_op(n: u64) -> String {
    const OPS: &[&str] = &[
        "ACCESS",
        "CLOSE",
        "COMMIT",
        "CREATE",
        "DELEGPURGE",
        "DELEGRETURN",
        "GETATTR",
        "GETFH",
        "LINK",
        "LOCK",
        "LOCKT",
        "LOCKU",
        "LOOKUP",
        "LOOKUPP",
        "NVERIFY",
        "OPEN",
        "OPENATTR",
        "OPEN_CONFIRM",
        "OPEN_DOWNGRADE",
        "PUTFH",
        "PUTPUBFH",
        "PUTROOTFH",
        "READ",
        "READDIR",
        "READLINK",
        "REMOVE",
        "RENAME",
        "RENEW",
        "RESTOREFH",
        "SAVEFH",
        "SECINFO",
        "SETATTR",
        "SETCLIENTID",
        "SETCLIENTID_CONFIRM",
        "VERIFY",
        "WRITE",
        "RELEASE_LOCKOWNER",
        "BACKCHANNEL_CTL",
        "BIND_CONN_TO_SESSION",
        "EXCHANGE_ID",
        "CREATE_SESSION",
        "DESTROY_SESSION",
        "FREE_STATEID",
        "GET_DIR_DELEGATION",
        "GETDEVICEINFO",
        "GETDEVICELIST",
        "LAYOUTCOMMIT",
        "LAYOUTGET",
        "LAYOUTRETURN",
        "SECINFO_NO_NAME",
        "SEQUENCE",
        "SET_SSV",
        "TEST_STATEID",
        "WANT_DELEGATION",
        "DESTROY_CLIENTID",
        "RECLAIM_COMPLETE",
    ];
    n.checked_sub(3).and_then(|i| OPS.get(i as usize)).map_or(format!("op{n}"), |s| s.to_string())
}

/// nfsstat3/nfsstat4 names as Packetbeat writes them, for the codes of the corpus.
fn status(n: u64) -> String {
    match n {
        0 => "NFS_OK".into(),
        1 => "NFSERR_PERM".into(),
        2 => "NFSERR_NOENT".into(),
        13 => "NFSERR_ACCES".into(),
        17 => "NFSERR_EXIST".into(),
        20 => "NFSERR_NOTDIR".into(),
        21 => "NFSERR_ISDIR".into(),
        66 => "NFSERR_NOTEMPTY".into(),
        70 => "NFSERR_STALE".into(),
        10004 => "NFSERR_NOTSUPP".into(),
        10008 => "NFSERR_DELAY".into(),
        n => format!("status {n}"),
    }
}

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success())
}

/// tshark's NFS messages of a capture (frames with several RPC messages are split by position).
fn truth(name: &str) -> Vec<Msg> {
    let path = corpus().join("pcaps").join(name);
    let fields = [
        "rpc.xid",
        "rpc.msgtyp",
        "rpc.program",
        "rpc.programversion",
        "nfs.procedure_v3",
        "nfs.procedure_v4",
        "nfs.main_opcode",
        "nfs.status",
    ];
    let mut c = Command::new("tshark");
    c.args(["-n", "-r"]).arg(&path).args(["-Y", "rpc.program == 100003", "-T", "fields"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().unwrap();
    let mut msgs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<Vec<&str>> = line
            .split('\t')
            .map(|s| if s.is_empty() { Vec::new() } else { s.split(',').collect() })
            .collect();
        let col = |i: usize| cols.get(i).cloned().unwrap_or_default();
        let num = |s: &str| s.parse::<u64>().unwrap();
        let (xids, types, progs, vers) = (col(0), col(1), col(2), col(3));
        let (p3, p4, main, st) = (col(4), col(5), col(6), col(7));
        let (mut i3, mut i4, mut ist) = (0, 0, 0);
        for (i, xid) in xids.iter().enumerate() {
            let xid =
                format!("{:08x}", u64::from_str_radix(xid.trim_start_matches("0x"), 16).unwrap());
            let version = vers.get(2 * i).map_or(0, |v| num(v));
            let is_nfs = progs.get(i) == Some(&"100003");
            let (op, is_null) = if version == 4 {
                let p = p4.get(i4).map_or(1, |v| num(v));
                i4 += 1;
                if p == 0 {
                    ("NULL".to_owned(), true)
                } else {
                    (main.last().map_or("COMPOUND".into(), |m| v4_op(num(m))), false)
                }
            } else {
                let p = p3.get(i3).map_or(99, |v| num(v));
                i3 += 1;
                (V3.get(p as usize).map_or(format!("proc{p}"), |s| s.to_string()), p == 0)
            };
            if !is_nfs {
                continue;
            }
            if types.get(i) == Some(&"0") {
                msgs.push(Msg::Call { xid, version, op });
            } else {
                let status = if is_null {
                    None
                } else {
                    let s = st.get(ist).map(|v| status(num(v)));
                    ist += if version == 4 { st.len() } else { 1 };
                    s
                };
                msgs.push(Msg::Reply { xid, status });
            }
        }
    }
    msgs
}

fn wirebeat_msgs(events: &[Value]) -> Vec<Msg> {
    let mut out = Vec::new();
    for e in of_dataset(events, "network_traffic.nfs") {
        let n = get(e, "network_traffic.nfs").unwrap();
        let xid = n["rpc"]["xid"].as_str().unwrap().to_owned();
        out.push(Msg::Call {
            xid: xid.clone(),
            version: n["version"].as_u64().unwrap(),
            op: n["opcode"].as_str().unwrap().to_owned(),
        });
        if n["rpc"].get("status").is_some() {
            out.push(Msg::Reply { xid, status: n["status"].as_str().map(str::to_owned) });
        }
    }
    out
}

const DIFFERENCES: &str = "tests/nfs-differences.txt";

fn nfs_captures() -> Vec<String> {
    let mut v: Vec<String> =
        corpus_pcaps().iter().map(|p| capture_name(p)).filter(|n| n.contains("nfs")).collect();
    for n in captures_with_app("nfs") {
        if !v.contains(&n) {
            v.push(n);
        }
    }
    v.sort();
    v
}

#[test]
fn nfs_matches_tshark() {
    require_shared!();
    if !tshark_present() {
        skipped("tshark not found");
        return;
    }
    let mut differences = Differences::load(DIFFERENCES);
    let captures = nfs_captures();
    assert!(captures.len() >= 6, "only {} NFS captures", captures.len());
    let (mut total, mut matched) = (0u64, 0u64);
    for name in &captures {
        let want = multiset(truth(name));
        let events = read_capture_ok(name, &["wirebeat.workers=2"]);
        let got = multiset(wirebeat_msgs(&events));
        let (missing, extra) = multiset_diff(&want, &got);
        let n_want: u64 = want.values().sum();
        total += n_want;
        matched += n_want - missing.iter().map(|(n, _)| n).sum::<u64>();
        let mut lines = Vec::new();
        lines.extend(missing.iter().map(|(n, m)| format!("missing {n}x {m:?}")));
        lines.extend(extra.iter().map(|(n, m)| format!("extra {n}x {m:?}")));
        differences.record_lines(name, &lines, 4);
    }
    eprintln!(
        "{} captures: tshark NFS messages {total}, matched by wirebeat {matched}",
        captures.len()
    );
    differences.check("NFS differs");
}

#[test]
fn differences_file_is_well_formed() {
    require_shared!();
    Differences::load(DIFFERENCES).check_well_formed(&nfs_captures(), "a corpus capture with NFS");
}
