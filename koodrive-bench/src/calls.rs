//! Figure 2: per-call overhead of koodrive-api (user token, trace ids, retries on) against the
//! same request written by hand with reqwest + serde_json, interleaved, against the emulator
//! in a child process.

use std::time::{Duration, Instant};

use koodrive_api::{Client, OperationExt, types};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::emulator::Remote;
use crate::{Result, heading, median, micros, percentile};

/// Calls of each kind to warm up (connections, allocator, caches); not counted.
const WARMUP: usize = 300;
/// Calls of each kind measured, at most.
const CALLS: usize = 5000;
/// Wall time of one operation's measurement, at most (both sides together).
const BUDGET: Duration = Duration::from_secs(12);

const TRACE_ID: HeaderName = HeaderName::from_static("x-traceid");

/// A fresh 58-character trace id, as a careful hand-written caller would make one.
fn trace_id() -> String {
    // The same generator the SDK uses, so both sides pay the same for it.
    koodrive_api::hooks::new_trace_id()
}

/// The hand-written client: reqwest configured as koodrive-api configures it (timeouts),
/// serde_json for the bodies, the envelope's `code` checked.
struct Hand {
    http: reqwest::Client,
    base: String,
    token: HeaderValue,
}

fn code_ok(v: &Value) -> bool {
    match &v["code"] {
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s == "0",
        Value::Null => true,
        _ => false,
    }
}

impl Hand {
    fn new(base: &str, token: &str) -> Result<Hand> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(60))
            .user_agent("hand-written/1")
            .build()?;
        let mut token = HeaderValue::from_str(token)?;
        token.set_sensitive(true);
        Ok(Hand {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    async fn finish(response: reqwest::Response) -> Result<Value> {
        let status = response.status();
        let body = response.bytes().await?;
        let v: Value = serde_json::from_slice(&body)?;
        if !status.is_success() || !code_ok(&v) {
            return Err(format!("HTTP {status}: {v}").into());
        }
        Ok(v)
    }

    /// GET /message/unreadCount.
    async fn unread_count(&self) -> Result<i64> {
        let response = self
            .http
            .get(format!("{}/koodrive/ose/v1/message/unreadCount", self.base))
            .header(AUTHORIZATION, self.token.clone())
            .header(TRACE_ID, trace_id())
            .header(ACCEPT, "application/json")
            .send()
            .await?;
        Ok(Self::finish(response).await?["count"]
            .as_i64()
            .unwrap_or_default())
    }

    /// POST /files/{fileId}/detail.
    async fn get_file(&self, container: &str, file_id: &str) -> Result<String> {
        let body = serde_json::to_vec(&serde_json::json!({ "containerId": container }))?;
        let response = self
            .http
            .post(format!(
                "{}/koodrive/ose/v1/files/{file_id}/detail",
                self.base
            ))
            .header(AUTHORIZATION, self.token.clone())
            .header(TRACE_ID, trace_id())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let v = Self::finish(response).await?;
        Ok(v["id"].as_str().unwrap_or_default().to_owned())
    }
}

async fn api_unread_count(api: &Client) -> Result<i64> {
    Ok(api
        .get_unread_count()
        .call()
        .await?
        .count
        .unwrap_or_default()
        .into())
}

async fn api_get_file(api: &Client, container: &str, file_id: &str) -> Result<String> {
    Ok(api
        .get_file()
        .file_id(file_id)
        .body(types::GetFileRequest {
            container_id: container.into(),
            image_process: None,
        })
        .call()
        .await?
        .id
        .unwrap_or_default())
}

/// Serve one request on a one-shot listener and return its header lines (values of
/// Authorization and X-Traceid elided), to show that both sides send the same headers.
async fn capture<F, Fut>(reply: &'static str, send: F) -> Result<Vec<String>>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("closed before the headers"));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
            reply.len()
        );
        socket.write_all(response.as_bytes()).await?;
        socket.shutdown().await.ok();
        Ok::<_, std::io::Error>(head)
    });
    send(base).await?;
    let head = server.await??;
    Ok(head
        .lines()
        .skip(1)
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                "authorization" | "x-traceid" | "host" => {
                    format!("{name}: <{} chars>", value.trim().len())
                }
                _ => format!("{name}:{value}"),
            }
        })
        .collect())
}

struct Side {
    samples: Vec<Duration>,
}

