//! The vocabulary shared by every layer: the observed `State` (snapshot format v1), the
//! `Desired` state a workspace asks for, and `Diagnostic`s. Pure data: no I/O here.

mod address;
pub mod canonical;
mod desired;
mod diag;
pub mod guardrails;
pub mod operators;
pub mod snapshot_check;
mod state;

pub use address::{Address, Kind, ShareKey, Target};
pub use canonical::canonical_json;
pub use desired::*;
pub use diag::*;
pub use state::*;

use sha2::{Digest, Sha256};

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_prefixed(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}
