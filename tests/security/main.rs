//! The key service under hostile keys and requests (issue 6): what a request may cost, what
//! the gate refuses before anything runs or is audited, and who may see and do what. Each
//! test reproduces one attack that worked before and fails now.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

#[path = "../common/mod.rs"]
mod common;

mod authz;
mod cost;
mod gate;
mod relations;
