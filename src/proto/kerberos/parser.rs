//! Pure Kerberos v5 parser (RFC 4120): a small strict DER reader and the KDC messages built on
//! it (AS-REQ/AS-REP/TGS-REQ/TGS-REP/KRB-ERROR). Bytes in, a [`Message`] out; "need more
//! bytes" ([`ParseError::Incomplete`]) is never "malformed", and nothing indexes unchecked.

use crate::bytes::ParseError;

/// Longest string kept from a message (principal components, realms, e-text).
const MAX_TEXT: usize = 256;
/// Most elements read from one SEQUENCE OF (etypes, padata, name components).
const MAX_ITEMS: usize = 64;
/// Most bytes of a high tag number.
const MAX_TAG_BYTES: usize = 4;

/// One DER element: class (0 universal, 1 application, 2 context, 3 private), constructed
/// bit, tag number and contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub class: u8,
    pub constructed: bool,
    pub tag: u32,
    pub value: &'a [u8],
}

/// One element from the start of `buf` and the bytes it used. Short input is `Incomplete`;
/// indefinite lengths, lengths over 4 bytes and tags over 4 bytes are `Malformed`.
pub fn read_tlv(buf: &[u8]) -> Result<(Tlv<'_>, usize), ParseError> {
    let first = *buf.first().ok_or(ParseError::Incomplete)?;
    let mut at = 1usize;
    let mut tag = u32::from(first & 0x1f);
    if tag == 0x1f {
        tag = 0;
        let mut n = 0;
        loop {
            let b = *buf.get(at).ok_or(ParseError::Incomplete)?;
            at += 1;
            n += 1;
            if n > MAX_TAG_BYTES {
                return Err(ParseError::Malformed("tag number too long"));
            }
            tag = (tag << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l0 = *buf.get(at).ok_or(ParseError::Incomplete)?;
    at += 1;
    let len = match l0 {
        0..=0x7f => usize::from(l0),
        0x80 => return Err(ParseError::Malformed("indefinite length")),
        0x81..=0x84 => {
            let mut len = 0usize;
            for _ in 0..(l0 & 0x7f) {
                let b = *buf.get(at).ok_or(ParseError::Incomplete)?;
                at += 1;
                len = (len << 8) | usize::from(b);
            }
            len
        }
        _ => return Err(ParseError::Malformed("length longer than 4 bytes")),
    };
    let end = at.checked_add(len).ok_or(ParseError::Malformed("length overflows"))?;
    let value = buf.get(at..end).ok_or(ParseError::Incomplete)?;
    Ok((Tlv { class: first >> 6, constructed: first & 0x20 != 0, tag, value }, end))
}

/// An element inside a complete container: running short is malformed there.
fn inner(buf: &[u8]) -> Result<(Tlv<'_>, usize), ParseError> {
    read_tlv(buf).map_err(|e| match e {
        ParseError::Incomplete => ParseError::Malformed("element overruns its container"),
        m => m,
    })
}

/// The elements of a constructed value, in order (at most [`MAX_ITEMS`] kept).
fn items(mut v: &[u8]) -> Result<Vec<Tlv<'_>>, ParseError> {
    let mut out = Vec::new();
    while !v.is_empty() {
        let (t, used) = inner(v)?;
        if out.len() < MAX_ITEMS {
            out.push(t);
        }
        v = v.get(used..).unwrap_or_default();
    }
    Ok(out)
}

/// The universal SEQUENCE (tag 16, constructed) `t` must be.
fn sequence(t: Tlv<'_>) -> Result<Vec<Tlv<'_>>, ParseError> {
    if t.class != 0 || t.tag != 16 || !t.constructed {
        return Err(ParseError::Malformed("SEQUENCE expected"));
    }
    items(t.value)
}

/// The value inside the EXPLICIT context tag `[n]` among `fields`, when present.
fn field<'a>(fields: &[Tlv<'a>], n: u32) -> Result<Option<Tlv<'a>>, ParseError> {
    match fields.iter().find(|t| t.class == 2 && t.tag == n) {
        None => Ok(None),
        Some(t) if !t.constructed => Err(ParseError::Malformed("explicit tag not constructed")),
        Some(t) => {
            let (v, used) = inner(t.value)?;
            if used != t.value.len() {
                return Err(ParseError::Malformed("bytes after an explicit tag's value"));
            }
            Ok(Some(v))
        }
    }
}

fn required<'a>(fields: &[Tlv<'a>], n: u32) -> Result<Tlv<'a>, ParseError> {
    field(fields, n)?.ok_or(ParseError::Malformed("required field missing"))
}

