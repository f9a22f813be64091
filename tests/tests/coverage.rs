//! Every documented operation with a page is in the spec (spec/docs/operations.tsv), and every
//! departure from the documented method or path is explained in the spec.

use koodrive_codegen::coverage::{coverage, read_documented};

#[test]
fn every_documented_operation_is_specified() {
    let spec = koodrive_tests::spec();
    let documented =
        read_documented(&koodrive_tests::root().join("spec/docs/operations.tsv")).unwrap();
    assert!(
        documented.len() >= 149,
        "the documented list is complete ({} rows)",
        documented.len()
    );
    let c = coverage(&spec, &documented);
    assert!(c.missing.is_empty(), "missing from the spec:\n{c}");
    assert!(c.extra.is_empty(), "specified but not documented:\n{c}");
    // Name-only operations have no page, so nothing can be specified for them.
    let names: Vec<_> = c.name_only.iter().map(|d| d.doc_id.as_str()).collect();
    assert_eq!(
        names,
        [
            "IgetConversation",
            "IgetSummaryResult",
            "semanticPictureSearch",
            "addAiFileNotify"
        ]
    );
    for (d, s) in &c.differs {
        assert!(
            s.noted,
            "{} differs from the docs ({} {}) without an x-koodrive-notes",
            s.operation_id, d.method, d.path
        );
    }
}

#[test]
fn every_operation_keeps_its_doc_url_and_category() {
    let spec = koodrive_tests::spec();
    let documented =
        read_documented(&koodrive_tests::root().join("spec/docs/operations.tsv")).unwrap();
    for (_, _, op, ptr) in spec.operations() {
        let doc_id = koodrive_codegen::coverage::doc_id_of(op).unwrap();
        let d = documented.iter().find(|d| d.doc_id == doc_id).unwrap();
        assert_eq!(op["tags"][0].as_str(), Some(d.category.as_str()), "{ptr}");
        let url = op["x-doc-url"].as_str().unwrap();
        assert!(url.contains("huaweicloud"), "{ptr}: {url}");
    }
}
