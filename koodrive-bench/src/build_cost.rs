//! Consumer build cost (issue 8, figure 2): a tiny program that depends on koodrive-api,
//! built from a clean target directory in debug and in release; wall time and peak memory
//! (`/usr/bin/time -v` when present, else the children's `ru_maxrss` via `getrusage`, which
//! `/usr/bin/time` reports too: the largest single process, usually rustc or the linker).
//! With `--peer`, the same program against the crate openapi-generator made (figure
//! `codegen` must have run first: it leaves it in `target/bench/oag-rust`).
//!
//! More parts, each asked for by a flag (`--all` for every one):
//! - `--tls`: clean debug builds of the consumer with each TLS choice of koodrive-api
//!   (`rustls` with aws-lc-rs, `rustls-ring`, `native-tls`, none), each binary run once.
//! - `--incremental`: the rebuild after a one-field spec edit (a new optional property in
//!   getUnreadCount's response), the spec read from a copy through `KOODRIVE_SPEC_DIR`; with
//!   the build script compiled as by default (opt-level 0) and optimised
//!   (`[profile.dev.build-override] opt-level = 3`); with `--peer`, openapi-generator run on
//!   the same edit plus the rebuild of its crate.
//! - `--scaling`: the rebuild of koodrive-api from the synthetic 1×, 2×, 4× specs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Result, heading, scratch, secs, workspace};

/// Write the consumer crate and return its directory. It starts from the workspace's
/// `Cargo.lock`, so that both builds compile the same versions of shared dependencies.
fn consumer(name: &str, dependency: &str, main: &str, extra_toml: &str) -> Result<PathBuf> {
    let dir = scratch().join(name);
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\n{dependency}\ntokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n\n\
             [workspace]\n{extra_toml}"
        ),
    )?;
    std::fs::write(dir.join("src").join("main.rs"), main)?;
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock"))?;
    }
    Ok(dir)
}

/// The consumer of koodrive-api with the given dependency settings (e.g. features).
fn ours(name: &str, settings: &str, extra_toml: &str) -> Result<PathBuf> {
    let api_path = workspace().join("koodrive-api");
    consumer(
        name,
        &format!(
            "koodrive-api = {{ path = {:?}{settings} }}",
            api_path.display().to_string()
        ),
        OURS_MAIN,
        extra_toml,
    )
}

const OURS_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    use koodrive_api::OperationExt;
    let client = koodrive_api::Client::builder(koodrive_api::INTL_ENDPOINT)
        .user_token("Bearer token", None)
        .build()
        .expect("client");
    if std::env::args().count() > 1 {
        let n = client.get_unread_count().call().await.map(|r| r.count);
        println!("{n:?}");
    }
}
"#;

const PEER_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut config = koodrive_oag::apis::configuration::Configuration::new();
    config.bearer_access_token = Some("token".into());
    if std::env::args().count() > 1 {
        let n = koodrive_oag::apis::message_notifications_api::get_unread_count(&config, None, None, None, None).await;
        println!("{:?}", n.map(|r| r.count));
    }
}
"#;

struct Build {
    wall: Duration,
    peak_kib: Option<u64>,
}

/// `cargo build` of `dir` into a fresh target directory.
fn build(dir: &Path, release: bool) -> Result<Build> {
    let _ = std::fs::remove_dir_all(dir.join("target"));
    rebuild(dir, release, &[])
}

/// `cargo build` of `dir` into its target directory as it is, with `env` set.
fn rebuild(dir: &Path, release: bool, env: &[(&str, &OsStr)]) -> Result<Build> {
    let target = dir.join("target");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg("cargo");
        c
    } else {
        Command::new("cargo")
    };
    cmd.arg("build").arg("--quiet").current_dir(dir);
    cmd.env("CARGO_TARGET_DIR", &target);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if release {
        cmd.arg("--release");
    }
    let started = Instant::now();
    let output = cmd.output()?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        return Err(format!(
            "the build failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
        .into());
    }
    let peak_kib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .or_else(children_maxrss_kib);
    Ok(Build { wall, peak_kib })
}

