//! What a librdkafka error means for the event it concerns, kept apart from the IO.
//!
//! librdkafka already retries transient errors internally until `message.timeout.ms`; an error
//! that still reaches a delivery report is either transient all the same (the pipeline backs off
//! and resends: `Retry`), final for this event (`Reject`, counted and logged), or a fatal error of
//! the idempotent producer (`Fatal`: the producer is rebuilt and the event resent). Unknown codes
//! are retried: a wrong retry delays, a wrong reject loses an event.

use rdkafka::error::{KafkaError, RDKafkaErrorCode as C};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Retry,
    Reject,
    Fatal,
}

pub fn classify_code(code: C) -> Class {
    match code {
        // The event itself, its topic or our permissions: resending cannot help.
        C::MessageSizeTooLarge
        | C::InvalidMessageSize
        | C::MessageBatchTooLarge
        | C::InvalidRecord
        | C::InvalidTimestamp
        | C::BadMessage
        | C::InvalidArgument
        | C::InvalidTopic
        | C::UnknownTopic
        | C::UnknownPartition
        | C::TopicAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::PolicyViolation
        | C::InvalidRequiredAcks
        | C::InvalidRequest
        | C::UnsupportedVersion
        | C::UnsupportedForMessageFormat
        | C::UnsupportedCompressionType => Class::Reject,
        // The idempotent producer's state is broken: a new producer instance is needed.
        C::Fatal
        | C::Fenced
        | C::ProducerFenced
        | C::InvalidProducerEpoch
        | C::OutOfOrderSequenceNumber => Class::Fatal,
        // Timeouts, broker or leader changes, NotEnoughReplicas, transport errors, purges, …
        _ => Class::Retry,
    }
}

pub fn classify(err: &KafkaError) -> Class {
    match err.rdkafka_error_code() {
        Some(code) => classify_code(code),
        None => match err {
            KafkaError::Nul(_) => Class::Reject,
            _ => Class::Retry,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_retried() {
        for code in [
            C::MessageTimedOut,
            C::RequestTimedOut,
            C::AllBrokersDown,
            C::BrokerTransportFailure,
            C::NotLeaderForPartition,
            C::LeaderNotAvailable,
            C::NotEnoughReplicas,
            C::NotEnoughReplicasAfterAppend,
            C::NetworkException,
            C::UnknownTopicOrPartition,
            C::QueueFull,
            C::PurgeQueue,
            C::PurgeInflight,
            C::KafkaStorageError,
            C::ThrottlingQuotaExceeded,
        ] {
            assert_eq!(classify(&KafkaError::MessageProduction(code)), Class::Retry, "{code:?}");
        }
    }

    #[test]
    fn permanent_errors_are_rejected() {
        for code in [
            C::MessageSizeTooLarge,
            C::InvalidTopic,
            C::UnknownTopic,
            C::TopicAuthorizationFailed,
            C::ClusterAuthorizationFailed,
            C::InvalidRecord,
            C::MessageBatchTooLarge,
            C::UnsupportedCompressionType,
        ] {
            assert_eq!(classify(&KafkaError::MessageProduction(code)), Class::Reject, "{code:?}");
        }
        let nul = std::ffi::CString::new("a\0b").unwrap_err();
        assert_eq!(classify(&KafkaError::Nul(nul)), Class::Reject);
    }

    #[test]
    fn producer_fatal_errors_rebuild() {
        for code in [C::Fatal, C::ProducerFenced, C::OutOfOrderSequenceNumber] {
            assert_eq!(classify(&KafkaError::MessageProduction(code)), Class::Fatal, "{code:?}");
        }
        assert_eq!(classify(&KafkaError::Canceled), Class::Retry);
    }
}
