//! memcache parser and session on real bytes.

use super::*;
