//! The JSON examples of the doc pages (tests/fixtures/examples/<operationId>/) against the
//! generated types: every response example decodes, and every request example decodes into
//! the generated body type and serializes back without losing a field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = koodrive_tests::root().join("tests/fixtures/examples");
    let mut out = Vec::new();
    for op in std::fs::read_dir(&dir).unwrap() {
        let op = op.unwrap().path();
        if !op.is_dir() {
            continue;
        }
        let id = op.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&op).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                out.push((id.clone(), f));
            }
        }
    }
    out.sort();
    out
}

/// Every field of `original` is in `back` with an equal value (numbers compared as numbers).
fn lost_fields(original: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => lost_fields(v, w, &format!("{path}/{k}"), out),
                    // typify models an optional array as a `Vec` that is omitted when empty,
                    // so `[]` and "absent" are the same value to the generated types.
                    None if v.is_null() || v.as_array().is_some_and(Vec::is_empty) => {}
                    None => out.push(format!("{path}/{k}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                lost_fields(v, w, &format!("{path}/{i}"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} became {b}")),
    }
}

#[test]
fn doc_examples_fit_the_generated_types() {
    let ops: BTreeMap<_, _> = koodrive_tests::operations()
        .into_iter()
        .map(|(id, d, r)| (id, (d, r)))
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (id, file) in fixtures() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let Some((decode, round_trip)) = ops.get(id.as_str()) else {
            problems.push(format!("{id}/{name}: no operation `{id}` in the spec"));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        if name.starts_with("response") {
            match decode {
                Some(decode) => {
                    if let Err(e) = decode(&text) {
                        problems.push(format!("{id}/{name}: does not decode: {e}"));
                    }
                }
                None => problems.push(format!(
                    "{id}/{name}: the operation has no JSON response type"
                )),
            }
        } else if name.starts_with("request") {
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{id}/{name}: {e}"));
            match round_trip {
                Some(rt) => match rt(&value) {
                    Ok(back) => {
                        let mut lost = Vec::new();
                        lost_fields(&value, &back, "", &mut lost);
                        if !lost.is_empty() {
                            problems.push(format!(
                                "{id}/{name}: lost or changed in the round trip: {lost:?}"
                            ));
                        }
                    }
                    Err(e) => {
                        problems.push(format!("{id}/{name}: does not decode as the body: {e}"))
                    }
                },
                None => problems.push(format!("{id}/{name}: the operation has no JSON body")),
            }
        } else {
            problems.push(format!(
                "{id}/{name}: name it request*.json or response*.json"
            ));
        }
        checked += 1;
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked > 0);
}

#[test]
fn a_wrong_example_is_caught() {
    // The check above must be able to fail: a response whose `code` is an object is rejected.
    let ops = koodrive_tests::operations();
    let (id, decode) = ops
        .iter()
        .find_map(|(id, d, _)| d.map(|d| (id, d)))
        .unwrap();
    assert!(
        decode(r#"{"code": {"nested": true}, "msg": "x"}"#).is_err(),
        "{id} accepted a bad code"
    );
}
