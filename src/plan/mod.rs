//! The planner: a pure, deterministic `build(&Desired, &State) -> Plan`. It compares what the
//! workspace asks for with what exists, applies the ownership, absence, lifecycle and SCP rules
//! of DESIGN §2, orders the changes the way apply must run them, and reports plan-stage
//! diagnostics (those that need the state). It never does I/O and never reads the clock.

pub mod account_keys;
pub mod apply_view;
pub mod approval;
mod build;
pub mod effective;
pub mod guardrails;
pub mod lifecycle;
mod model;
mod order;
pub mod payload;
pub mod scope;

pub use account_keys::AccountKeys;
pub use build::{build, desired_addresses, unchanged};
pub use effective::EffectivePolicy;
pub use model::*;
pub use order::phase;