/// A universal INTEGER (at most 8 bytes, two's complement).
fn integer(t: Tlv<'_>) -> Result<i64, ParseError> {
    if t.class != 0 || t.tag != 2 || t.constructed || t.value.is_empty() || t.value.len() > 8 {
        return Err(ParseError::Malformed("INTEGER expected"));
    }
    let neg = t.value.first().is_some_and(|b| b & 0x80 != 0);
    let mut n: i64 = if neg { -1 } else { 0 };
    for b in t.value {
        n = (n << 8) | i64::from(*b);
    }
    Ok(n)
}

/// A string type (GeneralString 27, and the other universal strings), cut to [`MAX_TEXT`].
fn string(t: Tlv<'_>) -> Result<String, ParseError> {
    if t.class != 0 || t.constructed || !matches!(t.tag, 12 | 18..=22 | 24..=30) {
        return Err(ParseError::Malformed("string expected"));
    }
    let v = t.value.get(..t.value.len().min(MAX_TEXT)).unwrap_or_default();
    Ok(String::from_utf8_lossy(v).into_owned())
}

/// KerberosTime (GeneralizedTime "YYYYMMDDHHMMSSZ") as RFC 3339 ("YYYY-MM-DDTHH:MM:SSZ").
fn time(t: Tlv<'_>) -> Result<String, ParseError> {
    if t.class != 0 || t.tag != 24 || t.constructed {
        return Err(ParseError::Malformed("GeneralizedTime expected"));
    }
    let v = t.value;
    if v.len() != 15 || v.get(14) != Some(&b'Z') || !v.iter().take(14).all(u8::is_ascii_digit) {
        return Err(ParseError::Malformed("KerberosTime is not YYYYMMDDHHMMSSZ"));
    }
    let s = |a: usize, b: usize| String::from_utf8_lossy(v.get(a..b).unwrap_or_default()).into_owned();
    Ok(format!("{}-{}-{}T{}:{}:{}Z", s(0, 4), s(4, 6), s(6, 8), s(8, 10), s(10, 12), s(12, 14)))
}

/// A PrincipalName: its name type and components.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    pub name_type: i64,
    pub components: Vec<String>,
}

impl Principal {
    /// Components joined by "/" (`krbtgt/EXAMPLE.COM`, `alice`).
    pub fn text(&self) -> String {
        self.components.join("/")
    }
}

fn principal(t: Tlv<'_>) -> Result<Principal, ParseError> {
    let f = sequence(t)?;
    let name_type = integer(required(&f, 0)?)?;
    let components =
        sequence(required(&f, 1)?)?.into_iter().map(string).collect::<Result<Vec<_>, _>>()?;
    Ok(Principal { name_type, components })
}

/// EncryptedData: its etype (the cipher itself is never kept).
fn enc_etype(t: Tlv<'_>) -> Result<i64, ParseError> {
    integer(required(&sequence(t)?, 0)?)
}

/// What kind of KDC message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Reply,
    Error,
}

/// A parsed KDC message: what the events report (nothing secret: ciphers are skipped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// 10 AS-REQ, 11 AS-REP, 12 TGS-REQ, 13 TGS-REP, 30 KRB-ERROR.
    pub msg_type: u8,
    pub cname: Option<Principal>,
    pub crealm: Option<String>,
    pub sname: Option<Principal>,
    pub realm: Option<String>,
    /// Requested encryption types (KDC-REQ-BODY etype), in the client's order.
    pub etypes: Vec<i64>,
    /// PA-DATA types the message carries.
    pub padata_types: Vec<i64>,
    /// KDCOptions, bit 0 the most significant bit.
    pub kdc_options: Option<u32>,
    pub till: Option<String>,
    pub rtime: Option<String>,
    pub ticket_etype: Option<i64>,
    pub enc_part_etype: Option<i64>,
    pub error_code: Option<i64>,
    pub e_text: Option<String>,
}

impl Message {
    pub fn kind(&self) -> Kind {
        match self.msg_type {
            10 | 12 => Kind::Request,
            11 | 13 => Kind::Reply,
            _ => Kind::Error,
        }
    }
}

/// Name of a message type.
pub fn msg_type_name(t: u8) -> &'static str {
    match t {
        10 => "AS-REQ",
        11 => "AS-REP",
        12 => "TGS-REQ",
        13 => "TGS-REP",
        30 => "KRB-ERROR",
        _ => "UNKNOWN",
    }
}

