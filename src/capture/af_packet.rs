//! Live capture through Linux AF_PACKET with a TPACKET_V3 memory-mapped ring, without libpcap
//! on the data path (libpcap only compiles the BPF filter, which then runs in the kernel).
//!
//! One socket per ring. With `fanout`, an interface gets one socket per worker, joined in one
//! PACKET_FANOUT group (hash): the kernel spreads the traffic over several rings, so one busy
//! flow cannot fill the buffer of all the others, and each socket has its own drop counter.
//! The rings are read by the capture thread, which shards frames over the workers by wirebeat's
//! own flow hash (inner headers of tunnels, fragments): so the kernel's hash, which differs for
//! fragments and for tunnels with per-direction outer ports, never splits a flow over workers,
//! and the kernel's defragmentation (PACKET_FANOUT_FLAG_DEFRAG) is not asked for: wirebeat sees
//! and counts the fragments as they were on the wire.
//!
//! The ring (kernel ABI, `Documentation/networking/packet_mmap.rst`): `block_nr` blocks of
//! `block_size` bytes. The kernel fills a block with frames (`tpacket3_hdr`, then the frame at
//! `tp_mac`, the next at `tp_next_offset`) and hands it to user space by setting
//! `TP_STATUS_USER` in the block's status, when it is full or `block_timeout_ms` after its first
//! frame; user space reads every frame and gives the block back by writing `TP_STATUS_KERNEL`.
//! Frames are read in place (no copy until the pipeline's batch); a frame whose VLAN tag the
//! kernel took into the header gets it put back, as libpcap does, so decode sees the wire.
//!
//! Setup order matters: the socket is created for no protocol (it receives nothing), gets its
//! ring and filter, and only then is bound to the interface for every protocol, so no frame
//! reaches the ring unfiltered; it joins the fanout group last.
//!
//! This is the one module of the crate with `unsafe` code: the socket calls, the mapping and the
//! reads of the ring the kernel writes. Every block states why it is sound.
#![allow(unsafe_code)]

use super::live::{FrameSink, LiveStats};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

/// `ETH_P_ALL` in network byte order, as `sll_protocol` and `socket()` want it.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
/// Link types (pcap's) a ring can hand out.
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;

/// The ring's geometry and the fanout, from the interface's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSpec {
    /// Bytes of one block (a multiple of the page size).
    pub block_size: u32,
    /// Blocks in the ring.
    pub block_nr: u32,
    /// Milliseconds before the kernel hands over a partly filled block.
    pub block_timeout_ms: u32,
    pub snaplen: u32,
    pub promiscuous: bool,
}

/// Why a socket could not be set up or read.
#[derive(Debug, thiserror::Error)]
pub enum AfPacketError {
    #[error("{what}: {source}")]
    Os { what: String, source: std::io::Error },
    #[error("{0}")]
    Unsupported(String),
}

fn os(what: impl Into<String>) -> AfPacketError {
    AfPacketError::Os { what: what.into(), source: std::io::Error::last_os_error() }
}

/// The interface's index and pcap link type, from sysfs (`type` is the ARPHRD_* number).
pub fn interface_info(name: &str) -> Result<(i32, u32), AfPacketError> {
    if name == "any" {
        return Err(AfPacketError::Unsupported(
            "type af_packet captures on one interface, not \"any\" (use type: pcap for any)".into(),
        ));
    }
    let read = |file: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{name}/{file}"))
            .map_err(|source| AfPacketError::Os {
                what: format!("no such interface (/sys/class/net/{name}/{file})"),
                source,
            })
            .map(|s| s.trim().to_string())
    };
    let ifindex: i32 = read("ifindex")?
        .parse()
        .map_err(|_| AfPacketError::Unsupported(format!("unreadable ifindex of {name}")))?;
    let arphrd: u32 = read("type")?
        .parse()
        .map_err(|_| AfPacketError::Unsupported(format!("unreadable link type of {name}")))?;
    let linktype = match arphrd {
        // Ethernet, and loopback (which Linux frames as Ethernet with zero addresses).
        1 | 772 => LINKTYPE_ETHERNET,
        // No link header at all (tun, WireGuard): the frame starts with the IP header.
        65534 => LINKTYPE_RAW,
        other => {
            return Err(AfPacketError::Unsupported(format!(
                "link type ARPHRD {other} of {name} is not supported by type af_packet (use type: pcap)"
            )))
        }
    };
    Ok((ifindex, linktype))
}

