//! Canonical JSON, the one writer behind every content hash of vend: a saved plan's `digest`
//! (`plan::model::Plan::compute_digest`) and an audit record's `hash` and its one byte form
//! (`adapter::audit`). Object keys sorted by their UTF-8 bytes, no whitespace; strings and numbers
//! as serde_json writes them. (Explicit because serde_json's `preserve_order` keeps insertion
//! order.) Changing a byte of this output breaks every saved plan and audit log.

use serde_json::Value;

/// `value` as canonical JSON.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// Append `value` as canonical JSON to `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_by_bytes_no_whitespace() {
        let v = json!({"b": [1, {"z": null, "a": "é\n"}], "a": 2.5, "B": true});
        assert_eq!(canonical_json(&v), r#"{"B":true,"a":2.5,"b":[1,{"a":"é\n","z":null}]}"#);
    }
}