/// One Kerberos message from the start of `buf` (a UDP datagram, or a TCP record without its
/// length prefix) and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<(Message, usize), ParseError> {
    if let Some(b) = buf.first() {
        // [APPLICATION n] constructed, n in 10..=13 or 30: 0x6a..=0x6d, 0x7e.
        if !matches!(b, 0x6a..=0x6d | 0x7e) {
            return Err(ParseError::Malformed("not a KDC message"));
        }
    }
    let (app, used) = read_tlv(buf)?;
    let msg_type = u8::try_from(app.tag).unwrap_or(0);
    let (seq, rest) = inner(app.value)?;
    if rest != app.value.len() {
        return Err(ParseError::Malformed("bytes after the message's SEQUENCE"));
    }
    let f = sequence(seq)?;
    let mut m = Message { msg_type, ..Message::default() };
    match m.kind() {
        Kind::Request => request(&f, &mut m)?,
        Kind::Reply => reply(&f, &mut m)?,
        Kind::Error => error(&f, &mut m)?,
    }
    Ok((m, used))
}

fn check_header(f: &[Tlv<'_>], pvno: u32, msg_type: u8) -> Result<(), ParseError> {
    if integer(required(f, pvno)?)? != 5 {
        return Err(ParseError::Malformed("pvno is not 5"));
    }
    if integer(required(f, pvno + 1)?)? != i64::from(msg_type) {
        return Err(ParseError::Malformed("msg-type differs from the application tag"));
    }
    Ok(())
}

fn padata(t: Option<Tlv<'_>>, m: &mut Message) -> Result<(), ParseError> {
    if let Some(t) = t {
        for pa in sequence(t)? {
            m.padata_types.push(integer(required(&sequence(pa)?, 1)?)?);
        }
    }
    Ok(())
}

/// KDC-REQ ::= SEQUENCE { pvno [1], msg-type [2], padata [3] OPTIONAL, req-body [4] }
fn request(f: &[Tlv<'_>], m: &mut Message) -> Result<(), ParseError> {
    check_header(f, 1, m.msg_type)?;
    padata(field(f, 3)?, m)?;
    let b = sequence(required(f, 4)?)?;
    let opts = required(&b, 0)?;
    if opts.class != 0 || opts.tag != 3 || opts.constructed || opts.value.is_empty() {
        return Err(ParseError::Malformed("KDCOptions is not a BIT STRING"));
    }
    let mut bits = [0u8; 4];
    for (i, b) in opts.value.iter().skip(1).take(4).enumerate() {
        if let Some(slot) = bits.get_mut(i) {
            *slot = *b;
        }
    }
    m.kdc_options = Some(u32::from_be_bytes(bits));
    m.cname = field(&b, 1)?.map(principal).transpose()?;
    m.realm = Some(string(required(&b, 2)?)?);
    m.sname = field(&b, 3)?.map(principal).transpose()?;
    m.till = field(&b, 5)?.map(time).transpose()?;
    m.rtime = field(&b, 6)?.map(time).transpose()?;
    m.etypes = sequence(required(&b, 8)?)?.into_iter().map(integer).collect::<Result<_, _>>()?;
    Ok(())
}

/// KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2] OPTIONAL, crealm [3], cname [4],
/// ticket [5] Ticket, enc-part [6] EncryptedData }
fn reply(f: &[Tlv<'_>], m: &mut Message) -> Result<(), ParseError> {
    check_header(f, 0, m.msg_type)?;
    padata(field(f, 2)?, m)?;
    m.crealm = Some(string(required(f, 3)?)?);
    m.cname = Some(principal(required(f, 4)?)?);
    // Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] }
    let tkt = required(f, 5)?;
    if tkt.class != 1 || tkt.tag != 1 || !tkt.constructed {
        return Err(ParseError::Malformed("Ticket is not [APPLICATION 1]"));
    }
    let (tseq, _) = inner(tkt.value)?;
    let t = sequence(tseq)?;
    m.realm = Some(string(required(&t, 1)?)?);
    m.sname = Some(principal(required(&t, 2)?)?);
    m.ticket_etype = Some(enc_etype(required(&t, 3)?)?);
    m.enc_part_etype = Some(enc_etype(required(f, 6)?)?);
    Ok(())
}

/// KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0], msg-type [1], ctime [2] OPTIONAL,
/// cusec [3] OPTIONAL, stime [4], susec [5], error-code [6], crealm [7] OPTIONAL, cname [8]
/// OPTIONAL, realm [9], sname [10], e-text [11] OPTIONAL, e-data [12] OPTIONAL }
fn error(f: &[Tlv<'_>], m: &mut Message) -> Result<(), ParseError> {
    if m.msg_type != 30 {
        return Err(ParseError::Malformed("not a KDC message"));
    }
    check_header(f, 0, m.msg_type)?;
    m.error_code = Some(integer(required(f, 6)?)?);
    m.crealm = field(f, 7)?.map(string).transpose()?;
    m.cname = field(f, 8)?.map(principal).transpose()?;
    m.realm = Some(string(required(f, 9)?)?);
    m.sname = Some(principal(required(f, 10)?)?);
    m.e_text = field(f, 11)?.map(string).transpose()?;
    // e-data of PREAUTH_REQUIRED is METHOD-DATA (a SEQUENCE OF PA-DATA): the types it offers.
    if let Some(ed) = field(f, 12)? {
        if let Ok((inner_seq, _)) = inner(ed.value) {
            let mut probe = Message::default();
            if padata(Some(inner_seq), &mut probe).is_ok() {
                m.padata_types = probe.padata_types;
            }
        }
    }
    Ok(())
}

/// Names of the KDCOptions bits set in `flags` (bit 0 is the most significant).
pub fn kdc_option_names(flags: u32) -> Vec<&'static str> {
    const NAMES: &[(u32, &str)] = &[
        (1, "forwardable"),
        (2, "forwarded"),
        (3, "proxiable"),
        (4, "proxy"),
        (5, "allow-postdate"),
        (6, "postdated"),
        (8, "renewable"),
        (10, "opt-hardware-auth"),
        (14, "constrained-delegation"),
        (15, "canonicalize"),
        (16, "request-anonymous"),
        (26, "disable-transited-check"),
        (27, "renewable-ok"),
        (28, "enc-tkt-in-skey"),
        (30, "renew"),
        (31, "validate"),
    ];
    NAMES.iter().filter(|(bit, _)| flags & (1u32 << (31 - bit)) != 0).map(|(_, n)| *n).collect()
}

/// Name of an error code (RFC 4120 section 7.5.9, RFC 4556, RFC 6113).
pub fn error_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        4 => "KDC_ERR_C_OLD_MAST_KVNO",
        5 => "KDC_ERR_S_OLD_MAST_KVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        10 => "KDC_ERR_CANNOT_POSTDATE",
        11 => "KDC_ERR_NEVER_VALID",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        15 => "KDC_ERR_SUMTYPE_NOSUPP",
        16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        17 => "KDC_ERR_TRTYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        21 => "KDC_ERR_CLIENT_NOTYET",
        22 => "KDC_ERR_SERVICE_NOTYET",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        26 => "KDC_ERR_SERVER_NOMATCH",
        27 => "KDC_ERR_MUST_USE_USER2USER",
        28 => "KDC_ERR_PATH_NOT_ACCEPTED",
        29 => "KDC_ERR_SVC_UNAVAILABLE",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        33 => "KRB_AP_ERR_TKT_NYV",
        34 => "KRB_AP_ERR_REPEAT",
        35 => "KRB_AP_ERR_NOT_US",
        36 => "KRB_AP_ERR_BADMATCH",
        37 => "KRB_AP_ERR_SKEW",
        38 => "KRB_AP_ERR_BADADDR",
        39 => "KRB_AP_ERR_BADVERSION",
        40 => "KRB_AP_ERR_MSG_TYPE",
        41 => "KRB_AP_ERR_MODIFIED",
        42 => "KRB_AP_ERR_BADORDER",
        44 => "KRB_AP_ERR_BADKEYVER",
        45 => "KRB_AP_ERR_NOKEY",
        46 => "KRB_AP_ERR_MUT_FAIL",
        47 => "KRB_AP_ERR_BADDIRECTION",
        48 => "KRB_AP_ERR_METHOD",
        49 => "KRB_AP_ERR_BADSEQ",
        50 => "KRB_AP_ERR_INAPP_CKSUM",
        51 => "KRB_AP_PATH_NOT_ACCEPTED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        61 => "KRB_ERR_FIELD_TOOLONG",
        62 => "KDC_ERR_CLIENT_NOT_TRUSTED",
        63 => "KDC_ERR_KDC_NOT_TRUSTED",
        64 => "KDC_ERR_INVALID_SIG",
        65 => "KDC_ERR_KEY_TOO_WEAK",
        66 => "KDC_ERR_CERTIFICATE_MISMATCH",
        67 => "KRB_AP_ERR_NO_TGT",
        68 => "KDC_ERR_WRONG_REALM",
        69 => "KRB_AP_ERR_USER_TO_USER_REQUIRED",
        70 => "KDC_ERR_CANT_VERIFY_CERTIFICATE",
        71 => "KDC_ERR_INVALID_CERTIFICATE",
        72 => "KDC_ERR_REVOKED_CERTIFICATE",
        73 => "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
        74 => "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
        75 => "KDC_ERR_CLIENT_NAME_MISMATCH",
        76 => "KDC_ERR_KDC_NAME_MISMATCH",
        90 => "KDC_ERR_PREAUTH_EXPIRED",
        91 => "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
        _ => return None,
    })
}

/// Weak encryption types: DES (1, 2, 3) and RC4-HMAC (23, 24), what Kerberoasting asks for.
pub fn is_weak_etype(e: i64) -> bool {
    matches!(e, 1..=3 | 23 | 24)
}
