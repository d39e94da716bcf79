//! keydeck: administer API keys, identities, roles and PostgreSQL query statistics from a
//! terminal, and the reference GraphQL key service it talks to.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod platform;
pub mod server;
pub mod text;
pub mod token;
pub mod ttl;
pub mod tui;
