//! wirebeat: packets to Elastic Common Schema events.
//!
//! Data path (see ARCHITECTURE.md): `capture` → `pipeline` (shards frames over workers) →
//! `decode` (+ defragmentation, tunnels) → `flow` (tables, Community ID) → `ecs` (typed events,
//! derived fields, serialized once) → `sink` (console, file).
pub mod backoff;
pub mod bytes;
pub mod capture;
pub mod cli;
pub mod community_id;
pub mod config;
pub mod content;
pub mod decode;
pub mod detect;
pub mod ecs;
pub mod flow;
#[doc(hidden)]
pub mod fuzzing;
pub mod kibana;
pub mod logging;
pub mod pipeline;
pub mod processors;
pub mod proto;
pub mod queue;
pub mod reload;
pub mod service;
pub mod setup;
pub mod shutdown;
pub mod sink;
pub mod stats;
pub mod time;
pub mod units;
pub mod yaml;
