//! Bundles the spec into `$OUT_DIR/openapi.json`: the emulator checks query parameters
//! against the operation's declared schemas, so it validates exactly what the spec says.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let spec_dir = manifest.join("../spec");
    for file in koodrive_codegen::spec_files(&spec_dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let spec = koodrive_codegen::Spec::load(&spec_dir).unwrap_or_else(|report| panic!("{report}"));
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("openapi.json");
    std::fs::write(out, koodrive_codegen::bundle(&spec)).expect("OUT_DIR is writable");
}