/// BPF instructions of a filter compiled by libpcap for `linktype`, as the kernel takes them.
/// (The `pcap` crate shows an instruction's fields only through its `Display`: "code jt jf k".)
pub fn compile_filter(
    filter: &str,
    linktype: u32,
    snaplen: u32,
) -> Result<Vec<libc::sock_filter>, String> {
    let dead =
        pcap::Capture::dead_with_precision(pcap::Linktype(linktype as i32), pcap::Precision::Nano)
            .map_err(|e| e.to_string())?;
    let _ = snaplen;
    let prog = dead.compile(filter, true).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for insn in prog.get_instructions() {
        let text = insn.to_string();
        let f: Vec<u64> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
        let [code, jt, jf, k] = f[..] else {
            return Err(format!("unreadable BPF instruction {text:?}"));
        };
        out.push(libc::sock_filter { code: code as u16, jt: jt as u8, jf: jf as u8, k: k as u32 });
    }
    Ok(out)
}

/// One AF_PACKET socket with its mapped TPACKET_V3 ring.
pub struct Ring {
    fd: OwnedFd,
    map: NonNull<u8>,
    map_len: usize,
    block_size: usize,
    block_nr: usize,
    /// The block to look at next.
    next: usize,
    pub linktype: u32,
    /// Frames rebuilt with their VLAN tag put back.
    vlan_frame: Vec<u8>,
    /// Kernel counters so far (PACKET_STATISTICS resets them on every read).
    totals: LiveStats,
}

// SAFETY: the mapping belongs to this socket alone and is only touched through `&mut self`.
unsafe impl Send for Ring {}

fn setsockopt<T>(
    fd: &OwnedFd,
    level: i32,
    name: i32,
    value: &T,
    what: &str,
) -> Result<(), AfPacketError> {
    // SAFETY: `value` is a live, initialised `T` and its exact size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(os(what))
    }
}

