//! Pure parsers of ONC RPC (RFC 5531) and of the NFS v3 (RFC 1813) and v4 (RFC 7530, 8881)
//! bodies wirebeat reports: bytes in, messages out, bounded work, no panics.

use crate::bytes::{Cursor, ParseError};

/// RPC program number of NFS.
pub const NFS_PROGRAM: u32 = 100_003;
/// Longest RPC record (all fragments) accepted over TCP; longer ones are skipped.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Most fragments one TCP record may have.
pub const MAX_FRAGMENTS: usize = 64;
/// Longest opaque (credential, verifier) body RFC 5531 allows.
const MAX_AUTH_BYTES: usize = 400;
/// File handle bytes kept (hex) — NFSv3 handles are at most 64, NFSv4 at most 128.
pub const MAX_FH_BYTES: usize = 128;
/// Longest file name kept (NFS names are at most 255 bytes on most servers).
pub const MAX_NAME_BYTES: usize = 1024;
/// Most NFSv4 COMPOUND operations listed per call.
pub const MAX_OPS: usize = 32;
/// Most secondary group ids kept from an AUTH_UNIX credential (RFC 5531: 16).
const MAX_GIDS: usize = 16;

/// One TCP record from the start of `buf`: its payload (fragments joined) and the bytes used.
pub fn record(buf: &[u8]) -> Result<(Vec<u8>, usize), ParseError> {
    let mut c = Cursor::new(buf);
    let mut out = Vec::new();
    for _ in 0..MAX_FRAGMENTS {
        let Some(h) = c.u32() else { return Err(ParseError::Incomplete) };
        let last = h & 0x8000_0000 != 0;
        let len = (h & 0x7fff_ffff) as usize;
        if out.len() + len > MAX_RECORD_BYTES {
            return Err(ParseError::Malformed("record longer than the limit"));
        }
        if !last && len == 0 {
            return Err(ParseError::Malformed("empty non-final fragment"));
        }
        let Some(frag) = c.take(len) else { return Err(ParseError::Incomplete) };
        out.extend_from_slice(frag);
        if last {
            return Ok((out, c.pos()));
        }
    }
    Err(ParseError::Malformed("too many fragments"))
}

/// AUTH_UNIX (AUTH_SYS) credential fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnixCred {
    pub stamp: u32,
    pub machinename: String,
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub xid: u32,
    pub prog: u32,
    pub vers: u32,
    pub proc_: u32,
    pub flavor: u32,
    pub cred: Option<UnixCred>,
    /// Procedure arguments (may be cut short by the capture).
    pub args: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyStat {
    /// accept_stat (0 SUCCESS …).
    Accepted(u32),
    /// reject_stat (0 RPC_MISMATCH, 1 AUTH_ERROR).
    Denied(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub xid: u32,
    pub stat: ReplyStat,
    /// Procedure results when accepted with SUCCESS.
    pub results: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rpc {
    Call(Call),
    Reply(Reply),
}

fn short() -> ParseError {
    ParseError::Malformed("RPC message cut short")
}

/// XDR variable-length opaque, padded to 4 bytes; `max` bounds the length.
pub fn opaque<'a>(c: &mut Cursor<'a>, max: usize) -> Option<&'a [u8]> {
    let len = c.u32()? as usize;
    if len > max {
        return None;
    }
    let v = c.take(len)?;
    c.skip((4 - len % 4) % 4)?;
    Some(v)
}

fn unix_cred(body: &[u8]) -> Option<UnixCred> {
    let mut c = Cursor::new(body);
    let stamp = c.u32()?;
    let name = opaque(&mut c, 255)?;
    let uid = c.u32()?;
    let gid = c.u32()?;
    let n = c.u32()? as usize;
    if n > MAX_GIDS {
        return None;
    }
    let mut gids = Vec::with_capacity(n);
    for _ in 0..n {
        gids.push(c.u32()?);
    }
    Some(UnixCred { stamp, machinename: String::from_utf8_lossy(name).into_owned(), uid, gid, gids })
}

