//! QUIC Initial protection (RFC 9001 section 5, RFC 9369 section 3.3): the Initial secrets from
//! the client's first Destination Connection ID, header protection removal (AES-128-ECB mask)
//! and the AEAD_AES_128_GCM payload. HKDF-Extract/Expand come from `ring`; HKDF-Expand-Label
//! (RFC 8446 section 7.1) is built here.

use ring::aead::quic::{HeaderProtectionKey, AES_128};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use ring::hkdf::{KeyType, Prk, Salt, HKDF_SHA256};

/// QUIC version 1 (RFC 9000).
pub const V1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const V2: u32 = 0x6b33_43cf;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// Drafts 29 to 34.
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
/// Drafts 23 to 28.
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// Whether the version's long headers and Initial protection are known here.
pub fn known_version(v: u32) -> bool {
    salt(v).is_some()
}

fn salt(v: u32) -> Option<&'static [u8; 20]> {
    match v {
        V1 => Some(&SALT_V1),
        V2 => Some(&SALT_V2),
        0xff00_001d..=0xff00_0022 => Some(&SALT_DRAFT29),
        0xff00_0017..=0xff00_001c => Some(&SALT_DRAFT23),
        _ => None,
    }
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label(secret, label, "", len) of RFC 8446 section 7.1.
pub fn expand_label(prk: &Prk, label: &[u8], len: usize) -> Option<Vec<u8>> {
    let out_len = u16::try_from(len).ok()?.to_be_bytes();
    let label_len = [u8::try_from(6 + label.len()).ok()?];
    let context_len = [0u8];
    let info: [&[u8]; 5] = [&out_len, &label_len, b"tls13 ", label, &context_len];
    let okm = prk.expand(&info, Len(len)).ok()?;
    let mut out = vec![0; len];
    okm.fill(&mut out).ok()?;
    Some(out)
}

/// The raw Initial secret and keys of one side (for the RFC test vectors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKeys {
    pub secret: Vec<u8>,
    pub key: Vec<u8>,
    pub iv: Vec<u8>,
    pub hp: Vec<u8>,
}

/// Initial secret and keys of the client (`server` false) or the server for the client's first
/// Destination Connection ID; `None` for a version without known Initial salt.
pub fn initial_raw(version: u32, dcid: &[u8], server: bool) -> Option<RawKeys> {
    let initial = Salt::new(HKDF_SHA256, salt(version)?).extract(dcid);
    let side: &[u8] = if server { b"server in" } else { b"client in" };
    let secret = expand_label(&initial, side, 32)?;
    let prk = Prk::new_less_safe(HKDF_SHA256, &secret);
    let (lk, li, lh): (&[u8], &[u8], &[u8]) = if version == V2 {
        (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
    } else {
        (b"quic key", b"quic iv", b"quic hp")
    };
    Some(RawKeys {
        key: expand_label(&prk, lk, 16)?,
        iv: expand_label(&prk, li, 12)?,
        hp: expand_label(&prk, lh, 16)?,
        secret,
    })
}

/// Keys ready to open one side's Initial packets.
pub struct Keys {
    aead: LessSafeKey,
    iv: [u8; 12],
    hp: HeaderProtectionKey,
}

impl Keys {
    pub fn initial(version: u32, dcid: &[u8], server: bool) -> Option<Keys> {
        let raw = initial_raw(version, dcid, server)?;
        Some(Keys {
            aead: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &raw.key).ok()?),
            iv: raw.iv.as_slice().try_into().ok()?,
            hp: HeaderProtectionKey::new(&AES_128, &raw.hp).ok()?,
        })
    }
}

/// Full packet number from its truncated form (RFC 9000 appendix A.3).
pub fn decode_pn(largest: Option<u64>, truncated: u64, bits: u32) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits;
    let half = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(half) <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(half) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Removes header protection and decrypts a long-header packet in place. `pkt` is exactly the
/// packet (its Length field's end), `pn_offset` where the packet number starts. Returns the
/// packet number and the plaintext's range in `pkt`.
pub fn open(
    keys: &Keys,
    pkt: &mut [u8],
    pn_offset: usize,
    largest: Option<u64>,
) -> Result<(u64, std::ops::Range<usize>), &'static str> {
    let sample = pkt
        .get(pn_offset.saturating_add(4)..pn_offset.saturating_add(20))
        .ok_or("packet too short for the header protection sample")?;
    let mask = keys.hp.new_mask(sample).map_err(|_| "header protection")?;
    let b0 = pkt.first().copied().ok_or("empty packet")? ^ (mask[0] & 0x0f);
    let pn_len = usize::from(b0 & 0x03) + 1;
    let mut truncated = 0u64;
    for i in 0..pn_len {
        let b = pkt.get_mut(pn_offset + i).ok_or("packet number cut short")?;
        *b ^= mask.get(1 + i).copied().unwrap_or(0);
        truncated = (truncated << 8) | u64::from(*b);
    }
    if let Some(first) = pkt.first_mut() {
        *first = b0;
    }
    let pn = decode_pn(largest, truncated, 8 * pn_len as u32);
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let start = pn_offset + pn_len;
    if pkt.len() < start + 16 {
        return Err("packet shorter than its authentication tag");
    }
    let (header, payload) = pkt.split_at_mut(start);
    let plain = keys
        .aead
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&*header), payload)
        .map_err(|_| "payload authentication failed")?;
    let len = plain.len();
    Ok((pn, start..start + len))
}
