//! Client side of the contract: typed operations, one [`ApiClient`], typed errors.
//! No UI types here.

mod client;
pub mod ops;

pub use client::{ApiClient, ApiError, AuthScheme, Refusal};
