//! Fuzz target: arbitrary bytes as a saved plan file (`adapter::fs::parse_plan`, integrity
//! checks included), then everything `vend show FILE [--json]` prints and the checks
//! `vend apply FILE` runs before any cloud call. The plan id and digest are only checksums
//! (anyone can recompute them), so the target also re-seals each structurally valid input and
//! runs the same steps on it: a forged but consistent plan must not crash vend either.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = vend::adapter::fs::parse_plan(data, "fuzz.plan.json") {
        common::show(&plan);
        common::apply_guards(&plan);
    }
    if let Ok(plan) = vend::adapter::fs::decode_plan(data, "fuzz.plan.json") {
        let sealed = plan.reseal();
        common::show(&sealed);
        common::apply_guards(&sealed);
        let bytes = vend::adapter::fs::plan_file_bytes(&sealed);
        assert!(
            vend::adapter::fs::parse_plan(&bytes, "resealed.plan.json").is_ok(),
            "a re-sealed plan is refused"
        );
    }
});
