//! Figure 3: upload_file/download_to against raw reqwest PUT/GET of the same parts at the same
//! concurrency, against the emulator in a child process, with the bench's peak RSS per phase.

use std::path::Path;
use std::time::{Duration, Instant};

use koodrive_api::upload::{Sha256State, UploadOptions, UploadTarget};
use koodrive_api::{Client, OperationExt, types};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::emulator::Remote;
use crate::{Result, heading, median, mib, peak_rss, reset_peak_rss, rss, scratch, secs};

/// Upload runs of each side (interleaved).
const RUNS: usize = 5;
/// Download runs of each side (interleaved; each is short, so more of them).
const DOWNLOAD_RUNS: usize = 9;

/// The test file's content: not all zeros, not compressible by anyone in the path.
fn fill(buf: &mut [u8], offset: u64) {
    let mut x = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

struct Phase {
    name: &'static str,
    times: Vec<Duration>,
    peak: u64,
    /// The client process's CPU time (user + system) of each run.
    cpu: Vec<Duration>,
}

/// This process's CPU time so far (user + system), from `/proc/self/stat` (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here (0-based: 11, 12).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux architecture Rust targets.
    Some(Duration::from_millis(ticks * 10))
}

impl Phase {
    fn new(name: &'static str) -> Phase {
        Phase {
            name,
            times: vec![],
            peak: 0,
            cpu: vec![],
        }
    }

    /// Time one run of `f`, with the peak RSS reset before it.
    async fn run<F, Fut>(&mut self, f: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        reset_peak_rss();
        let before = rss().unwrap_or(0);
        let started = Instant::now();
        let cpu = cpu_time();
        f().await?;
        self.times.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu, cpu_time()) {
            self.cpu.push(after.saturating_sub(before));
        }
        let peak = peak_rss().unwrap_or(0);
        self.peak = self.peak.max(peak.saturating_sub(before));
        Ok(())
    }

    fn report(&mut self, bytes: u64) -> f64 {
        let m = median(&mut self.times);
        let rate = bytes as f64 / 1048576.0 / m.as_secs_f64();
        let cpu = if self.cpu.is_empty() {
            "?".to_owned()
        } else {
            secs(median(&mut self.cpu))
        };
        println!(
            "  {:<44} median {} = {:>7.1} MiB/s; client CPU {cpu}; peak RSS above the start +{}",
            self.name,
            secs(m),
            rate,
            mib(self.peak)
        );
        rate
    }
}

