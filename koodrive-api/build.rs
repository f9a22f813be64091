//! Generates the KooDrive client from `../spec` (or `$KOODRIVE_SPEC_DIR`) into
//! `$OUT_DIR/koodrive_client.rs`.
//!
//! A spec error fails the build with every diagnostic printed (file, JSON pointer, operation,
//! fix). Only the spec files trigger a re-run.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    // A maintainer (or the benchmarks) can generate from another copy of the spec.
    println!("cargo:rerun-if-env-changed=KOODRIVE_SPEC_DIR");
    let spec_dir = match std::env::var_os("KOODRIVE_SPEC_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            println!(
                "cargo:warning=generating the client from KOODRIVE_SPEC_DIR={}",
                dir.display()
            );
            dir
        }
        None => manifest.join("../spec"),
    };
    for file in koodrive_codegen::spec_files(&spec_dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    match koodrive_codegen::load_and_generate(&spec_dir) {
        Ok(code) => {
            let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
                .join("koodrive_client.rs");
            std::fs::write(&out, code)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
        }
        Err(report) => {
            // cargo shows a failing build script's stderr; one line per diagnostic line.
            eprintln!("\nThe KooDrive spec is invalid; nothing was generated.\n");
            eprintln!("{report}\n");
            eprintln!("Run `cargo xtask validate` for the same report.");
            std::process::exit(1);
        }
    }
}
