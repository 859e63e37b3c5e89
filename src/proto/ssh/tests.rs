//! SSH parser and session tests.
