//! Figure 1 (codegen against openapi-generator's rust generator) and the scaling curve.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use koodrive_codegen::Spec;
use serde_json::Value;

use crate::{Result, heading, median, scratch, secs, workspace};

/// The openapi-generator-cli release the peer runs (PyPI; the wheel bundles the jar).
const OAG_PIN: &str = "7.26.0";
/// Runs of each side (interleaved).
const RUNS: usize = 3;

/// load + validate (house rules, progenitor) + generate + format, from the files on disk.
fn ours_once(spec_dir: &Path) -> Result<(Duration, String)> {
    let started = Instant::now();
    let spec = Spec::load(spec_dir).map_err(|r| format!("the spec does not load:\n{r}"))?;
    let code = koodrive_codegen::generate_checked(&spec)
        .map_err(|r| format!("the spec does not validate:\n{r}"))?;
    Ok((started.elapsed(), code))
}

/// The openapi-generator jar: `KOODRIVE_BENCH_OAG_JAR`, or the one in a venv under
/// `target/bench/oag-venv`, installed there with pip when missing.
pub fn oag_jar() -> Result<PathBuf> {
    if let Ok(jar) = std::env::var("KOODRIVE_BENCH_OAG_JAR") {
        return Ok(jar.into());
    }
    let venv = scratch().join("oag-venv");
    if let Some(jar) = find_jar(&venv) {
        return Ok(jar);
    }
    println!(
        "installing openapi-generator-cli=={OAG_PIN} into {}",
        venv.display()
    );
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?
        .success()
        && Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "-q",
                &format!("openapi-generator-cli=={OAG_PIN}"),
            ])
            .status()?
            .success();
    if !ok {
        return Err("pip could not install openapi-generator-cli".into());
    }
    find_jar(&venv).ok_or_else(|| "the openapi-generator-cli wheel holds no jar".into())
}

fn find_jar(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let found = find_jar(&path);
            if found.is_some() {
                return found;
            }
        } else if path
            .file_name()
            .is_some_and(|n| n == "openapi-generator.jar")
        {
            return Some(path);
        }
    }
    None
}

/// `java -jar openapi-generator.jar generate -g rust` on the bundled spec, into `out`.
pub fn peer_once(jar: &Path, bundled: &Path, out: &Path) -> Result<Duration> {
    let _ = std::fs::remove_dir_all(out);
    let started = Instant::now();
    let output = Command::new("java")
        .arg("-jar")
        .arg(jar)
        .args([
            "generate",
            "-g",
            "rust",
            "--package-name",
            "koodrive_oag",
            "-i",
        ])
        .arg(bundled)
        .arg("-o")
        .arg(out)
        .output()?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        let tail: String = String::from_utf8_lossy(&output.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&output.stderr).lines())
            .filter(|l| l.contains("ERROR") || l.contains("Exception") || l.contains("rror"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!("openapi-generator failed:\n{tail}").into());
    }
    Ok(elapsed)
}

/// Lines of `.rs` under `dir`.
pub fn rust_lines(dir: &Path) -> (usize, usize) {
    let mut files = 0;
    let mut lines = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files += 1;
                lines += std::fs::read_to_string(&p).map_or(0, |s| s.lines().count());
            }
        }
    }
    (files, lines)
}

/// Figure 1.
pub fn figure() -> Result<()> {
    heading("codegen: load + validate + generate + format of the full spec");
    let spec_dir = workspace().join("spec");
    let spec = Spec::load(&spec_dir).map_err(|r| format!("the spec does not load:\n{r}"))?;
    let operations = spec.operations().len();
    let schemas = spec.doc["components"]["schemas"]
        .as_object()
        .map_or(0, |s| s.len());
    println!("spec: {operations} operations, {schemas} component schemas");
    let bundled = scratch().join("openapi.json");
    std::fs::write(&bundled, koodrive_codegen::bundle(&spec))?;
    let peer_out = scratch().join("oag-rust");

    let jar = match oag_jar() {
        Ok(j) => Some(j),
        Err(e) => {
            println!("peer unavailable ({e}); reporting ours alone");
            None
        }
    };
    // Warm the file cache and the JVM's class data once each; not counted.
    let (_, code) = ours_once(&spec_dir)?;
    if let Some(jar) = &jar
        && let Err(e) = peer_once(jar, &bundled, &peer_out)
    {
        println!("peer failed ({e}); reporting ours alone");
        return report_ours_alone(&spec_dir, &code);
    }
    let mut ours = Vec::new();
    let mut peer = Vec::new();
    for _ in 0..RUNS {
        ours.push(ours_once(&spec_dir)?.0);
        if let Some(jar) = &jar {
            peer.push(peer_once(jar, &bundled, &peer_out)?);
        }
    }
    let ours_median = median(&mut ours);
    println!(
        "koodrive-codegen (release, in process): median {} of {RUNS} (runs {})",
        secs(ours_median),
        ours.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ")
    );
    println!("  generated: 1 file, {} lines", code.lines().count());
    if peer.is_empty() {
        return Ok(());
    }
    let peer_median = median(&mut peer);
    println!(
        "openapi-generator {OAG_PIN} -g rust (java -jar, JVM start included): median {} of {RUNS} (runs {})",
        secs(peer_median),
        peer.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ")
    );
    let (files, lines) = rust_lines(&peer_out.join("src"));
    println!("  generated: {files} files, {lines} lines (unformatted; no rustfmt run)");
    println!(
        "RATIO codegen ours/peer = {:.3} (ours is {:.1}x faster)",
        ours_median.as_secs_f64() / peer_median.as_secs_f64(),
        peer_median.as_secs_f64() / ours_median.as_secs_f64()
    );
    Ok(())
}

