//! The service's transport, below GraphQL: the accept loop (header-read timeout, connection
//! cap), the HTTP router (GraphQL over HTTP, content negotiation, body limits), the limits it
//! is configured with, the nesting pre-check on request bodies, and the failed-authentication
//! throttle.

pub mod http;
pub mod limits;
pub mod listener;
pub mod nesting;
pub mod throttle;
