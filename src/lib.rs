//! keydeck: administer API keys, identities, roles and PostgreSQL query statistics from a
//! terminal, and the reference GraphQL key service it talks to.
#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator, for every program built on this library (the
/// binary, its tests and benches alike): the service allocates and frees many small objects
/// per request from several threads, where glibc's malloc took a large share of its CPU
/// (`perf` under `cargo bench --bench me_wrk`). Its version 2 (the crate's `v2`): version 3
/// committed its arenas eagerly and grew the CLI's resident memory by half (benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod api;
pub mod cli;
pub mod platform;
pub mod roles;
pub mod server;
pub mod text;
pub mod token;
pub mod ttl;
pub mod tui;
