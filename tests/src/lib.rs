//! Shared helpers of the test suite: paths, and the registry that maps spec names to the
//! generated types (written by `build.rs`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decode a JSON text into a generated type; the error names the JSON path of the bad field.
pub type Decode = fn(&str) -> Result<(), String>;
/// Decode a JSON value into a generated type and serialize it back.
pub type RoundTrip = fn(&serde_json::Value) -> Result<serde_json::Value, String>;

fn decode<T: DeserializeOwned>(text: &str) -> Result<(), String> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, T>(de)
        .map(|_| ())
        .map_err(|e| format!("at {}: {}", e.path(), e.inner()))
}

fn round_trip<T: DeserializeOwned + Serialize>(
    v: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let t: T = serde_path_to_error::deserialize(v)
        .map_err(|e| format!("at {}: {}", e.path(), e.inner()))?;
    serde_json::to_value(&t).map_err(|e| e.to_string())
}

include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The checked-in spec, loaded.
pub fn spec() -> koodrive_codegen::Spec {
    koodrive_codegen::Spec::load(&root().join("spec")).unwrap_or_else(|r| panic!("{r}"))
}

/// The README's usage example, compiled as a doctest so that it stays true.
#[doc = include_str!("../../README.md")]
pub mod readme {}
