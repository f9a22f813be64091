//! Writes `$OUT_DIR/registry.rs`: for every component schema and every operation of the spec,
//! code that names its generated Rust type, so that the tests can reach the generated types
//! by spec name (schemas, doc examples). A type the generator did not produce is a compile
//! error here, which is itself a check.

use std::fmt::Write;
use std::path::PathBuf;

use heck::ToUpperCamelCase;
use serde_json::Value;

fn type_of(schema: &Value) -> Option<String> {
    let r = schema.get("$ref")?.as_str()?;
    Some(r.rsplit('/').next()?.to_upper_camel_case())
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let spec_dir = manifest.join("../spec");
    for file in koodrive_codegen::spec_files(&spec_dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let spec = match koodrive_codegen::Spec::load(&spec_dir) {
        Ok(s) => s,
        Err(report) => panic!("{report}"),
    };
    let mut out = String::new();
    out.push_str("/// (component name, JSON Schema of its generated Rust type)\npub fn component_schemas() -> Vec<(&'static str, schemars::schema::RootSchema)> {\n    vec![\n");
    if let Some(schemas) = spec
        .doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            if schema.get("x-koodrive-replaced-by").is_some() {
                continue;
            }
            let ty = name.to_upper_camel_case();
            writeln!(
                out,
                "        ({name:?}, schemars::schema_for!(koodrive_api::types::{ty})),"
            )
            .unwrap();
        }
    }
    out.push_str("    ]\n}\n\n");
    out.push_str("/// (operationId, decode a response body, round-trip a request body)\npub fn operations() -> Vec<(&'static str, Option<Decode>, Option<RoundTrip>)> {\n    vec![\n");
    for (_, _, op, _) in spec.operations() {
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let response = koodrive_codegen::surface::success_schema(&spec, op)
            .filter(|(media, _)| media.contains("json"))
            .and_then(|(_, s)| type_of(s));
        let body = koodrive_codegen::surface::request_schema(&spec, op).and_then(type_of);
        let decode = response.map_or("None".to_owned(), |t| {
            format!("Some(decode::<koodrive_api::types::{t}>)")
        });
        let round = body.map_or("None".to_owned(), |t| {
            format!("Some(round_trip::<koodrive_api::types::{t}>)")
        });
        writeln!(out, "        ({id:?}, {decode}, {round}),").unwrap();
    }
    out.push_str("    ]\n}\n");
    let path = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("registry.rs");
    std::fs::write(path, out).unwrap();
}
