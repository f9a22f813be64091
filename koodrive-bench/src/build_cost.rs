//! Consumer build cost (issue 8, figure 2): a tiny program that depends on koodrive-api,
//! built from a clean target directory in debug and in release; wall time and peak memory
//! (`/usr/bin/time -v` when present, else the children's `ru_maxrss` via `getrusage`, which
//! `/usr/bin/time` reports too: the largest single process, usually rustc or the linker).
//! With `--peer`, the same program against the crate openapi-generator made (figure
//! `codegen` must have run first: it leaves it in `target/bench/oag-rust`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Result, heading, scratch, secs, workspace};

/// Write the consumer crate and return its directory.
fn consumer(name: &str, dependency: &str, main: &str) -> Result<PathBuf> {
    let dir = scratch().join(name);
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\n{dependency}\ntokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n\n\
             [workspace]\n"
        ),
    )?;
    std::fs::write(dir.join("src").join("main.rs"), main)?;
    Ok(dir)
}

const OURS_MAIN: &str = r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    use koodrive_api::OperationExt;
    let client = koodrive_api::Client::builder(koodrive_api::INTL_ENDPOINT)
        .user_token("Bearer token", None::<&str>)
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
    let target = dir.join("target");
    let _ = std::fs::remove_dir_all(&target);
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

/// The build-cost figure.
pub fn figure(peer: bool) -> Result<()> {
    heading("consumer build cost: a tiny program depending on the SDK, clean target");
    let api_path = workspace().join("koodrive-api");
    let ours = consumer(
        "consumer-ours",
        &format!(
            "koodrive-api = {{ path = {:?} }}",
            api_path.display().to_string()
        ),
        OURS_MAIN,
    )?;
    let mut sides = vec![("koodrive-api", ours)];
    if peer {
        let oag = scratch().join("oag-rust");
        if !oag.join("Cargo.toml").exists() {
            return Err("run the codegen figure first: target/bench/oag-rust is missing".into());
        }
        let dir = consumer(
            "consumer-oag",
            &format!(
                "koodrive_oag = {{ path = {:?} }}",
                oag.display().to_string()
            ),
            PEER_MAIN,
        )?;
        sides.push(("openapi-generator rust", dir));
    }
    for (name, dir) in &sides {
        for release in [false, true] {
            let b = build(dir, release)?;
            println!(
                "  {name:<24} {:<7} clean build {:>9}, peak memory {}",
                if release { "release" } else { "debug" },
                secs(b.wall),
                b.peak_kib
                    .map_or_else(|| "?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
            );
        }
    }
    Ok(())
}
