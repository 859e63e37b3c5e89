//! The ILM policy `wirebeat`: hot with rollover, then delete.
//!
//! Rollover at 50 GB per primary shard or one day, whichever comes first (daily backing indices
//! make the delete phase precise for a traffic sensor's volume; Elasticsearch does not roll an
//! empty index over). Backing indices are deleted 30 days after their rollover. Clusters without
//! ILM (serverless) get the data stream lifecycle instead: see
//! [`Lifecycle::DataStream`](super::Lifecycle::DataStream), same retention.

use super::templates::RETENTION;
use serde_json::{json, Value};

/// Body of `PUT _ilm/policy/wirebeat`.
pub fn policy() -> Value {
    json!({
        "policy": {
            "_meta": {
                "managed_by": "wirebeat",
                "managed": true,
                "description": "wirebeat data streams: daily rollover (or 50gb per primary \
                                shard), deleted 30 days after rollover"
            },
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": { "max_age": "1d", "max_primary_shard_size": "50gb" },
                        "set_priority": { "priority": 100 }
                    }
                },
                "delete": {
                    "min_age": RETENTION,
                    "actions": { "delete": {} }
                }
            }
        }
    })
}
