//! AMQP parser and session tests.
