//! CQL parser and session on frames of `tests/data/cassandra/cassandra.pcap`.