fn report_ours_alone(spec_dir: &Path, code: &str) -> Result<()> {
    let mut ours = Vec::new();
    for _ in 0..RUNS {
        ours.push(ours_once(spec_dir)?.0);
    }
    println!(
        "koodrive-codegen: median {} of {RUNS}; {} lines",
        secs(median(&mut ours)),
        code.lines().count()
    );
    Ok(())
}

const SCHEMA_REF: &str = "#/components/schemas/";

/// Rewrite every reference below `value` to a schema in `renamed` to `X<suffix>`.
fn rename_refs(value: &mut Value, renamed: &BTreeSet<String>, suffix: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "$ref" {
                    if let Value::String(s) = v
                        && s.strip_prefix(SCHEMA_REF)
                            .is_some_and(|name| renamed.contains(name))
                    {
                        s.push_str(suffix);
                    }
                } else {
                    rename_refs(v, renamed, suffix);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rename_refs(v, renamed, suffix)),
        _ => {}
    }
}

/// The schema names referenced below `value`.
fn schema_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(s)) => {
                        if let Some(name) = s.strip_prefix(SCHEMA_REF) {
                            out.push(name.to_owned());
                        }
                    }
                    _ => schema_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| schema_refs(v, out)),
        _ => {}
    }
}

/// The real spec with every tagged operation duplicated `factor - 1` times under new names
/// (`<operationId>Dup<k>`) and paths (`/koodrive/dup<k>/...`), each copy with its own copies
/// of the component schemas its operations reach (`<Schema>Dup<k>`). Shared pieces stay
/// shared, as the house rules require: the envelope's `ResultCode` and what the shared
/// parameters and error responses use.
pub fn scaled(spec: &Spec, factor: usize) -> Spec {
    let mut out = spec.clone();
    let paths = spec.doc["paths"].as_object().cloned().unwrap_or_default();
    let schemas = spec.doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    // The schemas the operations reach, transitively; less the shared ones.
    let mut shared = vec!["ResultCode".to_owned()];
    for section in ["parameters", "responses"] {
        schema_refs(&spec.doc["components"][section], &mut shared);
    }
    let mut stack = Vec::new();
    schema_refs(&spec.doc["paths"], &mut stack);
    let mut reached = BTreeSet::new();
    while let Some(name) = stack.pop() {
        if reached.insert(name.clone())
            && let Some(schema) = schemas.get(&name)
        {
            schema_refs(schema, &mut stack);
        }
    }
    let mut stack = shared;
    let mut shared = BTreeSet::new();
    while let Some(name) = stack.pop() {
        if shared.insert(name.clone())
            && let Some(schema) = schemas.get(&name)
        {
            schema_refs(schema, &mut stack);
        }
    }
    let renamed: BTreeSet<String> = reached.difference(&shared).cloned().collect();
    for k in 1..factor {
        let suffix = format!("Dup{k}");
        for (path, item) in &paths {
            let mut item = item.clone();
            let mut tagged = false;
            if let Some(methods) = item.as_object_mut() {
                for op in methods.values_mut() {
                    if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                        tagged |= op.get("tags").is_some();
                        op["operationId"] = Value::String(format!("{id}{suffix}"));
                    }
                }
            }
            if !tagged {
                continue;
            }
            rename_refs(&mut item, &renamed, &suffix);
            let new_path = match path.strip_prefix("/koodrive/") {
                Some(rest) => format!("/koodrive/dup{k}/{rest}"),
                None => format!("/dup{k}{path}"),
            };
            out.doc["paths"][new_path] = item;
        }
        for name in &renamed {
            if let Some(schema) = schemas.get(name) {
                let mut schema = schema.clone();
                rename_refs(&mut schema, &renamed, &suffix);
                out.doc["components"]["schemas"][format!("{name}{suffix}")] = schema;
            }
        }
    }
    out
}

/// The scaling curve: codegen time (validate + generate + format; the spec is built in memory,
/// so loading is not counted) of 1×, 2× and 4× specs.
pub fn scaling() -> Result<()> {
    heading("scaling: codegen time of synthetic 1x, 2x, 4x specs (in memory)");
    let spec = Spec::load(&workspace().join("spec"))
        .map_err(|r| format!("the spec does not load:\n{r}"))?;
    let mut base = None;
    for factor in [1usize, 2, 4] {
        let synthetic = scaled(&spec, factor);
        let ops = synthetic.operations().len();
        let mut runs = Vec::new();
        let mut lines = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let code = koodrive_codegen::generate_checked(&synthetic).map_err(|r| {
                format!(
                    "the {factor}x spec does not validate ({} errors):\n{}",
                    r.error_count(),
                    r.to_string()
                        .lines()
                        .take(20)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })?;
            runs.push(started.elapsed());
            lines = code.lines().count();
        }
        let m = median(&mut runs);
        let base_time = *base.get_or_insert(m);
        println!(
            "{factor}x: {ops} operations, {lines} generated lines, median {} of {RUNS} (x{:.2} of 1x)",
            secs(m),
            m.as_secs_f64() / base_time.as_secs_f64()
        );
    }
    Ok(())
}
