//! koodrive-codegen: the one code path from `spec/` to the generated KooDrive client.
//!
//! load (root + parts, merged) → validate (house rules, then progenitor) → generate → format.
//! `koodrive-api/build.rs`, `xtask` and the tests all call this library, so they all see the
//! same settings and the same output.
//!
//! ```no_run
//! let spec = koodrive_codegen::Spec::load("spec".as_ref()).unwrap();
//! let code = koodrive_codegen::generate_checked(&spec).unwrap();
//! ```

// A Diagnostic is only ever built on the (cold) error path; boxing it buys nothing.
#![allow(clippy::result_large_err)]

pub mod coverage;
pub mod diagnostic;
pub mod generate;
pub mod load;
pub mod rules;
pub mod surface;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Report, Severity};
pub use generate::{HEADER, generate};
pub use load::Spec;
pub use surface::surface;

/// Validate the spec: every house rule, then whether progenitor accepts and generates it.
/// All findings are returned together.
pub fn validate(spec: &Spec) -> Report {
    let mut diags = rules::check(spec);
    if !diags.iter().any(|d| d.severity == Severity::Error) {
        if let Err(d) = generate::generate(spec) {
            diags.push(d);
        }
    } else if let Err(d) = generate::parse_openapi(spec) {
        diags.push(d);
    }
    spec.finish(diags)
}

/// Validate, then generate; the report holds every finding if the spec is not clean.
pub fn generate_checked(spec: &Spec) -> Result<String, Report> {
    let mut diags = rules::check(spec);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        if let Err(d) = generate::parse_openapi(spec) {
            diags.push(d);
        }
        return Err(spec.finish(diags));
    }
    generate::generate(spec).map_err(|d| spec.finish(vec![d]))
}

/// Load and validate the spec in `dir` in one step (used by build.rs).
pub fn load_and_generate(dir: &Path) -> Result<String, Report> {
    let spec = Spec::load(dir)?;
    generate_checked(&spec)
}

/// The spec files under `dir` (root and parts), for `rerun-if-changed`.
pub fn spec_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![dir.join("openapi.yaml")];
    // (a path that does not exist would make cargo re-run the build script every time)
    if dir.join("parts").is_dir() {
        files.push(dir.join("parts"));
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("parts")) {
        let mut parts: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        parts.sort();
        files.extend(parts);
    }
    files
}

/// The merged spec as one pretty-printed JSON document, for external tools.
pub fn bundle(spec: &Spec) -> String {
    let mut s = serde_json::to_string_pretty(&spec.doc).expect("a JSON value always serializes");
    s.push('\n');
    s
}