/// One whole RPC message (a UDP datagram or a TCP record).
pub fn parse_rpc(msg: &[u8]) -> Result<Rpc, ParseError> {
    let mut c = Cursor::new(msg);
    let xid = c.u32().ok_or_else(short)?;
    match c.u32().ok_or_else(short)? {
        0 => {
            let rpcvers = c.u32().ok_or_else(short)?;
            if rpcvers != 2 {
                return Err(ParseError::Malformed("RPC version is not 2"));
            }
            let prog = c.u32().ok_or_else(short)?;
            let vers = c.u32().ok_or_else(short)?;
            let proc_ = c.u32().ok_or_else(short)?;
            let flavor = c.u32().ok_or_else(short)?;
            let body = opaque(&mut c, MAX_AUTH_BYTES).ok_or_else(short)?;
            let cred = if flavor == 1 { unix_cred(body) } else { None };
            let _verf_flavor = c.u32().ok_or_else(short)?;
            opaque(&mut c, MAX_AUTH_BYTES).ok_or_else(short)?;
            Ok(Rpc::Call(Call { xid, prog, vers, proc_, flavor, cred, args: c.rest().to_vec() }))
        }
        1 => {
            let stat = match c.u32().ok_or_else(short)? {
                0 => {
                    c.u32().ok_or_else(short)?;
                    opaque(&mut c, MAX_AUTH_BYTES).ok_or_else(short)?;
                    ReplyStat::Accepted(c.u32().ok_or_else(short)?)
                }
                1 => ReplyStat::Denied(c.u32().ok_or_else(short)?),
                _ => return Err(ParseError::Malformed("reply_stat is neither accepted nor denied")),
            };
            let results = match stat {
                ReplyStat::Accepted(0) => c.rest().to_vec(),
                _ => Vec::new(),
            };
            Ok(Rpc::Reply(Reply { xid, stat, results }))
        }
        _ => Err(ParseError::Malformed("message type is neither call nor reply")),
    }
}

/// Whether `b` plausibly starts an RPC call to NFS (the bytes after the record mark on TCP).
pub fn looks_like_nfs_call(b: &[u8]) -> bool {
    let v = crate::bytes::View(b);
    v.u32(4) == Some(0) && v.u32(8) == Some(2) && v.u32(12) == Some(NFS_PROGRAM)
}

pub fn auth_flavor(f: u32) -> String {
    match f {
        0 => "none".into(),
        1 => "unix".into(),
        2 => "short".into(),
        3 => "des".into(),
        6 => "rpcsec_gss".into(),
        n => format!("unknown ({n})"),
    }
}

/// Packetbeat's `rpc.status` of a reply.
pub fn rpc_status(s: &ReplyStat) -> &'static str {
    match s {
        ReplyStat::Accepted(0) => "success",
        ReplyStat::Accepted(1) => "prog_unavail",
        ReplyStat::Accepted(2) => "prog_mismatch",
        ReplyStat::Accepted(3) => "proc_unavail",
        ReplyStat::Accepted(4) => "garbage_args",
        ReplyStat::Accepted(5) => "system_err",
        ReplyStat::Denied(0) => "rpc_mismatch",
        ReplyStat::Denied(1) => "auth_error",
        _ => "unknown",
    }
}

const V3_PROCS: [&str; 22] = [
    "NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE", "CREATE",
    "MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK", "READDIR", "READDIRPLUS",
    "FSSTAT", "FSINFO", "PATHCONF", "COMMIT",
];

pub fn v3_proc_name(p: u32) -> String {
    V3_PROCS.get(p as usize).map(|s| (*s).to_owned()).unwrap_or_else(|| format!("UNKNOWN_{p}"))
}

