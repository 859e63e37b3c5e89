//! Capture: capture files (pcap, pcapng) and live interfaces (libpcap).