/// The upload URLs of every part of a new upload (createFile + one getUploadUrls), for the
/// raw peer; not timed.
async fn announce(
    api: &Client,
    container: &str,
    name: &str,
    length: u64,
    part: u64,
    contexts: &[[u32; 8]],
) -> Result<(String, Vec<String>)> {
    let created = api
        .create_file()
        .body(types::CreateFileRequest {
            auto_rename: None,
            container_id: container.into(),
            created_time: None,
            description: None,
            file_name: name.try_into()?,
            file_type: "45".into(),
            length: length as i64,
            mime_type: None,
            multi_parts: vec![],
            parent_folder: vec!["root".into()],
            pre_hash: None,
            sha256: None,
            upload_mode: Some(types::CreateFileRequestUploadMode::Multipart),
            upload_type: Some(1.try_into()?),
        })
        .call()
        .await?;
    let file_id = created.file_id.ok_or("createFile returned no fileId")?;
    let parts = length.div_ceil(part);
    let multi_parts = (0..parts)
        .map(|i| {
            let offset = i * part;
            Ok(types::MultiPartInfo {
                hash_ctx: if i == 0 {
                    vec![]
                } else {
                    contexts[i as usize].iter().map(|w| i64::from(*w)).collect()
                },
                part_id: None,
                part_number: std::num::NonZeroU32::new(i as u32 + 1).ok_or("part 0")?,
                part_offset: Some(offset as i64),
                part_size: part.min(length - offset) as i64,
                upload_url: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let urls = api
        .get_upload_urls()
        .body(types::GetUploadUrlsRequest {
            file_id: file_id.clone(),
            multi_parts,
        })
        .call()
        .await?;
    let mut by_number: Vec<(u32, String)> = urls
        .multi_parts
        .into_iter()
        .map(|p| (p.part_number.get(), p.upload_url.unwrap_or_default()))
        .collect();
    by_number.sort();
    if by_number.len() as u64 != parts {
        return Err(format!("asked for {parts} URLs, got {}", by_number.len()).into());
    }
    Ok((file_id, by_number.into_iter().map(|(_, u)| u).collect()))
}

/// The raw peer's upload: read each part from the file when a slot is free (as the helper
/// does), PUT it, at most `concurrency` in flight; no hashing, no KooDrive calls.
async fn raw_put(
    http: &reqwest::Client,
    path: &Path,
    urls: &[String],
    part: u64,
    length: u64,
    concurrency: usize,
) -> Result<()> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut in_flight: JoinSet<Result<()>> = JoinSet::new();
    for (i, url) in urls.iter().enumerate() {
        while in_flight.len() >= concurrency {
            if let Some(r) = in_flight.join_next().await {
                r.map_err(|e| e.to_string())??;
            }
        }
        let offset = i as u64 * part;
        let size = part.min(length - offset);
        let mut data = Vec::with_capacity(size as usize);
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        (&mut file).take(size).read_to_end(&mut data).await?;
        let (http, url) = (http.clone(), url.clone());
        in_flight.spawn(async move {
            let r = http
                .put(url)
                .header(reqwest::header::CONTENT_LENGTH, data.len())
                .body(bytes::Bytes::from(data))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("PUT: HTTP {}", r.status()).into());
            }
            Ok(())
        });
    }
    while let Some(r) = in_flight.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// The raw peer's download: one GET, streamed to a sink.
async fn raw_get(http: &reqwest::Client, url: &str, length: u64) -> Result<()> {
    let mut r = http.get(url).send().await?;
    if !r.status().is_success() {
        return Err(format!("GET: HTTP {}", r.status()).into());
    }
    let mut sink = tokio::io::sink();
    let mut got = 0u64;
    while let Some(chunk) = r.chunk().await? {
        sink.write_all(&chunk).await?;
        got += chunk.len() as u64;
    }
    if got != length {
        return Err(format!("GET: {got} of {length} bytes").into());
    }
    Ok(())
}

/// Figure 3.
pub fn figure() -> Result<()> {
    let size_mib: u64 = std::env::var("KOODRIVE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let length = size_mib * 1024 * 1024;
    let options = UploadOptions::default();
    let (part, concurrency) = (options.part_size, options.concurrency);
    heading(&format!(
        "transfer: {size_mib} MiB, parts of {}, {concurrency} in flight",
        mib(part)
    ));

    // The file, and what the raw peer needs to know about it (computed once, not timed).
    let path = scratch().join("transfer.bin");
    let mut hasher = Sha256State::default();
    let mut contexts = Vec::new();
    let mut before_last = Sha256State::default();
    let mut last_part = Vec::new();
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut buf = vec![0u8; part as usize];
        let mut offset = 0;
        while offset < length {
            let n = part.min(length - offset) as usize;
            fill(&mut buf[..n], offset);
            contexts.push(hasher.context().ok_or("parts are multiples of 64 bytes")?);
            if offset + n as u64 == length {
                before_last = hasher.clone();
                last_part = buf[..n].to_vec();
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            offset += n as u64;
        }
        out.flush()?;
    }
    drop(hasher);
    // Every upload gets its own last 8 bytes (and so its own SHA-256): the server would
    // otherwise recognise the content and answer with an instant upload.
    let mut uploads = 0u64;
    let mut unique = || -> Result<String> {
        use std::io::{Seek, Write};
        uploads += 1;
        let tail = last_part.len() - 8;
        last_part[tail..].copy_from_slice(&uploads.to_le_bytes());
        let mut f = std::fs::OpenOptions::new().write(true).open(&path)?;
        f.seek(std::io::SeekFrom::Start(length - 8))?;
        f.write_all(&uploads.to_le_bytes())?;
        let mut state = before_last.clone();
        state.update(&last_part);
        Ok(state.finish_hex())
    };

    let remote = Remote::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let api = remote.client()?;
        let container = remote.container_id.clone();
        // The raw peer's HTTP client: the one koodrive-api uses for transfers (same settings).
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut up_helper = Phase::new("upload_file (hash pass, then the parts)");
        let mut up_raw = Phase::new("raw PUTs (+ createFile/1 getUploadUrls/complete)");
        let mut up_once = Phase::new("upload_file, instant_upload off (one pass)");
        let mut up_reader = Phase::new("upload_reader (one pass, tokio::fs::File)");
        let mut down_helper = Phase::new("download_to (getDownloadUrls + GET)");
        let mut down_raw = Phase::new("raw reqwest GET of the same link");
        let mut last_file = String::new();
        for run in 0..RUNS {
            let helper_first = run % 2 == 0;
            for helper in [helper_first, !helper_first] {
                let sha256 = unique()?;
                if helper {
                    let target = UploadTarget {
                        container_id: container.clone(),
                        parent_folder: "root".into(),
                        file_name: format!("helper-{run}.bin"),
                    };
                    let mut outcome = None;
                    up_helper
                        .run(|| async {
                            outcome =
                                Some(api.upload_file(&path, target, options.clone()).await?);
                            Ok(())
                        })
                        .await?;
                    let outcome = outcome.ok_or("no outcome")?;
                    if outcome.sha256 != sha256 || outcome.instant {
                        return Err(format!("unexpected upload outcome {outcome:?}").into());
                    }
                    last_file = outcome.file_id;
                } else {
                    let name = format!("raw-{run}.bin");
                    up_raw
                        .run(|| async {
                            let (file_id, urls) =
                                announce(&api, &container, &name, length, part, &contexts)
                                    .await?;
                            raw_put(&http, &path, &urls, part, length, concurrency).await?;
                            api.complete_file()
                                .body(types::CompleteFileRequest {
                                    file_id,
                                    sha256: Some(sha256.clone()),
                                })
                                .call()
                                .await?;
                            Ok(())
                        })
                        .await?;
                }
            }
            // The one-pass helpers (no instant-upload hash pass), to tell the costs apart.
            let sha256 = unique()?;
            let target = UploadTarget {
                container_id: container.clone(),
                parent_folder: "root".into(),
                file_name: format!("once-{run}.bin"),
            };
            let once = UploadOptions {
                instant_upload: false,
                ..options.clone()
            };
            let mut outcome = None;
            up_once
                .run(|| async {
                    outcome = Some(api.upload_file(&path, target, once).await?);
                    Ok(())
                })
                .await?;
            if outcome.as_ref().map(|o| o.sha256.as_str()) != Some(sha256.as_str()) {
                return Err(format!("unexpected one-pass outcome {outcome:?}").into());
            }
            unique()?;
            let target = UploadTarget {
                container_id: container.clone(),
                parent_folder: "root".into(),
                file_name: format!("reader-{run}.bin"),
            };
            up_reader
                .run(|| async {
                    let file = tokio::fs::File::open(&path).await?;
                    api.upload_reader(file, length, target, options.clone())
                        .await?;
                    Ok(())
                })
                .await?;
        }
        for run in 0..DOWNLOAD_RUNS {
            let helper_first = run % 2 == 0;
            for helper in [helper_first, !helper_first] {
                if helper {
                    down_helper
                        .run(|| async {
                            let got = api
                                .download_to(
                                    &container,
                                    &last_file,
                                    &mut tokio::io::sink(),
                                    None,
                                )
                                .await?;
                            if got.bytes != length {
                                return Err(format!("download_to: {} bytes", got.bytes).into());
                            }
                            Ok(())
                        })
                        .await?;
                } else {
                    let (url, _) = api.download_url(&container, &last_file).await?;
                    down_raw.run(|| raw_get(&http, &url, length)).await?;
                }
            }
        }
        let uh = up_helper.report(length);
        let ur = up_raw.report(length);
        let uo = up_once.report(length);
        let ud = up_reader.report(length);
        println!(
            "  RATIO upload helper/raw throughput = {:.3} (goal >= 0.90); helper peak RSS +{} against a bound of concurrency x part = {}",
            uh / ur,
            mib(up_helper.peak),
            mib(concurrency as u64 * part)
        );
        println!(
            "  RATIO upload_file without instant upload/raw throughput = {:.3} (goal >= 0.90); peak RSS +{}",
            uo / ur,
            mib(up_once.peak)
        );
        println!(
            "  RATIO upload_reader/raw throughput = {:.3}; upload_reader peak RSS +{}",
            ud / ur,
            mib(up_reader.peak)
        );
        let dh = down_helper.report(length);
        let dr = down_raw.report(length);
        println!(
            "  RATIO download helper/raw throughput = {:.3} (goal >= 0.90); helper peak RSS +{}",
            dh / dr,
            mib(down_helper.peak)
        );
        println!(
            "  process peak RSS (VmHWM) now {} (the emulator is another process)",
            mib(peak_rss().unwrap_or(0))
        );

        // What the helper's two SHA-256 passes cost on this machine, to read the ratio by.
        let started = Instant::now();
        let mut buf = vec![0u8; 1 << 20];
        let mut state = Sha256State::default();
        let mut file = tokio::fs::File::open(&path).await?;
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            state.update(&buf[..n]);
        }
        let hashed = started.elapsed();
        println!(
            "  (one SHA-256 pass over the file from the page cache: {} = {:.0} MiB/s)",
            secs(hashed),
            length as f64 / 1048576.0 / hashed.as_secs_f64()
        );
        Ok(())
    });
    drop(remote);
    let _ = std::fs::remove_file(&path);
    result
}
