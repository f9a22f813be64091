//! Upload and download helpers against a local server (wiremock on 127.0.0.1) that plays
//! KooDrive and the object storage behind the pre-signed part URLs.

use std::sync::{Arc, Mutex};

use koodrive_api::upload::{Progress, Sha256State, UploadOptions, UploadTarget};
use koodrive_api::{Client, Error, RetryPolicy};
use serde_json::{Value, json};
use sha2::Digest;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MIB: usize = 1024 * 1024;

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x2545F4914F6CDD1Du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn client(server: &MockServer) -> Client {
    let retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: std::time::Duration::from_millis(1),
        max_backoff: std::time::Duration::from_millis(5),
    };
    Client::builder(server.uri())
        .user_token("Bearer tok", None)
        .retry(retry)
        .build()
        .unwrap()
}

fn target() -> UploadTarget {
    UploadTarget {
        container_id: "C1".into(),
        parent_folder: "root".into(),
        file_name: "big.bin".into(),
    }
}

/// The `hashCtx` a part request carried (empty when absent).
fn got_ctx(part: &Value) -> Vec<u64> {
    part["hashCtx"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap()).collect())
        .unwrap_or_default()
}

/// The `hashCtx` a part after `before` must carry: none for the first part.
fn expected_ctx(before: &[u8]) -> Vec<u64> {
    if before.is_empty() {
        return vec![];
    }
    let mut state = Sha256State::default();
    state.update(before);
    state
        .context()
        .unwrap()
        .iter()
        .map(|w| u64::from(*w))
        .collect()
}

fn body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