const V4_OPS: [&str; 76] = [
    "", "", "", "ACCESS", "CLOSE", "COMMIT", "CREATE", "DELEGPURGE", "DELEGRETURN", "GETATTR",
    "GETFH", "LINK", "LOCK", "LOCKT", "LOCKU", "LOOKUP", "LOOKUPP", "NVERIFY", "OPEN",
    "OPENATTR", "OPEN_CONFIRM", "OPEN_DOWNGRADE", "PUTFH", "PUTPUBFH", "PUTROOTFH", "READ",
    "READDIR", "READLINK", "REMOVE", "RENAME", "RENEW", "RESTOREFH", "SAVEFH", "SECINFO",
    "SETATTR", "SETCLIENTID", "SETCLIENTID_CONFIRM", "VERIFY", "WRITE", "RELEASE_LOCKOWNER",
    "BACKCHANNEL_CTL", "BIND_CONN_TO_SESSION", "EXCHANGE_ID", "CREATE_SESSION",
    "DESTROY_SESSION", "FREE_STATEID", "GET_DIR_DELEGATION", "GETDEVICEINFO", "GETDEVICELIST",
    "LAYOUTCOMMIT", "LAYOUTGET", "LAYOUTRETURN", "SECINFO_NO_NAME", "SEQUENCE", "SET_SSV",
    "TEST_STATEID", "WANT_DELEGATION", "DESTROY_CLIENTID", "RECLAIM_COMPLETE", "ALLOCATE",
    "COPY", "COPY_NOTIFY", "DEALLOCATE", "IO_ADVISE", "LAYOUTERROR", "LAYOUTSTATS",
    "OFFLOAD_CANCEL", "OFFLOAD_STATUS", "READ_PLUS", "SEEK", "WRITE_SAME", "CLONE", "GETXATTR",
    "SETXATTR", "LISTXATTRS", "REMOVEXATTR",
];

pub fn v4_op_name(op: u32) -> String {
    match V4_OPS.get(op as usize) {
        Some(s) if !s.is_empty() => (*s).to_owned(),
        _ if op == 10044 => "ILLEGAL".into(),
        _ => format!("UNKNOWN_{op}"),
    }
}

/// Packetbeat's names of nfsstat3 / nfsstat4 values.
pub fn status_name(s: u32) -> String {
    let n = match s {
        0 => "NFS_OK",
        1 => "NFSERR_PERM",
        2 => "NFSERR_NOENT",
        5 => "NFSERR_IO",
        6 => "NFSERR_NXIO",
        13 => "NFSERR_ACCES",
        17 => "NFSERR_EXIST",
        18 => "NFSERR_XDEV",
        19 => "NFSERR_NODEV",
        20 => "NFSERR_NOTDIR",
        21 => "NFSERR_ISDIR",
        22 => "NFSERR_INVAL",
        27 => "NFSERR_FBIG",
        28 => "NFSERR_NOSPC",
        30 => "NFSERR_ROFS",
        31 => "NFSERR_MLINK",
        63 => "NFSERR_NAMETOOLONG",
        66 => "NFSERR_NOTEMPTY",
        69 => "NFSERR_DQUOT",
        70 => "NFSERR_STALE",
        71 => "NFSERR_REMOTE",
        10001 => "NFSERR_BADHANDLE",
        10002 => "NFSERR_NOT_SYNC",
        10003 => "NFSERR_BAD_COOKIE",
        10004 => "NFSERR_NOTSUPP",
        10005 => "NFSERR_TOOSMALL",
        10006 => "NFSERR_SERVERFAULT",
        10007 => "NFSERR_BADTYPE",
        10008 => "NFSERR_DELAY",
        10009 => "NFSERR_SAME",
        10010 => "NFSERR_DENIED",
        10011 => "NFSERR_EXPIRED",
        10012 => "NFSERR_LOCKED",
        10013 => "NFSERR_GRACE",
        10014 => "NFSERR_FHEXPIRED",
        10015 => "NFSERR_SHARE_DENIED",
        10016 => "NFSERR_WRONGSEC",
        10017 => "NFSERR_CLID_INUSE",
        10018 => "NFSERR_RESOURCE",
        10019 => "NFSERR_MOVED",
        10020 => "NFSERR_NOFILEHANDLE",
        10021 => "NFSERR_MINOR_VERS_MISMATCH",
        10022 => "NFSERR_STALE_CLIENTID",
        10023 => "NFSERR_STALE_STATEID",
        10024 => "NFSERR_OLD_STATEID",
        10025 => "NFSERR_BAD_STATEID",
        10026 => "NFSERR_BAD_SEQID",
        10027 => "NFSERR_NOT_SAME",
        10028 => "NFSERR_LOCK_RANGE",
        10029 => "NFSERR_SYMLINK",
        10030 => "NFSERR_RESTOREFH",
        10031 => "NFSERR_LEASE_MOVED",
        10032 => "NFSERR_ATTRNOTSUPP",
        10033 => "NFSERR_NO_GRACE",
        10034 => "NFSERR_RECLAIM_BAD",
        10035 => "NFSERR_RECLAIM_CONFLICT",
        10036 => "NFSERR_BADXDR",
        10037 => "NFSERR_LOCKS_HELD",
        10038 => "NFSERR_OPENMODE",
        10039 => "NFSERR_BADOWNER",
        10040 => "NFSERR_BADCHAR",
        10041 => "NFSERR_BADNAME",
        10042 => "NFSERR_BAD_RANGE",
        10043 => "NFSERR_LOCK_NOTSUPP",
        10044 => "NFSERR_OP_ILLEGAL",
        10045 => "NFSERR_DEADLOCK",
        10046 => "NFSERR_FILE_OPEN",
        10047 => "NFSERR_ADMIN_REVOKED",
        10048 => "NFSERR_CB_PATH_DOWN",
        n => return format!("NFSERR_{n}"),
    };
    n.to_owned()
}

