//! Fuzz target: arbitrary workspace files (overlaid on the demo workspace or alone, see
//! `common::files_from`) through `workspace::load`, then what `vend validate` and `vend plan`
//! do next (plan against the demo state, text and JSON renderers).
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (files, upgrade) = common::files_from(data);
    let _ = files.fingerprint();
    let loaded = vend::workspace::load_with(&files, upgrade);
    common::validate_and_plan(&loaded, common::demo_state());
});
