//! `cargo xtask bundle` output: one OpenAPI document that external tools can read.

use serde_json::Value;

#[test]
fn the_bundle_parses_and_round_trips() {
    let spec = koodrive_tests::spec();
    let text = koodrive_codegen::bundle(&spec);
    // It is JSON, it is the merged document, and it is OpenAPI.
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value, spec.doc);
    let parsed: openapiv3::OpenAPI = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed.openapi, "3.0.3");
    assert_eq!(
        parsed.paths.paths.len(),
        spec.doc["paths"].as_object().unwrap().len()
    );
    // openapiv3 → JSON → openapiv3 is stable.
    let again: openapiv3::OpenAPI =
        serde_json::from_value(serde_json::to_value(&parsed).unwrap()).unwrap();
    assert_eq!(parsed, again);
}

#[test]
fn the_bundle_alone_generates_the_same_client() {
    let spec = koodrive_tests::spec();
    let dir = std::env::temp_dir().join(format!("koodrive-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("openapi.json");
    std::fs::write(&file, koodrive_codegen::bundle(&spec)).unwrap();
    let single = koodrive_codegen::Spec::from_files(&file, &[], &dir).unwrap();
    assert!(koodrive_codegen::validate(&single).is_ok());
    assert_eq!(
        koodrive_codegen::generate_checked(&single).unwrap(),
        koodrive_codegen::generate_checked(&spec).unwrap()
    );
}