/// What an NFS call's arguments tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallInfo {
    /// Procedure (v3) or main operation (v4) name.
    pub opcode: String,
    pub minor_version: Option<u32>,
    pub tag: Option<String>,
    /// v4: operation names in order (at most `MAX_OPS`).
    pub ops: Vec<String>,
    /// v4: whether operations were left out (limit or an operation whose arguments are not
    /// decoded).
    pub ops_truncated: bool,
    pub fh: Option<String>,
    pub name: Option<String>,
    /// RENAME target / LINK name.
    pub to_name: Option<String>,
    pub offset: Option<u64>,
    pub count: Option<u32>,
}

fn hex(b: &[u8]) -> String {
    b.iter().take(MAX_FH_BYTES).map(|x| format!("{x:02x}")).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(..MAX_NAME_BYTES).unwrap_or(b)).into_owned()
}

/// Arguments of an NFSv3 call. Fields the capture cut off are left out.
pub fn v3_call(proc_: u32, args: &[u8]) -> CallInfo {
    let mut info = CallInfo { opcode: v3_proc_name(proc_), ..CallInfo::default() };
    let mut c = Cursor::new(args);
    let fh = |c: &mut Cursor<'_>| opaque(c, 64).map(hex);
    let name = |c: &mut Cursor<'_>| opaque(c, MAX_NAME_BYTES * 4).map(text);
    match proc_ {
        1 | 2 | 4 | 5 | 16 | 17 | 18 | 19 | 20 => info.fh = fh(&mut c),
        6 | 7 | 21 => {
            info.fh = fh(&mut c);
            info.offset = c.u64();
            info.count = c.u32();
        }
        3 | 8 | 9 | 10 | 11 | 12 | 13 => {
            info.fh = fh(&mut c);
            info.name = name(&mut c);
        }
        14 => {
            info.fh = fh(&mut c);
            info.name = name(&mut c);
            let _to_dir = fh(&mut c);
            info.to_name = name(&mut c);
        }
        15 => {
            info.fh = fh(&mut c);
            let _dir = fh(&mut c);
            info.to_name = name(&mut c);
        }
        _ => {}
    }
    info
}

/// Operations NFSv4 clients put around the one that says what a COMPOUND does.
const V4_HELPERS: &[u32] = &[53, 22, 23, 24, 31, 32, 10, 9];

/// Arguments of an NFSv4 call: COMPOUND (procedure 1) tag, minor version and operations.
pub fn v4_call(proc_: u32, args: &[u8]) -> CallInfo {
    if proc_ != 1 {
        return CallInfo { opcode: "NULL".into(), ..CallInfo::default() };
    }
    let mut info = CallInfo::default();
    let mut c = Cursor::new(args);
    info.tag = opaque(&mut c, MAX_NAME_BYTES).map(text);
    info.minor_version = c.u32();
    let n = c.u32().unwrap_or(0);
    let mut codes = Vec::new();
    for i in 0..n {
        let Some(op) = c.u32() else {
            info.ops_truncated = true;
            break;
        };
        if i as usize >= MAX_OPS {
            info.ops_truncated = true;
            break;
        }
        codes.push(op);
        info.ops.push(v4_op_name(op));
        if v4_skip_args(op, &mut c, &mut info).is_none() {
            if i + 1 < n {
                info.ops_truncated = true;
            }
            break;
        }
    }
    let main = codes.iter().find(|op| !V4_HELPERS.contains(op)).or(codes.last());
    info.opcode = main.map(|op| v4_op_name(*op)).unwrap_or_else(|| "COMPOUND".into());
    info
}

