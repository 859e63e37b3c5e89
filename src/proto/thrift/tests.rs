//! Thrift tests.
