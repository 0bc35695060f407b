//! Certificate-Transparency-style tamper test of the audit log: build a genuine log (three
//! sessions, a torn line and its recovery, varied events and details), derive hundreds of
//! deterministic mutations — a changed field in records, deleted, swapped, duplicated, forged or
//! re-signed records, truncation with and without a forged head, garbage, head edits — and
//! assert `verify` rejects every one while the genuine log verifies.
//!
//! One class needs pinned keys: a log re-signed from its first record with another key (and a
//! matching head) is self-consistent, so only `operators:` pins can reject it. Those mutations are
//! checked with the genuine key pinned; every other mutation without pins (trust on first use),
//! and a fixed sample of them with pins too. Not covered because a local head cannot catch it: replacing the
//! log by a genuine prefix together with the genuine head of that moment (a rollback).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The test prints its mutation count.
#![allow(clippy::print_stderr)]

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use vend::adapter::audit::{GENESIS, Head, JsonlAudit, head_path, record_hash, record_line, verify};
use vend::adapter::keys::Operator;
use vend::port::{Audit, AuditEvent};

/// SplitMix64: a small deterministic generator (no RNG crate needed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn genuine() -> Operator {
    Operator::new(SigningKey::from_bytes(&[0x11; 32]), "ana")
}
fn mallory() -> Operator {
    Operator::new(SigningKey::from_bytes(&[0x66; 32]), "ana")
}

fn clock(start: u64) -> impl Fn() -> String + Send + 'static {
    let t = Arc::new(AtomicU64::new(start));
    move || {
        let s = t.fetch_add(7, Ordering::SeqCst);
        format!("2026-11-{:02}T{:02}:{:02}:{:02}Z", 2 + s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60)
    }
}

fn events(session: usize, n: usize) -> Vec<AuditEvent> {
    let plan = format!("sha256:{:064x}", 0xA11CE + session);
    let mut out = vec![AuditEvent::from_parts(
        &plan,
        "apply-start",
        "",
        json!({"changes": n, "summary": {"create": 3, "update": 1, "delete": 0}, "approvals": []}),
    )];
    for i in 1..n - 1 {
        let address = format!("account:team-{session}-{i}");
        out.push(if i % 2 == 1 {
            AuditEvent::from_parts(&plan, "intent", &address, json!({"op": "CreateAccount", "name": format!("team {i}"), "email": format!("t{i}@example.com"),
                                "tags": {"owner": "platform", "vend:managed": "true"}, "attempt": 1}))
        } else {
            AuditEvent::from_parts(&plan, "outcome", &address, json!({"status": if i % 4 == 0 { "FAILED" } else { "SUCCEEDED" }, "request_id": format!("car-{i:032x}"),
                                "result": format!("{:012}", 100_000_000_000u64 + i as u64), "latency_s": 1.25 * i as f64,
                                "note": "naïve ✓ \"quoted\" \\ back\nslash"}))
        });
    }
    out.push(AuditEvent::from_parts(&plan, "apply-end", "", json!({"ok": session != 2, "failed": null})));
    out
}

struct Genuine {
    lines: Vec<String>,
    head: Vec<u8>,
    /// Heads at the end of each session.
    old_heads: Vec<Vec<u8>>,
}