impl Side {
    fn report(&mut self, name: &str) -> (Duration, Duration, f64) {
        let total: Duration = self.samples.iter().sum();
        let throughput = self.samples.len() as f64 / total.as_secs_f64();
        let m = median(&mut self.samples);
        let p99 = percentile(&mut self.samples, 99.0);
        println!(
            "  {name:<28} median {:>9}  p99 {:>9}  {:>8.0} calls/s  ({} calls)",
            micros(m),
            micros(p99),
            throughput,
            self.samples.len()
        );
        (m, p99, throughput)
    }
}

/// Measure two ways of making the same call, interleaved (order alternating each round).
async fn duel<A, AF, B, BF>(title: &str, mut a: A, mut b: B) -> Result<()>
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = Result<()>>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = Result<()>>,
{
    for _ in 0..WARMUP {
        a().await?;
        b().await?;
    }
    let mut sa = Side {
        samples: Vec::with_capacity(CALLS),
    };
    let mut sb = Side {
        samples: Vec::with_capacity(CALLS),
    };
    let started = Instant::now();
    for round in 0..CALLS {
        if started.elapsed() > BUDGET {
            break;
        }
        let first_a = round % 2 == 0;
        for which in [first_a, !first_a] {
            let t = Instant::now();
            if which {
                a().await?;
                sa.samples.push(t.elapsed());
            } else {
                b().await?;
                sb.samples.push(t.elapsed());
            }
        }
    }
    println!("{title}");
    let (ma, pa, ta) = sa.report("koodrive-api .call()");
    let (mb, pb, tb) = sb.report("hand-written reqwest+serde");
    println!(
        "  RATIO api/hand: median {:.3}, p99 {:.3}, throughput {:.3} (goal: median within 5%, i.e. <= 1.050)",
        ma.as_secs_f64() / mb.as_secs_f64(),
        pa.as_secs_f64() / pb.as_secs_f64(),
        ta / tb
    );
    Ok(())
}

/// Both sides of a duel against one emulator, and what their calls address.
struct Sides {
    api: Client,
    hand: Hand,
    container: String,
    /// A folder for getFile to describe.
    folder: String,
    /// The user token and session id both sides authenticate with.
    token: String,
    session: String,
}

/// Start the emulator (a child process) and a current-thread runtime, and run `f` on them.
fn with_sides<F, Fut>(f: F) -> Result<()>
where
    F: FnOnce(Sides) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let remote = Remote::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async { f(Sides::new(&remote).await?).await })
}

impl Sides {
    async fn new(remote: &Remote) -> Result<Sides> {
        let api = remote.client()?;
        let hand = Hand::new(&remote.base_url, &remote.access_token)?;
        let container = remote.container_id.clone();
        let folder = bench_folder(&api, &container).await?;
        Ok(Sides {
            api,
            hand,
            container,
            folder,
            token: remote.access_token.clone(),
            session: remote.session_id.clone(),
        })
    }
}

/// A folder for getFile to describe (created once per run).
async fn bench_folder(api: &Client, container: &str) -> Result<String> {
    Ok(api
        .create_directory()
        .body(types::CreateDirectoryRequest {
            container_id: container.into(),
            created_time: None,
            description: None,
            edited_time: None,
            file_name: Some("bench".try_into()?),
            file_type: Some(types::CreateDirectoryRequestFileType::X10),
            hidden: None,
            mime_type: None,
            parent_folder: vec!["root".into()],
            rename_mode: None,
            smart_folder_attr: vec![],
        })
        .call()
        .await?
        .id
        .ok_or("createDirectory returned no id")?)
}

