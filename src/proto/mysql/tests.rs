//! MySQL parser and session tests.