impl Ring {
    /// Opens a socket on `ifindex` with its ring and filter; joins fanout group `fanout` (an id)
    /// when given.
    pub fn open(
        ifindex: i32,
        linktype: u32,
        spec: RingSpec,
        filter: &[libc::sock_filter],
        fanout: Option<u16>,
    ) -> Result<Ring, AfPacketError> {
        // SAFETY: plain system call; the descriptor it returns is owned right below.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(os("socket(AF_PACKET) (needs CAP_NET_RAW)"));
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &version,
            "PACKET_VERSION TPACKET_V3",
        )?;
        // Frame size only matters to the kernel's checks on V3 (frames are packed by length).
        let frame_size = 2048u32;
        let req = libc::tpacket_req3 {
            tp_block_size: spec.block_size,
            tp_block_nr: spec.block_nr,
            tp_frame_size: frame_size,
            tp_frame_nr: (u64::from(spec.block_size) * u64::from(spec.block_nr)
                / u64::from(frame_size)) as u32,
            tp_retire_blk_tov: spec.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req, "PACKET_RX_RING")?;
        let map_len = spec.block_size as usize * spec.block_nr as usize;
        // SAFETY: maps the ring the kernel just allocated for this socket; checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(os("mmap of the ring"));
        }
        let Some(map) = NonNull::new(map.cast::<u8>()) else {
            return Err(AfPacketError::Unsupported("mmap returned null".into()));
        };
        // From here on `Drop` unmaps.
        let ring = Ring {
            fd,
            map,
            map_len,
            block_size: spec.block_size as usize,
            block_nr: spec.block_nr as usize,
            next: 0,
            linktype,
            vlan_frame: Vec::new(),
            totals: LiveStats::default(),
        };
        if !filter.is_empty() {
            let prog =
                libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr().cast_mut() };
            setsockopt(
                &ring.fd,
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                &prog,
                "SO_ATTACH_FILTER",
            )?;
        }
        // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set after.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL_BE;
        sll.sll_ifindex = ifindex;
        // SAFETY: `sll` is a complete sockaddr_ll and its size is passed with it.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os("bind to the interface"));
        }
        if spec.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(
                &ring.fd,
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                &mreq,
                "promiscuous mode",
            )?;
        }
        if let Some(group) = fanout {
            let mode = libc::PACKET_FANOUT_HASH;
            let arg: libc::c_int = (u32::from(group) | (mode << 16)) as libc::c_int;
            setsockopt(&ring.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg, "PACKET_FANOUT")?;
        }
        Ok(ring)
    }

    /// The block status word of block `i`, read with acquire ordering (the kernel wrote the
    /// frames before it set `TP_STATUS_USER`).
    fn block_status(&self, i: usize) -> u32 {
        // SAFETY: `i < block_nr`, so the block descriptor lies inside the mapping; the status is
        // the first field of `hdr.bh1`, at offset 8 of the block, 4-byte aligned (blocks are
        // page aligned). Volatile: the kernel writes it concurrently.
        let v = unsafe {
            let p = self.map.as_ptr().add(i * self.block_size + 8).cast::<u32>();
            std::ptr::read_volatile(p)
        };
        fence(Ordering::Acquire);
        v
    }

    /// Reads whole ready blocks until at least `max` frames were handed to `f` or no block is
    /// ready; returns the frames read. `f` gets (timestamp ns, wire length, link type, bytes).
    pub fn poll(&mut self, max: usize, f: &mut FrameSink<'_>) -> usize {
        let mut n = 0;
        while n < max && self.block_status(self.next) & libc::TP_STATUS_USER != 0 {
            n += self.read_block(self.next, f);
            // Give the block back: every read of it happened before (release).
            fence(Ordering::Release);
            // SAFETY: as in `block_status`; the kernel takes the block back when it sees 0.
            unsafe {
                let p = self.map.as_ptr().add(self.next * self.block_size + 8).cast::<u32>();
                std::ptr::write_volatile(p, libc::TP_STATUS_KERNEL);
            }
            self.next = (self.next + 1) % self.block_nr;
        }
        n
    }

    /// Hands every frame of ready block `i` to `f`. The kernel's offsets are checked against the
    /// block's bounds before use, so a bad block ends the read of that block, never a wild read.
    fn read_block(&mut self, i: usize, f: &mut FrameSink<'_>) -> usize {
        // SAFETY: block `i` lies inside the mapping and is ours until we hand it back
        // (TP_STATUS_USER was seen with acquire ordering): the kernel does not write it now.
        let block: &[u8] = unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(i * self.block_size), self.block_size)
        };
        let u32_at = |off: usize| -> Option<u32> {
            block.get(off..off + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        };
        let u16_at = |off: usize| -> Option<u16> {
            block.get(off..off + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]))
        };
        // tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1 at 8:
        // block_status 8, num_pkts 12, offset_to_first_pkt 16.
        let (Some(num), Some(first)) = (u32_at(12), u32_at(16)) else {
            return 0;
        };
        let mut off = first as usize;
        let mut read = 0;
        for _ in 0..num {
            // tpacket3_hdr: next_offset 0, sec 4, nsec 8, snaplen 12, len 16, status 20,
            // mac 24 (u16), net 26, hv1 { rxhash 28, vlan_tci 32, vlan_tpid 36 }.
            let (Some(next), Some(sec), Some(nsec), Some(caplen), Some(len), Some(status)) = (
                u32_at(off),
                u32_at(off + 4),
                u32_at(off + 8),
                u32_at(off + 12),
                u32_at(off + 16),
                u32_at(off + 20),
            ) else {
                break;
            };
            let (Some(mac), Some(tci), Some(tpid)) =
                (u16_at(off + 24), u32_at(off + 32), u16_at(off + 36))
            else {
                break;
            };
            let start = off + mac as usize;
            let Some(data) = block.get(start..start + caplen as usize) else {
                break;
            };
            let ts = i64::from(sec) * 1_000_000_000 + i64::from(nsec);
            let vlan = status & libc::TP_STATUS_VLAN_VALID != 0;
            if vlan && self.linktype == LINKTYPE_ETHERNET && data.len() >= 12 {
                let tpid =
                    if status & libc::TP_STATUS_VLAN_TPID_VALID != 0 { tpid } else { 0x8100 };
                let v = &mut self.vlan_frame;
                v.clear();
                v.extend_from_slice(&data[..12]);
                v.extend_from_slice(&tpid.to_be_bytes());
                v.extend_from_slice(&(tci as u16).to_be_bytes());
                v.extend_from_slice(&data[12..]);
                f(ts, len.saturating_add(4), self.linktype, v);
            } else {
                f(ts, len, self.linktype, data);
            }
            read += 1;
            if next == 0 {
                break;
            }
            off += next as usize;
        }
        read
    }

    /// Kernel counters since the socket opened: frames the kernel accepted into the ring
    /// (`received`, including the dropped) and frames dropped because the ring was full.
    pub fn stats(&mut self) -> LiveStats {
        let mut st = libc::tpacket_stats_v3 { tp_packets: 0, tp_drops: 0, tp_freeze_q_cnt: 0 };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` and `len` are live and `len` is `st`'s size.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            self.totals.received += u64::from(st.tp_packets);
            self.totals.dropped += u64::from(st.tp_drops);
        }
        self.totals
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `open` made; nothing borrows it past `&mut self`.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_to_kernel_instructions() {
        let prog = compile_filter("tcp port 80", LINKTYPE_ETHERNET, 65535).unwrap_or_default();
        assert!(prog.len() > 4, "{}", prog.len());
        // The last instructions return: accept (snaplen) and drop (0).
        assert!(prog.iter().any(|i| i.code == 0x06 && i.k == 0));
        assert!(prog.iter().any(|i| i.code == 0x06 && i.k > 0));
        assert!(compile_filter("tcp port", LINKTYPE_ETHERNET, 65535).is_err());
    }

    #[test]
    fn any_is_not_an_af_packet_interface() {
        let e = interface_info("any").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("type: pcap"), "{e}");
        let e = interface_info("no-such-if0").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("no such interface"), "{e}");
    }
}
