//! `cargo run --release -p koodrive-bench -- <figure>|all`: what the generated KooDrive SDK
//! costs its users, each figure as a ratio against a peer measured in the same run (these
//! machines are shared and noisy, so absolute times do not carry over). See BENCHMARKS.md.
//!
//! Figures: `codegen` (ours against openapi-generator's rust generator), `calls` (per-call
//! overhead against hand-written reqwest + serde_json), `instructions` (the same calls'
//! instruction counts under callgrind), `transfer` (upload_file/download_to
//! against raw PUT/GET of the same parts), `scaling` (codegen time of 1×, 2×, 4× specs);
//! `all` runs those five. `build-cost` (clean-target builds of a tiny consumer, minutes each)
//! runs only when asked for by name.

mod build_cost;
mod calls;
mod codegen;
mod emulator;
mod transfer;

use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: koodrive-bench codegen|calls|instructions|transfer|scaling|all|build-cost \
[build-cost: --peer --tls --incremental --scaling | --all]\n\
  environment: KOODRIVE_BENCH_MIB (transfer size, default 256),\n\
               KOODRIVE_BENCH_OAG_JAR (openapi-generator jar; default: a venv under target/bench)";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The workspace root (the bench reads `spec/` and writes under `target/bench/`).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("koodrive-bench sits in the workspace")
        .to_path_buf()
}

/// Scratch space for the bench: `target/bench/`.
fn scratch() -> PathBuf {
    let dir = workspace().join("target").join("bench");
    std::fs::create_dir_all(&dir).expect("target/bench is writable");
    dir
}

/// The median of some samples (sorted in place).
fn median(samples: &mut [Duration]) -> Duration {
    percentile(samples, 50.0)
}

/// The nearest-rank percentile `p` (0..=100) of some samples (sorted in place).
fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn heading(title: &str) {
    println!("\n== {title} ==");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(what) = args.first().map(String::as_str) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let result = match what {
        // The emulator in a process of its own (so the bench's RSS is the client's alone).
        emulator::SERVE => emulator::serve(),
        "codegen" => codegen::figure(),
        "calls" => calls::figure(),
        "calls-profile" => calls::profile(&args[1..]),
        "instructions" => calls::instructions(),
        "transfer" => transfer::figure(),
        "scaling" => codegen::scaling(),
        "build-cost" => build_cost::figure(&args[1..]),
        "all" => {
            println!("{}", machine());
            codegen::figure()
                .and_then(|_| calls::figure())
                .and_then(|_| calls::instructions())
                .and_then(|_| transfer::figure())
                .and_then(|_| codegen::scaling())
        }
        "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown figure {other}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("koodrive-bench: {e}");
        std::process::exit(1);
    }
}

/// The machine, for the record: cores and memory.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        })
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or_else(
            || "?".into(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    format!("machine: {cores} cores, {mem} RAM")
}

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The current resident set (VmRSS), in bytes.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Reset the peak resident set to the current one (Linux 4.0+); false where unsupported.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}