fn build(dir: &Path) -> Genuine {
    let log = dir.join(".vend/audit.jsonl");
    let head = head_path(&log);
    let mut old_heads = Vec::new();
    let mut append_session = |s: usize, n: usize, aws: Option<Value>| {
        let mut a = JsonlAudit::open(&log, genuine(), clock(s as u64 * 5000)).unwrap();
        a.set_aws_identity(aws);
        for e in events(s, n) {
            a.append(e).unwrap();
        }
        verify(&log, &head, &[]).unwrap();
        old_heads.push(fs::read(&head).unwrap());
    };
    append_session(1, 12, None);
    // A crash mid-write leaves a torn line; the next session records the recovery.
    fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(br#"{"v":1,"seq":13,"ts":"2026-11-02T01:"#)
        .unwrap();
    assert!(verify(&log, &head, &[]).is_err());
    append_session(2, 10, None);
    append_session(
        3,
        9,
        Some(
            json!({"account": "111111111111", "arn": "arn:aws:sts::111111111111:assumed-role/Platform/ana", "user_id": "AROAEXAMPLE:ana"}),
        ),
    );
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines.len() >= 30, "{}", lines.len());
    assert!(lines.iter().any(|l| l.contains(r#""event":"recovery""#)));
    Genuine { lines, head: fs::read(&head).unwrap(), old_heads }
}

struct Mutation {
    name: String,
    log: Vec<u8>,
    head: Option<Vec<u8>>,
    /// Only detectable with the genuine key pinned (whole-log re-signing).
    needs_pin: bool,
}

fn join(lines: &[String]) -> Vec<u8> {
    lines.iter().flat_map(|l| l.bytes().chain([b'\n'])).collect()
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

/// Recompute `hash` and sign it with `signer`; optionally claim `signer`'s key in `actor.key`.
fn reseal(v: &mut Value, signer: &Operator, claim_key: bool) {
    if claim_key {
        v["actor"]["key"] = Value::from(signer.public_key_hex.clone());
    }
    let hash = record_hash(v);
    v["sig"] = Value::from(signer.sign_hex(hash.as_bytes()));
    v["hash"] = Value::from(hash);
}

/// Renumber and re-link records `from..` and re-sign them with `signer`.
fn rechain(values: &mut [Value], from: usize, signer: &Operator, claim_key: bool) {
    for i in from..values.len() {
        let prev =
            if i == 0 { GENESIS.to_string() } else { values[i - 1]["hash"].as_str().unwrap().to_string() };
        values[i]["seq"] = Value::from(i as u64 + 1);
        values[i]["prev"] = Value::from(prev);
        reseal(&mut values[i], signer, claim_key);
    }
}

fn head_for(values: &[Value], signer: &Operator) -> Vec<u8> {
    let (seq, hash) = match values.last() {
        Some(v) => (v["seq"].as_u64().unwrap(), v["hash"].as_str().unwrap().to_string()),
        None => (0, GENESIS.to_string()),
    };
    Head::signed(signer, seq, &hash).to_line().into_bytes()
}

/// Lines as vend writes them (or plain JSON when the record is not even well-formed).
fn lines_of(values: &[Value]) -> Vec<String> {
    values.iter().map(|v| record_line(v).unwrap_or_else(|_| v.to_string())).collect()
}

const FIELDS: [&str; 13] = [
    "v",
    "seq",
    "ts",
    "actor.user",
    "actor.key",
    "actor.aws",
    "plan_id",
    "event",
    "address",
    "detail",
    "prev",
    "hash",
    "sig",
];

fn field_mut<'a>(v: &'a mut Value, field: &str) -> &'a mut Value {
    match field.split_once('.') {
        Some((a, b)) => &mut v[a][b],
        None => &mut v[field],
    }
}

/// Change a JSON value (always to something different).
fn mutate_value(v: &Value, rng: &mut Rng) -> Value {
    const CHARS: &[u8] = b"0123456789abcdefABCDEF-_:xyz Z";
    loop {
        let out = match v {
            Value::Null => {
                rng.pick(&[json!({"account": "222222222222"}), json!(""), json!(0), json!(false)]).clone()
            }
            Value::Bool(b) => Value::from(!b),
            Value::Number(n) => {
                let x = n.as_f64().unwrap();
                match rng.below(4) {
                    0 => json!(x + 1.0),
                    1 => json!(n.as_u64().map_or(0, |u| u.wrapping_sub(1))),
                    2 => json!((x * 2.0) as i64 + 7),
                    _ => json!(0),
                }
            }
            Value::String(s) => {
                let mut b = s.clone().into_bytes();
                let ascii: Vec<usize> = (0..b.len()).filter(|&i| b[i].is_ascii()).collect();
                match rng.below(4) {
                    0 | 1 if !ascii.is_empty() => {
                        let i = *rng.pick(&ascii);
                        b[i] = *rng.pick(CHARS);
                    }
                    2 => b.push(*rng.pick(CHARS)),
                    _ if !b.is_empty() => {
                        let i = rng.below(b.len());
                        b.remove(i);
                    }
                    _ => b.push(b'x'),
                }
                match String::from_utf8(b) {
                    Ok(s) => Value::from(s),
                    Err(_) => Value::from(format!("{s}!")),
                }
            }
            Value::Array(items) => {
                let mut items = items.clone();
                if items.is_empty() || rng.below(3) == 0 {
                    items.push(json!("extra"));
                } else {
                    let i = rng.below(items.len());
                    items[i] = mutate_value(&items[i], rng);
                }
                Value::Array(items)
            }
            Value::Object(map) => {
                let mut map = map.clone();
                let keys: Vec<String> = map.keys().cloned().collect();
                match rng.below(5) {
                    0 => {
                        map.insert("extra".into(), json!(1));
                    }
                    1 if !keys.is_empty() => {
                        map.shift_remove(rng.pick(&keys));
                    }
                    _ if !keys.is_empty() => {
                        let k = rng.pick(&keys).clone();
                        let new = mutate_value(&map[&k], rng);
                        map.insert(k, new);
                    }
                    _ => {
                        map.insert("extra".into(), json!(1));
                    }
                }
                Value::Object(map)
            }
        };
        if out != *v {
            return out;
        }
    }
}

fn mutations(g: &Genuine, rng: &mut Rng) -> Vec<Mutation> {
    let n = g.lines.len();
    let values: Vec<Value> = g.lines.iter().map(|l| parse(l)).collect();
    let mallory = mallory();
    let mut out = Vec::new();
    let head = || Some(g.head.clone());

    // 1. Every field of random records: a semantic change (the line stays well-formed JSON in
    //    vend's form, so the hash or signature must catch it) and a raw bit flip in its text.
    for field in FIELDS {
        for _ in 0..20 {
            let r = rng.below(n);
            let mut v = values[r].clone();
            let slot = field_mut(&mut v, field);
            *slot = mutate_value(slot, rng);
            let mut lines = g.lines.clone();
            lines[r] = lines_of(&[v]).remove(0);
            add(&mut out, format!("field {field} of record {} changed", r + 1), join(&lines), head(), false);
        }
        for _ in 0..12 {
            let r = rng.below(n);
            let mut v = values[r].clone();
            let key = field.rsplit('.').next().unwrap();
            let text = format!("\"{key}\":{}", field_mut(&mut v, field));
            let at =
                g.lines[r].find(&text).unwrap_or_else(|| panic!("{text} in {}", g.lines[r])) + key.len() + 3;
            let len = text.len() - key.len() - 3;
            let mut bytes = g.lines[r].clone().into_bytes();
            let i = at + rng.below(len);
            bytes[i] ^= 1 << rng.below(8);
            if bytes[i] == b'\n' {
                bytes[i] ^= 0x80;
            }
            let mut log = join(&g.lines);
            let start: usize = g.lines[..r].iter().map(|l| l.len() + 1).sum();
            log[start..start + bytes.len()].copy_from_slice(&bytes);
            add(&mut out, format!("bit flip in {field} of record {}", r + 1), log, head(), false);
        }
    }

    // 1b. Same meaning, other bytes: vend's line form is unique, so these are edits too.
    for _ in 0..6 {
        let r = rng.below(n);
        let line = &g.lines[r];
        let mut v = values[r].clone();
        let detail_first = {
            let d = v["detail"].as_object_mut().unwrap();
            let k = d.keys().next_back().unwrap().clone();
            let x = d.shift_remove(&k).unwrap();
            d.shift_insert(0, k, x);
            v.to_string()
        };
        let variants = [
            (
                "keys reordered",
                line.replacen("{\"v\":1,\"seq\":", "{\"seq\":", 1).replacen(
                    ",\"ts\":",
                    ",\"v\":1,\"ts\":",
                    1,
                ),
            ),
            ("space after a colon", line.replacen("\":", "\": ", 1)),
            ("char escaped", {
                let c = values[r]["event"].as_str().unwrap().chars().next().unwrap();
                line.replacen(&format!("\"event\":\"{c}"), &format!("\"event\":\"\\u{:04x}", c as u32), 1)
            }),
            ("detail keys reordered", detail_first),
            ("duplicate key first", line.replacen("{", "{\"event\":\"harmless\",", 1)),
            ("trailing space", format!("{line} ")),
            ("CRLF", format!("{line}\r")),
        ];
        for (label, changed) in variants {
            assert_ne!(&changed, line, "{label}");
            let mut lines = g.lines.clone();
            lines[r] = changed;
            add(&mut out, format!("{label} in record {}", r + 1), join(&lines), head(), false);
        }
    }

    // 2. Deleting a record, anywhere.
    for r in 0..n {
        let mut lines = g.lines.clone();
        lines.remove(r);
        add(&mut out, format!("record {} deleted", r + 1), join(&lines), head(), false);
    }
    // 3. Swapping records: every adjacent pair and random pairs.
    for r in 0..n - 1 {
        let mut lines = g.lines.clone();
        lines.swap(r, r + 1);
        add(&mut out, format!("records {} and {} swapped", r + 1, r + 2), join(&lines), head(), false);
    }
    for _ in 0..20 {
        let (a, b) = (rng.below(n), rng.below(n));
        if a == b {
            continue;
        }
        let mut lines = g.lines.clone();
        lines.swap(a, b);
        add(&mut out, format!("records {} and {} swapped", a + 1, b + 1), join(&lines), head(), false);
    }
    // 4. Duplicated (replayed) records.
    for r in (0..n).step_by(3).chain([n - 1]) {
        let mut lines = g.lines.clone();
        lines.insert(r + 1, g.lines[r].clone());
        add(&mut out, format!("record {} duplicated", r + 1), join(&lines.clone()), head(), false);
        let last = values.len();
        let _ = last;
    }
    for r in [0, n / 2, n - 1] {
        let mut lines = g.lines.clone();
        lines.push(g.lines[r].clone());
        add(&mut out, format!("record {} replayed at the end", r + 1), join(&lines), head(), false);
    }

    // 5. Truncation: drop the last k records, with the head untouched, edited to match (old
    //    signature), re-signed by another key, deleted, or replaced by an older genuine head that
    //    does not match the cut (one that matches is a rollback a local head cannot detect).
    for k in 1..=12 {
        let kept = &values[..n - k];
        let lines = lines_of(kept);
        add(
            &mut out,
            format!("last {k} records dropped, head untouched"),
            join(&lines.clone()),
            head(),
            false,
        );
        let mut h: Head = serde_json::from_slice(&g.head).unwrap();
        h.seq = (n - k) as u64;
        h.hash = kept.last().unwrap()["hash"].as_str().unwrap().to_string();
        add(
            &mut out,
            format!("last {k} records dropped, head edited"),
            join(&lines.clone()),
            Some(h.to_line().into_bytes()),
            false,
        );
        add(
            &mut out,
            format!("last {k} records dropped, head re-signed by another key"),
            join(&lines.clone()),
            Some(head_for(kept, &mallory)),
            false,
        );
        add(&mut out, format!("last {k} records dropped, head deleted"), join(&lines.clone()), None, false);
        for (i, old) in g.old_heads.iter().enumerate() {
            let old_head: Head = serde_json::from_slice(old).unwrap();
            if old_head.seq != (n - k) as u64 {
                add(
                    &mut out,
                    format!("last {k} records dropped, head of session {}", i + 1),
                    join(&lines.clone()),
                    Some(old.clone()),
                    false,
                );
            }
        }
    }
    add(&mut out, "every record dropped, head kept".into(), join(&[]), head(), false);
    out.push(Mutation {
        name: "log file emptied to one newline".into(),
        log: b"\n".to_vec(),
        head: head(),
        needs_pin: false,
    });

    // 6. Garbage appended, with and without a final newline.
    let garbage: Vec<Vec<u8>> = vec![
        b"x".to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        br#"{"v":1}"#.to_vec(),
        b"".to_vec(),
        b" ".to_vec(),
        b"\r".to_vec(),
        b"\xff\xfe\x00garbage".to_vec(),
        g.lines[n - 1].replace("\"seq\":", "\"seq\":1").into_bytes(),
        (0..64).map(|_| rng.next() as u8).collect(),
        (0..300).map(|_| b' ' + (rng.next() % 90) as u8).collect(),
    ];
    for (i, bytes) in garbage.iter().enumerate() {
        for newline in [true, false] {
            if bytes.is_empty() && !newline {
                continue;
            }
            let mut log = join(&g.lines);
            log.extend_from_slice(bytes);
            if newline {
                log.push(b'\n');
            }
            add(&mut out, format!("garbage {i} appended (newline: {newline})"), log, head(), false);
        }
    }
    // Garbage inserted in the middle, and a blank line.
    for r in [0, n / 3, n - 2] {
        let mut lines = g.lines.clone();
        lines.insert(r + 1, String::new());
        add(&mut out, format!("blank line after record {}", r + 1), join(&lines), head(), false);
        let mut lines = g.lines.clone();
        lines.insert(r + 1, "{\"note\":\"hello\"}".into());
        add(&mut out, format!("JSON inserted after record {}", r + 1), join(&lines), head(), false);
    }

    // 7. Forged records inserted: plausible fields, correct seq and prev for their place.
    for p in [0, 1, 5, 12, 13, n / 2, n - 1, n] {
        let forged = |claim: &Operator, signer: &Operator| {
            let mut v = values[p.min(n - 1)].clone();
            v["seq"] = json!(p as u64 + 1);
            v["prev"] = json!(if p == 0 {
                GENESIS.to_string()
            } else {
                values[p - 1]["hash"].as_str().unwrap().to_string()
            });
            v["event"] = json!("intent");
            v["address"] = json!("account:backdoor");
            v["detail"] = json!({"op": "CreateAccount", "name": "backdoor", "email": "evil@example.com"});
            v["actor"]["key"] = json!(claim.public_key_hex.clone());
            reseal(&mut v, signer, false);
            v
        };
        let insert = |v: Value| {
            let mut vs = values.clone();
            vs.insert(p, v);
            vs
        };
        // Signed with another key, which it names; nothing after it re-chained.
        let vs = insert(forged(&mallory, &mallory));
        add(&mut out, format!("forged record at {} (other key)", p + 1), join(&lines_of(&vs)), head(), false);
        // ... and everything after it re-chained and re-signed by that key, head too.
        let mut vs = insert(forged(&mallory, &mallory));
        rechain(&mut vs, p, &mallory, true);
        // At the very start this re-signs the whole log with the other key: only pins catch it.
        add(
            &mut out,
            format!("forged record at {} (other key, re-chained, head re-signed)", p + 1),
            join(&lines_of(&vs)),
            Some(head_for(&vs, &mallory)),
            p == 0,
        );
        // Naming the genuine key but signed by another.
        let mut vs = insert(forged(&genuine(), &mallory));
        rechain(&mut vs, p + 1, &mallory, false);
        add(
            &mut out,
            format!("forged record at {} (claims the genuine key)", p + 1),
            join(&lines_of(&vs)),
            Some(head_for(&vs, &mallory)),
            false,
        );
        // No or invalid signature.
        for (label, sig) in [
            ("empty sig", Some(json!(""))),
            ("zero sig", Some(json!("0".repeat(128)))),
            ("sig of a neighbour", Some(values[p.min(n - 1)]["sig"].clone())),
            ("sig not hex", Some(json!("zz".repeat(64)))),
            ("sig missing", None),
        ] {
            let mut v = forged(&genuine(), &mallory);
            match sig {
                Some(s) => v["sig"] = s,
                None => {
                    v.as_object_mut().unwrap().shift_remove("sig");
                }
            }
            let vs = insert(v);
            add(
                &mut out,
                format!("forged record at {} ({label})", p + 1),
                join(&lines_of(&vs)),
                head(),
                false,
            );
        }
    }

    // 8. A record re-signed by another key, everything after re-chained and the head re-signed.
    for r in 0..n {
        let mut vs = values.clone();
        reseal(&mut vs[r], &mallory, true);
        add(
            &mut out,
            format!("record {} re-signed by another key", r + 1),
            join(&lines_of(&vs)),
            head(),
            false,
        );
        let mut vs = values.clone();
        reseal(&mut vs[r], &mallory, true);
        rechain(&mut vs, r + 1, &mallory, true);
        // From the first record on, the whole log names one (other) key: only pins catch it.
        add(
            &mut out,
            format!("records {}.. re-signed by another key, re-chained, head re-signed", r + 1),
            join(&lines_of(&vs)),
            Some(head_for(&vs, &mallory)),
            r == 0,
        );
        let mut vs = values.clone();
        reseal(&mut vs[r], &mallory, true);
        rechain(&mut vs, r + 1, &mallory, false);
        add(
            &mut out,
            format!("record {} re-signed, later records claim the genuine key", r + 1),
            join(&lines_of(&vs)),
            Some(head_for(&vs, &mallory)),
            false,
        );
    }
    // The whole log and its head rewritten by another key, with content changed.
    let mut vs = values.clone();
    vs[4]["detail"] = json!({"op": "nothing to see"});
    rechain(&mut vs, 0, &mallory, true);
    add(
        &mut out,
        "whole log rewritten by another key".into(),
        join(&lines_of(&vs)),
        Some(head_for(&vs, &mallory)),
        true,
    );

    // 9. Content edited and the hash recomputed, without the key: the old signature stays.
    for _ in 0..25 {
        let r = rng.below(n);
        let mut vs = values.clone();
        let field = *rng.pick(&["ts", "event", "address", "detail", "plan_id", "actor.user", "actor.aws"]);
        let slot = field_mut(&mut vs[r], field);
        *slot = mutate_value(slot, rng);
        let hash = record_hash(&vs[r]);
        vs[r]["hash"] = json!(hash);
        add(
            &mut out,
            format!("{field} of record {} edited, hash recomputed", r + 1),
            join(&lines_of(&vs.clone())),
            head(),
            false,
        );
        // ... and the following records re-linked (their signatures cannot be redone).
        for i in r + 1..n {
            let prev = vs[i - 1]["hash"].clone();
            vs[i]["prev"] = prev;
            let h = record_hash(&vs[i]);
            vs[i]["hash"] = json!(h);
        }
        let mut h: Head = serde_json::from_slice(&g.head).unwrap();
        h.hash = vs[n - 1]["hash"].as_str().unwrap().to_string();
        add(
            &mut out,
            format!("{field} of record {} edited, chain and head re-hashed", r + 1),
            join(&lines_of(&vs)),
            Some(h.to_line().into_bytes()),
            false,
        );
    }

    // 10. The head edited.
    let genuine_lines = g.lines.clone();
    for _ in 0..40 {
        let mut h = g.head.clone();
        let i = rng.below(h.len());
        h[i] ^= 1 << rng.below(8);
        add(&mut out, format!("head byte {i} flipped"), join(&genuine_lines), Some(h), false);
    }
    let real: Head = serde_json::from_slice(&g.head).unwrap();
    let head_edits: Vec<(&str, Head)> = vec![
        ("head seq - 1", Head { seq: real.seq - 1, ..real.clone() }),
        ("head seq + 1", Head { seq: real.seq + 1, ..real.clone() }),
        ("head hash of record 1", Head { hash: values[0]["hash"].as_str().unwrap().into(), ..real.clone() }),
        ("head key of another", Head { key: mallory.public_key_hex.clone(), ..real.clone() }),
        ("head sig zeroed", Head { sig: "0".repeat(128), ..real.clone() }),
        ("head v 2", Head { v: 2, ..real.clone() }),
        ("head sig of record n", Head { sig: values[n - 1]["sig"].as_str().unwrap().into(), ..real.clone() }),
        ("head seq + 1 re-signed by another key", Head::signed(&mallory, real.seq + 1, &real.hash)),
        ("head re-signed by another key", Head::signed(&mallory, real.seq, &real.hash)),
    ];
    for (label, h) in head_edits {
        add(&mut out, label.into(), join(&genuine_lines.clone()), Some(h.to_line().into_bytes()), false);
    }
    let raw_heads: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("head deleted", None),
        ("head emptied", Some(vec![])),
        ("head without newline", Some(g.head[..g.head.len() - 1].to_vec())),
        ("head with garbage after", Some([g.head.as_slice(), b"x\n"].concat())),
        (
            "head with a space",
            Some(String::from_utf8(g.head.clone()).unwrap().replacen(":", ": ", 1).into_bytes()),
        ),
        ("head newline replaced by a space", Some([&g.head[..g.head.len() - 1], b" "].concat())),
        ("head reordered keys", {
            let v: Value = serde_json::from_slice(&g.head).unwrap();
            Some(
                format!(
                    "{{\"seq\":{},\"v\":1,\"hash\":{},\"key\":{},\"sig\":{}}}\n",
                    v["seq"], v["hash"], v["key"], v["sig"]
                )
                .into_bytes(),
            )
        }),
        ("head of session 1", Some(g.old_heads[0].clone())),
        ("head of session 2", Some(g.old_heads[1].clone())),
    ];
    for (label, h) in raw_heads {
        add(&mut out, label.into(), join(&genuine_lines), h, false);
    }
    out
}

fn add(out: &mut Vec<Mutation>, name: String, log: Vec<u8>, head: Option<Vec<u8>>, needs_pin: bool) {
    out.push(Mutation { name, log, head, needs_pin });
}

/// `Ok(kind of failure)` when the mutation is detected.
fn check(dir: &Path, m: &Mutation, pins: &[String]) -> Result<String, String> {
    let log = dir.join("audit.jsonl");
    let head = head_path(&log);
    fs::write(&log, &m.log).unwrap();
    match &m.head {
        Some(h) => fs::write(&head, h).unwrap(),
        None => {
            let _ = fs::remove_file(&head);
        }
    }
    match verify(&log, &head, pins) {
        Err(e) => {
            let kind = format!("{:?}", e.problem);
            let kind = kind.split(['(', ' ', '{']).next().unwrap_or_default().to_string();
            Ok(if e.line.is_some() { kind } else { format!("Head/{kind}") })
        }
        Ok(report) => Err(format!("NOT DETECTED (pins: {}): {} -> {report:?}", pins.len(), m.name)),
    }
}

/// Besides the whole-log re-signings, every this-many-th mutation is also checked with the genuine
/// key pinned (all of them would double the run time of a debug build for little news).
const PINNED_EVERY: usize = 4;

#[test]
fn every_mutation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let g = build(dir.path());
    let key = genuine().public_key_hex;
    let pins = vec![key.clone()];
    // The genuine log verifies, with and without pins, and each session's prefix with its head.
    let log = dir.path().join(".vend/audit.jsonl");
    let r = verify(&log, &head_path(&log), &[]).unwrap();
    assert_eq!(r.records, g.lines.len() as u64);
    verify(&log, &head_path(&log), &pins).unwrap();
    let check_dir = dir.path().join("check");
    fs::create_dir_all(&check_dir).unwrap();
    let copy = Mutation {
        name: "genuine copy".into(),
        log: join(&g.lines),
        head: Some(g.head.clone()),
        needs_pin: false,
    };
    assert!(check(&check_dir, &copy, &[]).is_err(), "a copy of the genuine log must verify");
    // Each session's prefix with the head of that moment verifies too (which is also why a
    // rollback to it is out of a local head's reach).
    let mut end = 0;
    for old in &g.old_heads {
        let h: Head = serde_json::from_slice(old).unwrap();
        end = h.seq as usize;
        let m = Mutation {
            name: "prefix".into(),
            log: join(&g.lines[..end]),
            head: Some(old.clone()),
            needs_pin: false,
        };
        assert!(check(&check_dir, &m, &pins).is_err());
    }
    assert_eq!(end, g.lines.len());

    let mut rng = Rng(0x5EED_A0D1_7106);
    let all = mutations(&g, &mut rng);
    assert!(all.len() >= 600, "only {} mutations", all.len());

    // Run on all cores: signature checks are slow in debug builds.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    let chunks: Vec<&[Mutation]> = all.chunks(all.len().div_ceil(threads)).collect();
    let results: Vec<(Vec<String>, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(t, chunk)| {
                let dir = dir.path().join(format!("t{t}"));
                let pins = pins.clone();
                s.spawn(move || {
                    fs::create_dir_all(&dir).unwrap();
                    let mut bad = Vec::new();
                    let mut kinds = Vec::new();
                    for (i, m) in chunk.iter().enumerate() {
                        if !m.needs_pin {
                            match check(&dir, m, &[]) {
                                Ok(kind) => kinds.push(kind),
                                Err(e) => bad.push(e),
                            }
                        }
                        if m.needs_pin || i % PINNED_EVERY == 0 {
                            match check(&dir, m, &pins) {
                                Ok(kind) if m.needs_pin => kinds.push(kind),
                                Ok(_) => {}
                                Err(e) => bad.push(e),
                            }
                        }
                    }
                    (bad, kinds)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (failures, kinds): (Vec<Vec<String>>, Vec<Vec<String>>) = results.into_iter().unzip();
    let failures: Vec<String> = failures.concat();
    let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
    for k in kinds.concat() {
        *by_kind.entry(k).or_default() += 1;
    }
    let pinned_only = all.iter().filter(|m| m.needs_pin).count();
    let both = chunks
        .iter()
        .map(|c| c.iter().enumerate().filter(|(i, m)| !m.needs_pin && i % PINNED_EVERY == 0).count())
        .sum::<usize>();
    eprintln!(
        "audit tamper: {} records; {} mutations, {} detected ({} without pinned keys, {} of them also with the \
         genuine key pinned, {} whole-log re-signings with pins only)",
        g.lines.len(),
        all.len(),
        all.len() - failures.len(),
        all.len() - pinned_only,
        both,
        pinned_only,
    );
    eprintln!("audit tamper: first failure reported, by kind: {by_kind:?}");
    assert!(failures.is_empty(), "{} undetected:\n{}", failures.len(), failures.join("\n"));
}
