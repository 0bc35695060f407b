//! Fuzz target: arbitrary bytes as a snapshot / state file (`adapter::fs::parse_state`), then
//! what `vend plan` does with a state: fingerprint, normalise, plan the demo workspace against
//! it, render.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut state) = vend::adapter::fs::parse_state(data, "fuzz.state.json") else { return };
    let fingerprint = state.fingerprint();
    state.normalize();
    assert_eq!(fingerprint, state.fingerprint(), "normalising changes the fingerprint");
    let _ = serde_json::to_vec(&state);
    common::validate_and_plan(common::demo_loaded(), &state);
});
