//! What to do with a `_bulk` answer, decided apart from the IO (Vector's `retry.rs` habit).
//!
//! Per item (as Beats' `bulkCollectPublishFails`): < 300 indexed; 409 on `create` means the same
//! `_id` is already there, which with our deterministic ids is a duplicate of an earlier attempt
//! (delivered); 429 and 5xx are transient (retry the item); any other 4xx (mapping or parsing
//! errors, 404) never succeeds (dead letter, rejected).
//!
//! Per request: 200 has items; 413 means the body is over `http.max_content_length` (split);
//! 429, 408 and 5xx are transient (retry with backoff, failover for 5xx); 401/403 mean the
//! credentials are wrong or were revoked (the output cannot work); any other status is a request
//! the cluster will never accept (its events are rejected).

/// The fate of one bulk item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemClass {
    Indexed,
    Duplicate,
    Retry,
    Reject,
}

pub fn classify_item(status: u16) -> ItemClass {
    match status {
        200..=299 => ItemClass::Indexed,
        409 => ItemClass::Duplicate,
        429 => ItemClass::Retry,
        500..=599 => ItemClass::Retry,
        _ => ItemClass::Reject,
    }
}

/// The fate of a whole `_bulk` request, from its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// Read the items.
    Items,
    /// 413: split the batch.
    TooLarge,
    /// Try again later; `failover` says the host itself looks unwell.
    Retry { failover: bool },
    /// Credentials refused: the output is unusable.
    Fatal,
    /// The cluster will never take this request as it is.
    Reject,
}

pub fn classify_request(status: u16) -> RequestClass {
    match status {
        200 => RequestClass::Items,
        413 => RequestClass::TooLarge,
        408 | 429 => RequestClass::Retry { failover: false },
        401 | 403 => RequestClass::Fatal,
        500..=599 => RequestClass::Retry { failover: true },
        // 1xx/3xx/other 2xx are not what `_bulk` answers: a proxy in the way; try again.
        100..=199 | 201..=399 => RequestClass::Retry { failover: true },
        _ => RequestClass::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        assert_eq!(classify_item(201), ItemClass::Indexed);
        assert_eq!(classify_item(200), ItemClass::Indexed);
        assert_eq!(classify_item(409), ItemClass::Duplicate);
        assert_eq!(classify_item(429), ItemClass::Retry);
        assert_eq!(classify_item(503), ItemClass::Retry);
        assert_eq!(classify_item(400), ItemClass::Reject);
        assert_eq!(classify_item(404), ItemClass::Reject);
    }

    #[test]
    fn requests() {
        assert_eq!(classify_request(200), RequestClass::Items);
        assert_eq!(classify_request(413), RequestClass::TooLarge);
        assert_eq!(classify_request(429), RequestClass::Retry { failover: false });
        assert_eq!(classify_request(503), RequestClass::Retry { failover: true });
        assert_eq!(classify_request(401), RequestClass::Fatal);
        assert_eq!(classify_request(400), RequestClass::Reject);
    }
}