async fn mount_koodrive(server: &MockServer, rapid: bool) {
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/files/create"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": 0, "fileId": "F1", "rapidUpload": rapid})),
        )
        .mount(server)
        .await;
    let base = server.uri();
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/files/multipart/uploadUrl"))
        .respond_with(move |r: &Request| {
            let parts: Vec<Value> = body(r)["multiParts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let n = p["partNumber"].as_u64().unwrap();
                    json!({"partNumber": n, "partSize": p["partSize"], "uploadUrl": format!("{base}/obs/part{n}?X-Amz-Expires=3600")})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"code": 0, "multiParts": parts}))
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/files/complete"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "msg": "ok"})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_20_mib_file_uploads_in_5_mib_parts_surviving_a_failed_part() {
    let server = MockServer::start().await;
    mount_koodrive(&server, false).await;
    // Part 2 fails once with a 500, then succeeds.
    Mock::given(method("PUT"))
        .and(path("/obs/part2"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex("^/obs/part[0-9]+$"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(5)
        .mount(&server)
        .await;

    let content = data(20 * MIB);
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = seen.clone();
    let options = UploadOptions {
        part_size: 5 * MIB as u64,
        concurrency: 2,
        progress: Some(Arc::new(move |p| log.lock().unwrap().push(p))),
        ..UploadOptions::default()
    };
    let outcome = upload_temp_file(&server, "upload", &content, options)
        .await
        .unwrap();

    let digest = hex(&sha2::Sha256::digest(&content));
    assert_eq!(outcome.file_id, "F1");
    assert!(!outcome.instant);
    assert_eq!(outcome.parts, 4);
    assert_eq!(outcome.sha256, digest);
    // Memory: never more than concurrency × part size of part data held at once.
    assert!(
        outcome.peak_buffered <= 2 * 5 * MIB as u64,
        "peak {}",
        outcome.peak_buffered
    );
    assert!(outcome.peak_buffered >= 5 * MIB as u64);
    println!(
        "peak part data held in memory: {} bytes for a {} byte file",
        outcome.peak_buffered,
        content.len()
    );

    let received = server.received_requests().await.unwrap();
    // createFile carried the digest and the pre-hash (instant upload is possible from a path).
    let create = received
        .iter()
        .find(|r| r.url.path().ends_with("/files/create"))
        .unwrap();
    assert_eq!(body(create)["sha256"], json!(digest));
    assert_eq!(
        body(create)["preHash"],
        json!(hex(&sha2::Sha256::digest(&content[..1024])))
    );
    assert_eq!(body(create)["length"], json!(20 * MIB));
    // The digest pass knew every hashCtx, so the URLs came in one batch (4 parts <= 8), each
    // part with its offset and the SHA-256 state before it.
    let url_requests: Vec<Value> = received
        .iter()
        .filter(|r| r.url.path().ends_with("/uploadUrl"))
        .map(body)
        .collect();
    assert_eq!(url_requests.len(), 1, "one getUploadUrls for 4 parts");
    let parts = url_requests[0]["multiParts"].as_array().unwrap();
    assert_eq!(parts.len(), 4);
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(part["partNumber"], json!(i + 1));
        assert_eq!(part["partOffset"], json!(i * 5 * MIB));
        assert_eq!(part["partSize"], json!(5 * MIB));
        assert_eq!(
            got_ctx(part),
            expected_ctx(&content[..i * 5 * MIB]),
            "hashCtx of part {}",
            i + 1
        );
    }
    // The parts: PUT without KooDrive headers; part 2 twice; together they are the file.
    let puts: Vec<&Request> = received
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(puts.len(), 5);
    for p in &puts {
        assert!(p.headers.get("authorization").is_none() && p.headers.get("x-traceid").is_none());
    }
    let mut assembled = Vec::new();
    for n in 1..=4 {
        let last = puts
            .iter()
            .rev()
            .find(|r| r.url.path() == format!("/obs/part{n}"))
            .unwrap();
        assembled.extend_from_slice(&last.body);
    }
    assert!(assembled == content, "the parts reassemble the file");
    let complete = received
        .iter()
        .find(|r| r.url.path().ends_with("/files/complete"))
        .unwrap();
    assert_eq!(body(complete), json!({"fileId": "F1", "sha256": digest}));
    let progress = seen.lock().unwrap();
    assert_eq!(progress.len(), 4);
    assert_eq!(progress.last().unwrap().done, 20 * MIB as u64);
}

#[tokio::test]
async fn an_instant_upload_sends_no_data() {
    let server = MockServer::start().await;
    mount_koodrive(&server, true).await;
    let outcome = upload_temp_file(&server, "instant", &data(6 * MIB), UploadOptions::default())
        .await
        .unwrap();
    assert!(outcome.instant);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "only createFile");
}

/// Write `content` to a temporary file named after `name`, upload it, remove the file.
async fn upload_temp_file(
    server: &MockServer,
    name: &str,
    content: &[u8],
    options: UploadOptions,
) -> Result<koodrive_api::upload::UploadOutcome, Error> {
    let file = std::env::temp_dir().join(format!("koodrive-{name}-{}.bin", std::process::id()));
    std::fs::write(&file, content).unwrap();
    let outcome = client(server).upload_file(&file, target(), options).await;
    std::fs::remove_file(&file).unwrap();
    outcome
}

