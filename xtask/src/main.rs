//! `cargo xtask <command>`: the maintainer's commands. See `cargo xtask help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use koodrive_codegen::{Spec, coverage};

const HELP: &str = "\
usage: cargo xtask <command> [options]

commands:
  validate [--part FILE]...  check the spec: house rules and progenitor; non-zero exit on any error.
                             --part adds a draft part file (e.g. spec/wip/x.yaml) to the check.
  generate [--out FILE] [--check]
                             write the generated client (default generated/koodrive_client.rs);
                             --check fails if FILE differs from what would be written.
  surface                    print one line per operation: tag | operationId | method path |
                             parameters | body | response.
  bundle [--out FILE]        write the merged spec as one OpenAPI JSON document
                             (default generated/openapi.json).
  coverage                   compare the spec with spec/docs/operations.tsv per category; exit
                             non-zero if an operation is missing or extra.
  rules                      list the house rules.
  conformance [--schemathesis PATH] [--max-examples N]
                             run schemathesis (PyPI) against the local emulator with the bundled
                             spec, on 127.0.0.1 only, bounded in examples and time; only the
                             operations the emulator implements are tested.
";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let spec_dir = root.join("spec");
    let result = match args.first().map(String::as_str) {
        Some("validate") => validate(&spec_dir, &args[1..]),
        Some("generate") => generate(&root, &spec_dir, &args[1..]),
        Some("surface") => load(&spec_dir).map(|s| print!("{}", koodrive_codegen::surface(&s))),
        Some("bundle") => bundle(&root, &spec_dir, &args[1..]),
        Some("coverage") => coverage_cmd(&spec_dir),
        Some("conformance") => conformance(&root, &spec_dir, &args[1..]),
        Some("rules") => {
            for (name, what) in koodrive_codegen::rules::RULES {
                println!("{name:<28} {what}");
            }
            Ok(())
        }
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

fn load(spec_dir: &Path) -> Result<Spec, String> {
    Spec::load(spec_dir).map_err(|r| r.to_string())
}

/// `--name VALUE` from the arguments.
fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn validate(spec_dir: &Path, args: &[String]) -> Result<(), String> {
    let mut extra = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--part" => {
                let file = args.get(i + 1).ok_or("--part needs a file")?;
                extra.push(
                    std::env::current_dir()
                        .map_err(|e| e.to_string())?
                        .join(file),
                );
                i += 2;
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let spec = Spec::load_with_parts(spec_dir, &extra).map_err(|r| r.to_string())?;
    let report = koodrive_codegen::validate(&spec);
    let ops = spec.operations().len();
    if report.has_errors() {
        Err(format!("{report}"))
    } else {
        if !report.diagnostics.is_empty() {
            println!("{report}");
        }
        println!(
            "spec is valid: {ops} operations, {} files",
            spec.files.len()
        );
        Ok(())
    }
}

fn write_or_check(path: &Path, contents: &str, check: bool) -> Result<(), String> {
    if check {
        let current = std::fs::read_to_string(path)
            .unwrap_or_default()
            .replace("\r\n", "\n");
        if current != contents {
            return Err(format!(
                "{} is stale; run `cargo xtask generate` and commit the result",
                path.display()
            ));
        }
        println!("{} is up to date", path.display());
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "wrote {} ({} lines)",
        path.display(),
        contents.lines().count()
    );
    Ok(())
}

fn generate(root: &Path, spec_dir: &Path, args: &[String]) -> Result<(), String> {
    let out = option(args, "--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("generated/koodrive_client.rs"));
    let spec = load(spec_dir)?;
    let code = koodrive_codegen::generate_checked(&spec).map_err(|r| r.to_string())?;
    write_or_check(&out, &code, args.iter().any(|a| a == "--check"))
}

fn bundle(root: &Path, spec_dir: &Path, args: &[String]) -> Result<(), String> {
    let out = option(args, "--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("generated/openapi.json"));
    let spec = load(spec_dir)?;
    let report = koodrive_codegen::validate(&spec);
    if report.has_errors() {
        return Err(format!("{report}"));
    }
    write_or_check(&out, &koodrive_codegen::bundle(&spec), false)
}

fn coverage_cmd(spec_dir: &Path) -> Result<(), String> {
    let spec = load(spec_dir)?;
    let documented = coverage::read_documented(&spec_dir.join("docs/operations.tsv"))?;
    let c = coverage::coverage(&spec, &documented);
    print!("{c}");
    if c.is_complete() {
        Ok(())
    } else {
        Err(format!(
            "\ncoverage incomplete: {} missing, {} extra",
            c.missing.len(),
            c.extra.len()
        ))
    }
}

/// Start the emulator binary, run schemathesis against it with the bundled spec, stop it.
fn conformance(root: &Path, spec_dir: &Path, args: &[String]) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let schemathesis = option(args, "--schemathesis").unwrap_or_else(|| "schemathesis".into());
    let max_examples = option(args, "--max-examples").unwrap_or_else(|| "10".into());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "koodrive-emulator",
            "--bin",
            "koodrive-emulator",
        ])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the emulator failed".into());
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let binary = target.join("debug/koodrive-emulator");
    let bundle_path = root.join("generated/openapi.json");
    bundle(
        root,
        spec_dir,
        &["--out".into(), bundle_path.display().to_string()],
    )?;

    let listed = Command::new(&binary)
        .arg("--list-emulated")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    // logout and refreshSession end or replace the session this run authenticates with; the
    // emulator's own tests cover them.
    let operations: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !matches!(*l, "logout" | "refreshSession"))
        .map(str::to_owned)
        .collect();
    if operations.is_empty() {
        return Err("the emulator lists no emulated operations".into());
    }

    let mut emulator = Command::new(&binary)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    let stdout = emulator.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut base_url = None;
    let mut token = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(v) = line.strip_prefix("base URL:") {
            base_url = Some(v.trim().to_owned());
        }
        if let Some(v) = line.strip_prefix("access token:") {
            token = Some(v.trim().to_owned());
            break;
        }
    }
    // Keep draining the emulator's output, so that it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let (Some(base_url), Some(token)) = (base_url, token) else {
        let _ = emulator.kill();
        return Err("the emulator did not print its base URL and token".into());
    };
    if !base_url.starts_with("http://127.0.0.1:") {
        let _ = emulator.kill();
        return Err(format!("refusing to test {base_url}: loopback only"));
    }
    println!(
        "schemathesis against {base_url}: {} operations, {max_examples} examples each",
        operations.len()
    );
    let mut cmd = Command::new(&schemathesis);
    cmd.arg("run")
        .arg(&bundle_path)
        .args(["--url", &base_url])
        .args(["--header", &format!("Authorization: {token}")])
        .args(["--max-examples", &max_examples])
        .args([
            "--seed",
            "20261204",
            "--request-timeout",
            "5",
            "--workers",
            "1",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        // Authenticate with the session token above, not with generated Authorization values.
        .args(["--generation-with-security-parameters", "false"])
        // KooDrive answers business errors (an unknown id, a taken name) with HTTP 400, as its
        // docs say; a schema-valid request for an id that does not exist is rightly a 400, so
        // "schema-valid request rejected" does not apply to this API.
        .args(["--exclude-checks", "positive_data_acceptance"]);
    for op in &operations {
        cmd.args(["--include-operation-id", op]);
    }
    let result = cmd.status();
    let _ = emulator.kill();
    let _ = emulator.wait();
    match result {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("schemathesis found problems (exit {s})")),
        Err(e) => Err(format!(
            "cannot run {schemathesis}: {e} (pip install schemathesis==4.32.5)"
        )),
    }
}
