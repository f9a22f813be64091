//! Every house rule rejects a deliberately broken spec, at the right place.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use koodrive_codegen::{Spec, rules::RULES, validate};
use serde_json::Value;

fn cases_dir() -> PathBuf {
    koodrive_tests::root().join("tests/broken-specs")
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Set (or, with null, remove) the value at a JSON pointer whose parent exists.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let target = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no parent for {pointer}"));
    let key = unescape(last);
    match (target, value) {
        (Value::Object(m), Value::Null) => {
            m.remove(&key)
                .unwrap_or_else(|| panic!("nothing to remove at {pointer}"));
        }
        (Value::Object(m), v) => {
            m.insert(key, v);
        }
        (Value::Array(a), v) => a[key.parse::<usize>().unwrap()] = v,
        _ => panic!("cannot set {pointer}"),
    }
}

/// Write the base spec, patched by `case`, into a fresh folder; returns the folder.
fn materialise(name: &str, case: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("koodrive-broken-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("spec/parts")).unwrap();
    let mut doc = read_yaml(&cases_dir().join("base/openapi.yaml"));
    if let Some(sets) = case.get("set").and_then(Value::as_object) {
        for (pointer, value) in sets {
            set(&mut doc, pointer, value.clone());
        }
    }
    std::fs::write(
        dir.join("spec/openapi.yaml"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    if let Some(parts) = case.get("parts").and_then(Value::as_object) {
        for (file, content) in parts {
            std::fs::write(
                dir.join("spec/parts").join(file),
                serde_json::to_string_pretty(content).unwrap(),
            )
            .unwrap();
        }
    }
    dir
}

fn report_for(dir: &Path) -> koodrive_codegen::Report {
    match Spec::load(&dir.join("spec")) {
        Ok(spec) => validate(&spec),
        Err(report) => report,
    }
}

#[test]
fn the_base_spec_is_clean() {
    let dir = materialise("base", &Value::Null);
    let report = report_for(&dir);
    assert!(report.diagnostics.is_empty(), "{report}");
    // ... and it generates code.
    koodrive_codegen::generate_checked(&Spec::load(&dir.join("spec")).unwrap()).unwrap();
}

#[test]
fn every_broken_spec_is_rejected_by_its_rule_at_its_pointer() {
    let mut covered = BTreeSet::new();
    let mut cases = 0;
    for entry in std::fs::read_dir(cases_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case = read_yaml(&path);
        let expect = &case["expect"];
        let rule = expect["rule"].as_str().unwrap();
        let pointer = expect["pointer"].as_str().unwrap();
        let file = format!("spec/{}", expect["file"].as_str().unwrap());
        let report = report_for(&materialise(&name, &case));
        assert!(
            report.has_errors(),
            "{name}: accepted, but must be rejected by {rule}"
        );
        let hit = report
            .diagnostics
            .iter()
            .find(|d| d.rule == rule && d.pointer == pointer);
        let hit = hit.unwrap_or_else(|| {
            panic!("{name}: no `{rule}` diagnostic at {pointer}; got:\n{report}")
        });
        assert_eq!(hit.file, file, "{name}: wrong file");
        assert!(
            !hit.help.is_empty(),
            "{name}: the diagnostic says how to fix it"
        );
        // The display names the file, the pointer and the operation (when there is one).
        let shown = hit.to_string();
        assert!(shown.contains(&format!("{file}#{pointer}")), "{shown}");
        if let Some(op) = &hit.operation_id {
            assert!(shown.contains(op.as_str()), "{shown}");
        }
        covered.insert(rule.to_owned());
        cases += 1;
    }
    assert!(cases >= 12, "only {cases} broken specs");
    let missing: Vec<_> = RULES
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| !covered.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "house rules without a broken-spec case: {missing:?}"
    );
}

#[test]
fn all_problems_are_reported_together() {
    let case: Value = serde_yaml::from_str(
        r#"set:
             "/paths/~1v1~1things/post/summary": null
             "/paths/~1v1~1things~1{thingId}/get/x-doc-url": null
             "/components/schemas/Orphan": {type: object}"#,
    )
    .unwrap();
    let report = report_for(&materialise("several", &case));
    let rules: BTreeSet<_> = report.diagnostics.iter().map(|d| d.rule).collect();
    assert_eq!(
        rules,
        BTreeSet::from(["operation-summary", "operation-doc-url", "unused-component"]),
        "{report}"
    );
    assert_eq!(report.error_count(), 3);
}