async fn mount_storage(server: &MockServer) {
    Mock::given(method("PUT"))
        .and(path_regex("^/obs/part[0-9]+$"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

#[tokio::test]
async fn without_instant_upload_a_file_is_read_once_and_each_url_is_asked_for_when_its_hash_ctx_is_known()
 {
    let server = MockServer::start().await;
    mount_koodrive(&server, false).await;
    mount_storage(&server).await;
    let content = data(12 * MIB + 3);
    let options = UploadOptions {
        part_size: 5 * MIB as u64,
        concurrency: 2,
        instant_upload: false,
        ..UploadOptions::default()
    };
    let outcome = upload_temp_file(&server, "onepass", &content, options)
        .await
        .unwrap();
    let digest = hex(&sha2::Sha256::digest(&content));
    assert_eq!(
        (outcome.parts, outcome.sha256.as_str()),
        (3, digest.as_str())
    );
    assert!(outcome.peak_buffered <= 2 * 5 * MIB as u64);

    let received = server.received_requests().await.unwrap();
    let create = received
        .iter()
        .find(|r| r.url.path().ends_with("/files/create"))
        .unwrap();
    assert!(body(create).get("sha256").is_none() && body(create).get("preHash").is_none());
    // One request a part, each asked for once the data before it was hashed.
    let url_requests: Vec<Value> = received
        .iter()
        .filter(|r| r.url.path().ends_with("/uploadUrl"))
        .map(body)
        .collect();
    assert_eq!(url_requests.len(), 3);
    for (i, req) in url_requests.iter().enumerate() {
        let parts = req["multiParts"].as_array().unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0]["partNumber"], json!(i + 1));
        let size = if i == 2 { 2 * MIB + 3 } else { 5 * MIB };
        assert_eq!(parts[0]["partSize"], json!(size));
        assert_eq!(
            got_ctx(&parts[0]),
            expected_ctx(&content[..i * 5 * MIB]),
            "part {}",
            i + 1
        );
    }
    let mut assembled = Vec::new();
    for n in 1..=3 {
        let put = received
            .iter()
            .find(|r| r.method.as_str() == "PUT" && r.url.path() == format!("/obs/part{n}"))
            .unwrap();
        assembled.extend_from_slice(&put.body);
    }
    assert!(assembled == content, "the parts reassemble the file");
    let complete = received
        .iter()
        .find(|r| r.url.path().ends_with("/files/complete"))
        .unwrap();
    assert_eq!(body(complete)["sha256"], json!(digest));
}

#[tokio::test]
async fn many_parts_are_announced_in_batches_of_eight() {
    let server = MockServer::start().await;
    mount_koodrive(&server, false).await;
    mount_storage(&server).await;
    // 11 parts of 5 MiB (the last one 64 bytes): batches of 8 and 3.
    let content = data(10 * 5 * MIB + 64);
    let options = UploadOptions {
        part_size: 5 * MIB as u64,
        concurrency: 3,
        ..UploadOptions::default()
    };
    let outcome = upload_temp_file(&server, "batches", &content, options)
        .await
        .unwrap();
    assert_eq!(outcome.parts, 11);
    let received = server.received_requests().await.unwrap();
    let batches: Vec<Vec<u64>> = received
        .iter()
        .filter(|r| r.url.path().ends_with("/uploadUrl"))
        .map(|r| {
            body(r)["multiParts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["partNumber"].as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(batches, vec![(1..=8).collect::<Vec<_>>(), vec![9, 10, 11]]);
    let parts: Vec<Value> = received
        .iter()
        .filter(|r| r.url.path().ends_with("/uploadUrl"))
        .flat_map(|r| body(r)["multiParts"].as_array().unwrap().clone())
        .collect();
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(
            got_ctx(part),
            expected_ctx(&content[..i * 5 * MIB]),
            "part {}",
            i + 1
        );
    }
    assert_eq!(
        received
            .iter()
            .filter(|r| r.method.as_str() == "PUT")
            .count(),
        11
    );
}

#[tokio::test]
async fn a_file_that_changes_during_the_upload_is_not_completed() {
    let server = MockServer::start().await;
    mount_koodrive(&server, false).await;
    mount_storage(&server).await;
    let content = data(11 * MIB);
    let file = std::env::temp_dir().join(format!("koodrive-changing-{}.bin", std::process::id()));
    std::fs::write(&file, &content).unwrap();
    // After the first part went out, something appends to the file.
    let appended = std::sync::atomic::AtomicBool::new(false);
    let path = file.clone();
    let progress: koodrive_api::upload::ProgressFn = Arc::new(move |_| {
        if !appended.swap(true, std::sync::atomic::Ordering::SeqCst) {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"more").unwrap();
        }
    });
    let err = client(&server)
        .upload_file(
            &file,
            target(),
            UploadOptions {
                part_size: 5 * MIB as u64,
                concurrency: 1,
                progress: Some(progress),
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap_err();
    std::fs::remove_file(&file).unwrap();
    assert!(
        matches!(&err, Error::InvalidRequest { operation_id: "completeFile", reason } if reason.contains("changed while it was being uploaded") && reason.contains("koodrive-changing")),
        "{err:?}"
    );
    let received = server.received_requests().await.unwrap();
    assert!(
        !received
            .iter()
            .any(|r| r.url.path().ends_with("/files/complete")),
        "a changed file is not completed"
    );
}

#[tokio::test]
async fn a_reader_uploads_in_one_pass_and_a_part_that_keeps_failing_fails_the_upload() {
    let server = MockServer::start().await;
    mount_koodrive(&server, false).await;
    Mock::given(method("PUT"))
        .and(path("/obs/part1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/obs/part2"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let content = data(7 * MIB);
    let err = client(&server)
        .upload_reader(
            &content[..],
            content.len() as u64,
            target(),
            UploadOptions {
                part_size: 5 * MIB as u64,
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Status {
                status: 503,
                operation_id: "uploadPart",
                ..
            }
        ),
        "{err:?}"
    );
    let received = server.received_requests().await.unwrap();
    let create = received
        .iter()
        .find(|r| r.url.path().ends_with("/files/create"))
        .unwrap();
    assert!(
        body(create).get("sha256").is_none(),
        "no digest before a one-pass upload"
    );
    assert_eq!(
        received
            .iter()
            .filter(|r| r.url.path() == "/obs/part2")
            .count(),
        3,
        "retried up to the policy"
    );
    assert!(
        !received
            .iter()
            .any(|r| r.url.path().ends_with("/files/complete"))
    );
}

#[tokio::test]
async fn a_missing_file_is_named_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let missing = std::env::temp_dir().join("koodrive-no-such-file.bin");
    for instant_upload in [true, false] {
        let options = UploadOptions {
            instant_upload,
            ..UploadOptions::default()
        };
        let err = client(&server)
            .upload_file(&missing, target(), options)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest { reason, .. } if reason.contains("koodrive-no-such-file.bin")),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_part_sizes_are_refused() {
    let server = MockServer::start().await;
    for size in [1024, 5 * MIB as u64 + 1] {
        let err = client(&server)
            .upload_reader(
                &b"x"[..],
                1,
                target(),
                UploadOptions {
                    part_size: size,
                    ..UploadOptions::default()
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest { reason, .. } if reason.contains("part size")),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_download_streams_to_the_writer() {
    let server = MockServer::start().await;
    let content = data(3 * MIB + 17);
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/files/download"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "batchCode": 1,
            "downloads": [{"fileId": "F1", "fileName": "big.bin", "url": format!("{}/obj/F1", server.uri()), "code": "0"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/obj/F1"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(content.clone()))
        .mount(&server)
        .await;
    let mut out = Vec::new();
    let calls = Arc::new(Mutex::new(0usize));
    let counter = calls.clone();
    let outcome = client(&server)
        .download_to(
            "C1",
            "F1",
            &mut out,
            Some(Arc::new(move |_p| *counter.lock().unwrap() += 1)),
        )
        .await
        .unwrap();
    assert_eq!(outcome.bytes, content.len() as u64);
    assert_eq!(outcome.file_name.as_deref(), Some("big.bin"));
    assert!(out == content);
    assert!(*calls.lock().unwrap() >= 1);
    let get = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/obj/F1")
        .unwrap();
    assert!(
        get.headers.get("authorization").is_none(),
        "the link is fetched without KooDrive credentials"
    );
}

#[tokio::test]
async fn a_per_file_download_error_is_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/files/download"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "batchCode": 2, "downloads": [{"fileId": "F1", "code": "13000407", "msg": "File download address not found."}]
        })))
        .mount(&server)
        .await;
    let err = client(&server)
        .download_to("C1", "F1", &mut Vec::new(), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(koodrive_api::ErrorCode::DownloadAddressNotFound)
    );
}
