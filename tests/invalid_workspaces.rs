//! Every invalid-workspace fixture (tests/fixtures/invalid/<case>/) over the demo workspace:
//! vend exits 1, does not panic, and reports each expected diagnostic at the expected place.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[test]
fn every_invalid_fixture_reports_its_diagnostic() {
    let base = root();
    let base_state = root().join("snapshots/demo.state.json");
    let cases = cases(&root().join("tests/fixtures/invalid"));
    assert!(cases.len() >= 25, "expected at least 25 invalid fixtures, found {}", cases.len());
    let mut failures = vec![];
    for case in &cases {
        let ws = materialize(&base, &base_state, case);
        let stage = std::fs::read_to_string(case.join("stage")).unwrap_or_default();
        let (out, diags): (_, Vec<(String, String, Option<String>)>) = if stage.trim() == "plan" {
            let out = run(&["-C", ".", "--state", "state.json", "plan", "--json"], ws.path());
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!("{}: plan --json is not JSON ({e}): {}", name(case), text(&out.stderr))
            });
            assert_eq!(json["applyable"], false, "{}: plan must not be applyable", name(case));
            let diags = json["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let loc = d["file"].as_str().map(|f| {
                        format!(
                            "{f}:{}:{}",
                            d["line"].as_u64().unwrap_or(0),
                            d["column"].as_u64().unwrap_or(0)
                        )
                    });
                    (
                        d["severity"].as_str().unwrap().to_string(),
                        d["code"].as_str().unwrap().to_string(),
                        loc,
                    )
                })
                .collect();
            (out, diags)
        } else {
            let out = run(&["-C", ".", "validate"], ws.path());
            let diags = parse_diagnostics(&text(&out.stderr));
            (out, diags)
        };
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{}: vend panicked:\n{stderr}", name(case));
        if out.status.code() != Some(1) {
            failures.push(format!("{}: exit {:?}, expected 1\n{stderr}", name(case), out.status.code()));
            continue;
        }
        let expect = std::fs::read_to_string(case.join("expect"))
            .unwrap_or_else(|_| panic!("{}: missing expect file", name(case)));
        for line in expect.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (code, place) = line.split_once(' ').unwrap_or((line, "-"));
            let found = diags.iter().any(|(sev, c, loc)| {
                sev == "error"
                    && c == code
                    && match (place, loc) {
                        ("-", _) => true,
                        (p, Some(l)) => l == p || l.starts_with(&format!("{p}:")),
                        (_, None) => false,
                    }
            });
            if !found {
                failures.push(format!(
                    "{}: expected error [{code}] at {place}; got {diags:?}\n{stderr}",
                    name(case)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
