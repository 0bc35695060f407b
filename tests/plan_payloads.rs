//! Typed change payloads read back what vend wrote: every change in the plan-case snapshots
//! (plan JSON v1) deserializes into a typed `Change` and serializes to the same text, key
//! order included, so saved plans keep their `plan_id` and digest and apply sends the same
//! idempotency tokens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::fs;
use std::path::Path;
use vend::plan::Change;

#[test]
fn every_snapshotted_change_round_trips_through_its_typed_payload() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut seen = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("json@") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        // insta header: `---` ... `---`, then the document.
        let body = text.splitn(3, "---\n").nth(2).unwrap();
        let doc: Value = serde_json::from_str(body).unwrap();
        for c in doc["changes"].as_array().unwrap() {
            let typed: Change = serde_json::from_value(c.clone())
                .unwrap_or_else(|e| panic!("{name}: {} does not read: {e}", c["address"]));
            let again = serde_json::to_string(&typed).unwrap();
            assert_eq!(again, c.to_string(), "{name}: {} changes on a round trip", c["address"]);
            seen += 1;
        }
    }
    assert!(seen > 100, "only {seen} changes found");
}
