//! Capture: capture files (pcap, pcapng) and live interfaces (libpcap).

pub mod config;
pub mod dump;
pub mod file;
pub mod live;

pub use dump::{PcapWriter, PcapngWriter};
pub use file::{CaptureFile, CaptureFileError, Frame, LINKTYPE_MASK, MAX_CAPLEN};