fn peak(b: &Build) -> String {
    b.peak_kib
        .map_or_else(|| "?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// Run a consumer's debug binary once (no arguments: it only builds a client), to show the
/// TLS choice works at run time too.
fn run_consumer(dir: &Path, name: &str) -> Result<()> {
    let exe = dir.join("target").join("debug").join(name);
    let out = Command::new(&exe).output()?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// The largest resident set of any waited-for child, in KiB (Linux reports KiB), from
/// `getrusage(RUSAGE_CHILDREN)`; for machines without `/usr/bin/time`.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn children_maxrss_kib() -> Option<u64> {
    #[repr(C)]
    struct Rusage {
        utime: [i64; 2],
        stime: [i64; 2],
        maxrss: i64,
        rest: [i64; 13],
    }
    unsafe extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    const RUSAGE_CHILDREN: i32 = -1;
    let mut usage = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        maxrss: 0,
        rest: [0; 13],
    };
    // SAFETY: `usage` is a valid, writable `struct rusage` of the platform's layout.
    let rc = unsafe { getrusage(RUSAGE_CHILDREN, &mut usage) };
    (rc == 0).then_some(usage.maxrss as u64)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn children_maxrss_kib() -> Option<u64> {
    None
}

/// The build-cost figure; `args` are the flags after `build-cost`.
pub fn figure(args: &[String]) -> Result<()> {
    let flag = |f: &str| args.iter().any(|a| a == f || a == "--all");
    let peer = flag("--peer");
    heading("consumer build cost: a tiny program depending on the SDK, clean target");
    let mut sides = vec![("koodrive-api", ours("consumer-ours", "", "")?)];
    if peer {
        let oag = scratch().join("oag-rust");
        if !oag.join("Cargo.toml").exists() {
            return Err("run the codegen figure first: target/bench/oag-rust is missing".into());
        }
        sides.push((
            "openapi-generator rust",
            peer_consumer("consumer-oag", &oag)?,
        ));
    }
    for (name, dir) in &sides {
        for release in [false, true] {
            let b = build(dir, release)?;
            println!(
                "  {name:<24} {:<7} clean build {:>9}, peak memory {}",
                if release { "release" } else { "debug" },
                secs(b.wall),
                peak(&b)
            );
        }
    }
    if flag("--tls") {
        tls(peer)?;
    }
    if flag("--incremental") {
        incremental(peer)?;
    }
    if flag("--scaling") {
        scaling()?;
    }
    Ok(())
}

fn peer_consumer(name: &str, oag: &Path) -> Result<PathBuf> {
    consumer(
        name,
        &format!(
            "koodrive_oag = {{ path = {:?} }}",
            oag.display().to_string()
        ),
        PEER_MAIN,
        "",
    )
}

/// Clean debug builds with each TLS choice (and, with `peer`, the peer's crate with rustls
/// instead of its default native-tls).
fn tls(peer: bool) -> Result<()> {
    heading("TLS choices of koodrive-api: clean debug build of the consumer");
    let choices = [
        ("rustls (aws-lc-rs, default)", "consumer-tls-awslc", ""),
        (
            "rustls-ring",
            "consumer-tls-ring",
            ", default-features = false, features = [\"rustls-ring\"]",
        ),
        (
            "native-tls (OpenSSL)",
            "consumer-tls-native",
            ", default-features = false, features = [\"native-tls\"]",
        ),
        ("no TLS", "consumer-tls-none", ", default-features = false"),
    ];
    for (label, name, settings) in choices {
        let dir = ours(name, settings, "")?;
        let b = build(&dir, false)?;
        run_consumer(&dir, name)?;
        println!(
            "  {label:<28} clean debug build {:>9}, peak memory {}",
            secs(b.wall),
            peak(&b)
        );
    }
    if peer {
        let oag = scratch().join("oag-rust");
        let dir = consumer(
            "consumer-oag-rustls",
            &format!(
                "koodrive_oag = {{ path = {:?}, default-features = false, features = [\"rustls\"] }}",
                oag.display().to_string()
            ),
            PEER_MAIN,
            "",
        )?;
        let b = build(&dir, false)?;
        println!(
            "  {:<28} clean debug build {:>9}, peak memory {}",
            "peer with rustls (aws-lc-rs)",
            secs(b.wall),
            peak(&b)
        );
    }
    Ok(())
}

/// The bundled spec, as a one-file spec directory (`openapi.yaml` holding JSON, which is
/// YAML, and an empty `parts/`) that `KOODRIVE_SPEC_DIR` can point at.
fn write_spec_dir(dir: &Path, doc: &serde_json::Value) -> Result<()> {
    std::fs::create_dir_all(dir.join("parts"))?;
    std::fs::write(
        dir.join("openapi.yaml"),
        serde_json::to_string_pretty(doc)? + "\n",
    )?;
    Ok(())
}

/// Add an optional string property `name` to the schema of getUnreadCount's success body.
fn add_field(doc: &mut serde_json::Value, name: &str) -> Result<()> {
    let op = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(|item| item.as_object())
        .flat_map(|item| item.values())
        .find(|op| op["operationId"] == "getUnreadCount")
        .ok_or("getUnreadCount is not in the spec")?;
    let reference = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .ok_or("getUnreadCount's 200 body is not a $ref")?
        .to_owned();
    let schema = reference
        .strip_prefix("#/components/schemas/")
        .ok_or("not a component schema")?;
    let properties = doc["components"]["schemas"][schema]["properties"]
        .as_object_mut()
        .ok_or("the schema has no properties")?;
    properties.insert(
        name.to_owned(),
        serde_json::json!({"type": "string", "description": "A field added by the benchmark."}),
    );
    Ok(())
}

/// The rebuild after a one-field spec edit.
fn incremental(peer: bool) -> Result<()> {
    heading("incremental: rebuild after a one-field spec edit (debug, dependencies built)");
    let spec = koodrive_codegen::Spec::load(&workspace().join("spec"))
        .map_err(|r| format!("the spec does not load:\n{r}"))?;
    for (label, name, extra) in [
        ("build script at opt-level 0 (default)", "consumer-incr", ""),
        (
            "build script at opt-level 3",
            "consumer-incr-opt",
            "\n[profile.dev.build-override]\nopt-level = 3\n",
        ),
    ] {
        let spec_dir = scratch().join(format!("spec-{name}"));
        let mut doc = spec.doc.clone();
        write_spec_dir(&spec_dir, &doc)?;
        let dir = ours(name, "", extra)?;
        let env = [("KOODRIVE_SPEC_DIR", spec_dir.as_os_str())];
        let _ = std::fs::remove_dir_all(dir.join("target"));
        rebuild(&dir, false, &env)?;
        let noop = rebuild(&dir, false, &env)?;
        let mut times = Vec::new();
        for edit in 1..=2 {
            add_field(&mut doc, &format!("benchField{edit}"))?;
            write_spec_dir(&spec_dir, &doc)?;
            times.push(rebuild(&dir, false, &env)?.wall);
        }
        println!(
            "  koodrive-api, {label:<38} rebuild {} and {} (a no-op build: {})",
            secs(times[0]),
            secs(times[1]),
            secs(noop.wall)
        );
    }
    if peer {
        let jar = crate::codegen::oag_jar()?;
        let bundled = scratch().join("openapi-edit.json");
        let out = scratch().join("oag-rust-edit");
        let mut doc = spec.doc.clone();
        std::fs::write(&bundled, serde_json::to_string_pretty(&doc)?)?;
        crate::codegen::peer_once(&jar, &bundled, &out)?;
        let dir = peer_consumer("consumer-oag-incr", &out)?;
        let _ = std::fs::remove_dir_all(dir.join("target"));
        rebuild(&dir, false, &[])?;
        for edit in 1..=2 {
            add_field(&mut doc, &format!("benchField{edit}"))?;
            std::fs::write(&bundled, serde_json::to_string_pretty(&doc)?)?;
            let generate = crate::codegen::peer_once(&jar, &bundled, &out)?;
            let b = rebuild(&dir, false, &[])?;
            println!(
                "  openapi-generator, edit {edit}: regenerate {} + rebuild {} = {}",
                secs(generate),
                secs(b.wall),
                secs(generate + b.wall)
            );
        }
    }
    Ok(())
}

/// The rebuild of koodrive-api (and the consumer) from the synthetic 1x, 2x, 4x specs.
fn scaling() -> Result<()> {
    heading(
        "scaling: rebuild of the consumer from synthetic 1x, 2x, 4x specs (debug, not incremental)",
    );
    let spec = koodrive_codegen::Spec::load(&workspace().join("spec"))
        .map_err(|r| format!("the spec does not load:\n{r}"))?;
    let dir = ours("consumer-scale", "", "")?;
    let warm = scratch().join("spec-scale-warm");
    write_spec_dir(&warm, &spec.doc)?;
    // Without incremental compilation, so that every rebuild compiles the client in full
    // (with it, the 1x rebuild would reuse the warm-up's work: the same spec).
    let no_incremental = ("CARGO_INCREMENTAL", OsStr::new("0"));
    let _ = std::fs::remove_dir_all(dir.join("target"));
    rebuild(
        &dir,
        false,
        &[("KOODRIVE_SPEC_DIR", warm.as_os_str()), no_incremental],
    )?;
    let mut base = None;
    for factor in [1usize, 2, 4] {
        let synthetic = crate::codegen::scaled(&spec, factor);
        let spec_dir = scratch().join(format!("spec-scale-{factor}x"));
        write_spec_dir(&spec_dir, &synthetic.doc)?;
        let b = rebuild(
            &dir,
            false,
            &[("KOODRIVE_SPEC_DIR", spec_dir.as_os_str()), no_incremental],
        )?;
        let base_time = *base.get_or_insert(b.wall);
        println!(
            "  {factor}x ({} operations): rebuild {} (x{:.2} of 1x), peak memory {}",
            synthetic.operations().len(),
            secs(b.wall),
            b.wall.as_secs_f64() / base_time.as_secs_f64(),
            peak(&b)
        );
    }
    Ok(())
}
