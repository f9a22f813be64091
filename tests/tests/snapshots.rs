//! The generated surface, as reviewable snapshots. A change to the spec or to the generator
//! shows up here as a diff: review it with `cargo insta review`, never accept it blindly.

#[test]
fn surface() {
    let spec = koodrive_tests::spec();
    insta::assert_snapshot!("surface", koodrive_codegen::surface(&spec));
}

#[test]
fn generated_code() {
    let spec = koodrive_tests::spec();
    let code = koodrive_codegen::generate_checked(&spec).unwrap_or_else(|r| panic!("{r}"));
    assert!(code.starts_with(koodrive_codegen::HEADER));
    // The full client is large: keep a failing comparison from flooding the log with it
    // (INSTA_OUTPUT=summary in .cargo/config.toml); `cargo insta review` shows the diff.
    insta::assert_snapshot!("generated_code", code);
}

#[test]
fn generation_is_deterministic() {
    let spec = koodrive_tests::spec();
    let a = koodrive_codegen::generate_checked(&spec).unwrap();
    let b = koodrive_codegen::generate_checked(&koodrive_tests::spec()).unwrap();
    assert_eq!(a, b);
}
