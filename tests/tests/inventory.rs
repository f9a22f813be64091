//! The parameter inventory (spec/inventory/<docId>.params lists every parameter and field name
//! a doc page shows) against the spec: a documented name missing from the spec fails here.

use std::collections::BTreeMap;

use koodrive_codegen::coverage::doc_id_of;
use koodrive_codegen::surface::field_names;

#[test]
fn every_documented_name_is_in_the_spec() {
    let spec = koodrive_tests::spec();
    let mut by_doc_id = BTreeMap::new();
    for (path, _, op, _) in spec.operations() {
        by_doc_id.insert(doc_id_of(op).unwrap().to_owned(), (path, op));
    }
    let dir = koodrive_tests::root().join("spec/inventory");
    let mut problems = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "params") {
            continue;
        }
        files += 1;
        let doc_id = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some((op_path, op)) = by_doc_id.get(&doc_id) else {
            problems.push(format!(
                "{doc_id}: inventory file but no operation with that doc id"
            ));
            continue;
        };
        let names = field_names(&spec, op_path, op);
        // Header names are case-insensitive on the wire.
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        for token in std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::trim)
        {
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            let found = names.contains(token)
                || (token.starts_with("header:") && lower.contains(&token.to_ascii_lowercase()));
            if !found {
                problems.push(format!(
                    "{doc_id}: `{token}` is documented but not in the spec"
                ));
            }
        }
    }
    for doc_id in by_doc_id.keys() {
        if !dir.join(format!("{doc_id}.params")).exists() {
            problems.push(format!("{doc_id}: specified but has no inventory file"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(files > 0);
}