/// Figure 2.
pub fn figure() -> Result<()> {
    heading("per-call overhead: koodrive-api against hand-written reqwest + serde_json");
    with_sides(|sides| async move {
        let Sides {
            api,
            hand,
            container,
            folder,
            token,
            session,
        } = sides;

        // The headers each side sends (the same names, the same values but for the agent).
        for (name, reply) in [
            ("getUnreadCount", r#"{"code":0,"count":0}"#),
            ("getFile", r#"{"code":0,"id":"x"}"#),
        ] {
            let (c, f) = (container.clone(), folder.clone());
            let (t, s) = (token.clone(), session.clone());
            let api_headers = capture(reply, move |base| async move {
                let api = Client::builder(base)
                    .user_token(t, Some(&s))
                    .auto_refresh(true)
                    .build()?;
                if name == "getFile" {
                    api_get_file(&api, &c, &f).await.map(drop)
                } else {
                    api_unread_count(&api).await.map(drop)
                }
            })
            .await?;
            let (c, f, t) = (container.clone(), folder.clone(), token.clone());
            let hand_headers = capture(reply, move |base| async move {
                let hand = Hand::new(&base, &t)?;
                if name == "getFile" {
                    hand.get_file(&c, &f).await.map(drop)
                } else {
                    hand.unread_count().await.map(drop)
                }
            })
            .await?;
            println!("{name} request headers: koodrive-api {api_headers:?}");
            println!(
                "{:width$} hand-written {hand_headers:?}",
                "",
                width = name.len() + 17
            );
        }

        // Both sides agree before anything is timed.
        assert_eq!(api_unread_count(&api).await?, hand.unread_count().await?);
        assert_eq!(
            api_get_file(&api, &container, &folder).await?,
            hand.get_file(&container, &folder).await?
        );

        duel(
            "GET getUnreadCount",
            || async { api_unread_count(&api).await.map(drop) },
            || async { hand.unread_count().await.map(drop) },
        )
        .await?;
        duel(
            "POST getFile (JSON body, idempotent: retries apply)",
            || async { api_get_file(&api, &container, &folder).await.map(drop) },
            || async { hand.get_file(&container, &folder).await.map(drop) },
        )
        .await?;
        Ok(())
    })
}

/// `calls-profile <api|hand> <get|post> [N]`: N calls of one side only (after 50 of warm-up),
/// for an instruction count under `valgrind --tool=callgrind` (the emulator child is not
/// traced). Two runs with N and 2N give the instructions of one call as
/// (I(2N) - I(N)) / N, free of start-up costs; see BENCHMARKS.md.
pub fn profile(args: &[String]) -> Result<()> {
    let side = args.first().map(String::as_str).unwrap_or("api");
    let op = args.get(1).map(String::as_str).unwrap_or("get");
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1000);
    if !matches!(side, "api" | "hand") || !matches!(op, "get" | "post") {
        return Err("usage: calls-profile api|hand get|post [N]".into());
    }
    with_sides(|sides| async move {
        let Sides {
            api,
            hand,
            container,
            folder,
            ..
        } = sides;
        let started = Instant::now();
        // The 50 warm-up calls are in both runs' counts: the difference cancels them.
        for _ in 0..n + 50 {
            match (side, op) {
                ("api", "get") => api_unread_count(&api).await.map(drop)?,
                ("api", _) => api_get_file(&api, &container, &folder).await.map(drop)?,
                (_, "get") => hand.unread_count().await.map(drop)?,
                _ => hand.get_file(&container, &folder).await.map(drop)?,
            }
        }
        println!(
            "{side} {op}: {} calls in {:.3} s",
            n + 50,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })
}

/// `instructions`: the client's instructions per call of each side, counted by valgrind's
/// callgrind (the emulator child is not traced), as (I(2N) - I(N)) / N over two runs of
/// `calls-profile`. Unlike times, these counts barely move with the machine's load.
pub fn instructions() -> Result<()> {
    heading("instructions per call (callgrind, client process only)");
    if std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("  valgrind not found: skipped (Debian package valgrind)");
        return Ok(());
    }
    const N: u64 = 500;
    let exe = std::env::current_exe()?;
    let out = crate::scratch().join("callgrind.out");
    let count = |side: &str, op: &str, n: u64| -> Result<u64> {
        let run = std::process::Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .args(["calls-profile", side, op, &n.to_string()])
            .output()?;
        let stderr = String::from_utf8_lossy(&run.stderr);
        if !run.status.success() {
            return Err(format!("callgrind run of {side} {op} failed: {stderr}").into());
        }
        stderr
            .lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().to_owned())
            })
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no instruction count in callgrind's output: {stderr}").into())
    };
    for op in ["get", "post"] {
        let mut per_call = Vec::new();
        for side in ["api", "hand"] {
            let (one, two) = (count(side, op, N)?, count(side, op, 2 * N)?);
            per_call.push(two.saturating_sub(one) as f64 / N as f64);
        }
        println!(
            "  {:<4} koodrive-api {:>8.0} instructions/call, hand-written {:>8.0}: RATIO {:.3} (+{:.0})",
            op.to_uppercase(),
            per_call[0],
            per_call[1],
            per_call[0] / per_call[1],
            per_call[0] - per_call[1]
        );
    }
    let _ = std::fs::remove_file(&out);
    Ok(())
}
