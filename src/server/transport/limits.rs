//! What `keydeck serve` allows one client: how long it may take to send a request, how many
//! connections may be open, how many failed authentications an address may make. Hostile or
//! broken clients hit these; ordinary ones never notice them.

use std::num::NonZeroU32;
use std::time::Duration;

/// The transport limits of the service, set by `keydeck serve` flags; tests and the demo use
/// [`Limits::default`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a connection may take to send a request's headers, and how long it may stay
    /// idle between requests: a slow or silent client is disconnected after this.
    pub header_timeout: Duration,
    /// How long one request may take from its headers to the response, reading the body
    /// included: past this the client gets 408.
    pub request_timeout: Duration,
    /// Open connections at most. At the cap the oldest idle connection is closed to admit a
    /// new one; when none is idle, accepting waits for one to end.
    pub max_connections: usize,
    /// Failed authentications one client address may make per minute (also the burst) before
    /// its requests get 429 without any token check.
    pub auth_failures_per_minute: NonZeroU32,
}

impl Limits {
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    /// Generous: a person mistyping a token never meets it; a brute force gets 100 guesses a
    /// minute, against 62^32 possible tokens.
    pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(100).unwrap();
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            auth_failures_per_minute: Self::DEFAULT_AUTH_FAILURES_PER_MINUTE,
        }
    }
}
