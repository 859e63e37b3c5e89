//! Capture: capture files (pcap, pcapng) in `file`, live interfaces (libpcap) in `live`, and the
//! `--dump` writers in `dump`. Frames leave here as bytes with a timestamp, a wire length and a
//! link type; nothing here decodes them.
//!
//! Why not the `pcap-file` crate (MIT): for reading, it knows only the microsecond and nanosecond
//! pcap magics (not the "modified" magic, the record-header variants Wireshark guesses, or the
//! swapped length fields of pcap before 2.3) and its errors carry no file offset, so the corpus
//! truth made with tshark would disagree; our reader also hands out frames of several link types
//! from one pcapng file, borrowed from our own buffer. For writing, the two writers in `dump` are a few dozen
//! lines each with output checked by tshark; a dependency would not make them shorter.

pub mod af_packet;
pub mod config;
pub mod dump;
pub mod file;
pub mod live;

pub use dump::{PcapWriter, PcapngWriter};
pub use file::{CaptureFile, CaptureFileError, Frame, LINKTYPE_MASK, MAX_CAPLEN};
