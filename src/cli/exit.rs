//! What keydeck's exit status tells a script; the README's table of exit codes is this file.
//!
//! - 0: done, or stdout was closed by its reader ([`StdoutClosed`]: `keydeck keys list | head`)
//! - 1: the command failed or did nothing: the service refused, a key or identity was not
//!   found or ambiguous, the service could not be reached, a role to remove was not held
//! - 2: usage: the command line itself is wrong (clap's parse errors, and [`Usage`] for the
//!   checks clap cannot express, such as a TTL's syntax)

use super::output::StdoutClosed;

/// The command did what was asked (or its reader left early).
pub const OK: i32 = 0;
/// The command failed or did nothing.
pub const FAILURE: i32 = 1;
/// The command line is wrong; clap uses the same code for its own parse errors.
pub const USAGE: i32 = 2;

/// A mistake in the command line found after parsing: exits [`USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// The exit status for a command that ended with `error`.
pub fn code(error: &anyhow::Error) -> i32 {
    if error.downcast_ref::<StdoutClosed>().is_some() {
        OK
    } else if error.downcast_ref::<Usage>().is_some() {
        USAGE
    } else {
        FAILURE
    }
}

/// A [`Usage`] error, for `?` and `map_err`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}