fn bitmap(c: &mut Cursor<'_>) -> Option<()> {
    let n = c.u32()? as usize;
    if n > 8 {
        return None;
    }
    c.skip(n * 4)
}

/// Skips one operation's arguments, noting names and handles; `None` when they are not decoded.
fn v4_skip_args(op: u32, c: &mut Cursor<'_>, info: &mut CallInfo) -> Option<()> {
    match op {
        10 | 23 | 24 | 31 | 32 | 16 | 19 => Some(()), // no args (OPENATTR has a bool)
        3 | 52 | 58 => c.skip(4),
        9 => bitmap(c),
        22 => {
            info.fh = Some(hex(opaque(c, MAX_FH_BYTES)?));
            Some(())
        }
        15 | 28 => {
            let name = text(opaque(c, MAX_NAME_BYTES * 4)?);
            info.name = Some(name);
            Some(())
        }
        29 => {
            info.name = Some(text(opaque(c, MAX_NAME_BYTES * 4)?));
            info.to_name = Some(text(opaque(c, MAX_NAME_BYTES * 4)?));
            Some(())
        }
        53 => c.skip(32),
        4 => c.skip(20),
        5 => {
            info.offset = Some(c.u64()?);
            info.count = Some(c.u32()?);
            Some(())
        }
        25 => {
            c.skip(16)?;
            info.offset = Some(c.u64()?);
            info.count = Some(c.u32()?);
            Some(())
        }
        38 => {
            c.skip(16)?;
            info.offset = Some(c.u64()?);
            c.skip(4)?;
            let data = opaque(c, usize::MAX >> 1)?;
            info.count = u32::try_from(data.len()).ok();
            Some(())
        }
        26 => {
            c.skip(24)?;
            bitmap(c)
        }
        30 | 57 => c.skip(8),
        44 => c.skip(16),
        18 => v4_open(c, info),
        _ => None,
    }
}

/// OPEN4args up to the claim; a CLAIM_NULL name is the file name.
fn v4_open(c: &mut Cursor<'_>, info: &mut CallInfo) -> Option<()> {
    c.skip(4 + 4 + 4 + 8)?; // seqid, share_access, share_deny, owner clientid
    opaque(c, 1024)?; // owner
    if c.u32()? == 1 {
        // OPEN4_CREATE
        match c.u32()? {
            0 | 1 => {
                bitmap(c)?;
                opaque(c, 1 << 16)?;
            }
            2 => {
                c.skip(8)?;
            }
            3 => {
                c.skip(8)?;
                bitmap(c)?;
                opaque(c, 1 << 16)?;
            }
            _ => return None,
        }
    }
    match c.u32()? {
        0 => {
            info.name = Some(text(opaque(c, MAX_NAME_BYTES * 4)?));
            Some(())
        }
        4 | 5 => Some(()), // CLAIM_FH, CLAIM_DELEG_PREV_FH
        1 => c.skip(4),
        2 => {
            c.skip(16)?;
            info.name = Some(text(opaque(c, MAX_NAME_BYTES * 4)?));
            Some(())
        }
        3 => {
            info.name = Some(text(opaque(c, MAX_NAME_BYTES * 4)?));
            Some(())
        }
        6 => c.skip(16),
        _ => None,
    }
}

/// Status of an NFS reply: nfsstat3 first for v3; for a v4 COMPOUND the compound status and
/// the number of results (the last one is the failing operation when the status is not OK).
pub fn reply_status(vers: u32, proc_: u32, results: &[u8]) -> (Option<u32>, Option<u32>) {
    if proc_ == 0 {
        return (None, None);
    }
    let mut c = Cursor::new(results);
    let status = c.u32();
    if vers != 4 {
        return (status, None);
    }
    let _tag = opaque(&mut c, MAX_NAME_BYTES);
    (status, c.u32())
}
