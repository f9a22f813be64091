//! The client's reliability against injected faults: for a GET (getUnreadCount), an
//! idempotent POST (getFile) and a non-idempotent POST (createDirectory), each fault gives a
//! typed error of the right variant, the request is sent exactly as often as the retry
//! policy says, and the emulator's state afterwards shows nothing duplicated and nothing lost.

mod common;

use std::time::Duration;

use common::{
    RETRY_ATTEMPTS, fast_retry, get_file_request, list_all, list_names, mkdir, mkdir_request,
    sign_in_retrying, signed_in, start,
};
use koodrive_api::{Client, Error, OperationExt};
use koodrive_emulator::{Config, Emulator, Fault, FaultKind};

const TIMEOUT: Duration = Duration::from_millis(400);

/// An emulator, and a client that retries with [`fast_retry`] and times out after [`TIMEOUT`].
async fn start_with_timeout() -> (Emulator, Client) {
    let emulator = start(Config::default()).await;
    let client = signed_in(&emulator)
        .retry(fast_retry())
        .timeout(Some(TIMEOUT))
        .build()
        .unwrap();
    (emulator, client)
}

/// The error's variant and what identifies it, as a short string.
fn variant(e: &Error) -> String {
    match e {
        Error::Api { code, status, .. } => format!("Api({status}, {code:?})"),
        Error::Status { status, .. } => format!("Status({status})"),
        Error::Transport { .. } => "Transport".into(),
        Error::Timeout { .. } => "Timeout".into(),
        Error::Decode { status, .. } => format!("Decode({status:?})"),
        other => format!("other: {other}"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// GET getUnreadCount.
    Get,
    /// POST getFile (x-koodrive-idempotent).
    Idempotent,
    /// POST createDirectory (not idempotent).
    NonIdempotent,
}

impl Op {
    fn id(self) -> &'static str {
        match self {
            Op::Get => "getUnreadCount",
            Op::Idempotent => "getFile",
            Op::NonIdempotent => "createDirectory",
        }
    }
}

/// Call `op` once through the client: Ok(()) or the typed error.
async fn call(client: &Client, container: &str, op: Op, arg: &str) -> Result<(), Error> {
    match op {
        Op::Get => client.get_unread_count().call().await.map(drop),
        Op::Idempotent => client
            .get_file()
            .file_id(arg)
            .body(get_file_request(container))
            .call()
            .await
            .map(drop),
        Op::NonIdempotent => client
            .create_directory()
            .body(mkdir_request(container, "root", arg))
            .call()
            .await
            .map(drop),
    }
}

/// The names in the root folder, in creation order (all on one page).
async fn root_names(client: &Client, container: &str) -> Vec<String> {
    list_names(client, container, "root", false, Some(100)).await
}

/// A folder to getFile, made before any fault is injected.
async fn a_folder(client: &Client, container: &str) -> String {
    mkdir(client, container, "root", "target").await
}

/// One row of the matrix: the fault, and for a GET or idempotent POST and for a
/// non-idempotent POST the outcome and how many requests reached the emulator.
struct Row {
    name: &'static str,
    kind: FaultKind,
    idempotent: (&'static str, u64),
    non_idempotent: (&'static str, u64),
    /// Whether the handler runs (so that a createDirectory hit by the fault still creates
    /// its folder).
    handled: bool,
}

fn matrix() -> Vec<Row> {
    let a = RETRY_ATTEMPTS as u64;
    let row = |name, kind, idempotent, non_idempotent, handled| Row {
        name,
        kind,
        idempotent,
        non_idempotent,
        handled,
    };
    vec![
        // Not a retryable status: sent once, whatever the operation.
        row(
            "500",
            FaultKind::Status(500),
            ("Status(500)", 1),
            ("Status(500)", 1),
            false,
        ),
        row(
            "502",
            FaultKind::Status(502),
            ("Status(502)", a),
            ("Status(502)", 1),
            false,
        ),
        row(
            "503",
            FaultKind::Status(503),
            ("Status(503)", a),
            ("Status(503)", 1),
            false,
        ),
        row(
            "429",
            FaultKind::Status(429),
            ("Status(429)", a),
            ("Status(429)", 1),
            false,
        ),
        // The client times out before the server answers; the server drops the request.
        row(
            "delay",
            FaultKind::Delay(TIMEOUT * 2),
            ("Timeout", a),
            ("Timeout", 1),
            false,
        ),
        row(
            "truncated",
            FaultKind::TruncatedJson,
            ("Decode(Some(200))", 1),
            ("Decode(Some(200))", 1),
            true,
        ),
        row(
            "malformed",
            FaultKind::MalformedJson,
            ("Decode(Some(200))", 1),
            ("Decode(Some(200))", 1),
            true,
        ),
        // Valid JSON labelled text/html: the client decodes it anyway.
        row(
            "content-type",
            FaultKind::WrongContentType,
            ("ok", 1),
            ("ok", 1),
            true,
        ),
        // A code other than 0 inside HTTP 200: an Api error with status 200; retried only
        // when the code is transient (13000201) and the operation idempotent.
        row(
            "code-13000309",
            FaultKind::ApiCode(13000309),
            ("Api(200, ResourceNotFound)", 1),
            ("Api(200, ResourceNotFound)", 1),
            false,
        ),
        row(
            "code-13000201",
            FaultKind::ApiCode(13000201),
            ("Api(200, InnerInvokeFailure)", a),
            ("Api(200, InnerInvokeFailure)", 1),
            false,
        ),
        // 3 MiB of padding in an extra member: decoded, not an error.
        row(
            "oversized",
            FaultKind::OversizedBody(3 << 20),
            ("ok", 1),
            ("ok", 1),
            true,
        ),
    ]
}

fn outcome(r: &Result<(), Error>) -> String {
    r.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(variant)
}

#[tokio::test]
async fn the_fault_matrix_gives_typed_errors_and_retries_exactly_as_specified() {
    let (emulator, client) = start_with_timeout().await;
    let container = emulator.container_id().to_owned();
    let folder = a_folder(&client, &container).await;
    let mut created = vec!["target".to_owned()];
    let mut failures = vec![];
    for row in matrix() {
        for op in [Op::Get, Op::Idempotent, Op::NonIdempotent] {
            emulator.clear_faults();
            emulator.reset_request_counts();
            emulator.inject(Fault::always(op.id(), row.kind.clone()));
            let arg = match op {
                Op::NonIdempotent => row.name.to_owned(),
                _ => folder.clone(),
            };
            let result = call(&client, &container, op, &arg).await;
            let expected = match op {
                Op::NonIdempotent => row.non_idempotent,
                _ => row.idempotent,
            };
            let got = (outcome(&result), emulator.requests(op.id()));
            if (got.0.as_str(), got.1) != expected {
                failures.push(format!(
                    "{} on {}: expected {expected:?}, got {got:?}",
                    row.name,
                    op.id()
                ));
            }
            // Nothing else was sent.
            assert_eq!(
                emulator.request_counts().values().sum::<u64>(),
                got.1,
                "{}",
                row.name
            );
            if op == Op::NonIdempotent && row.handled {
                created.push(row.name.to_owned());
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // Nothing duplicated, nothing lost: exactly the folders whose handler ran, once each
    // (a delayed request the client gave up on is dropped by the server, not run later).
    emulator.clear_faults();
    tokio::time::sleep(TIMEOUT * 2).await;
    assert_eq!(root_names(&client, &container).await, created);
    assert_eq!(emulator.node_count(), created.len());
}

#[tokio::test]
async fn a_fault_injected_once_is_recovered_from_by_idempotent_calls_only() {
    let (emulator, client) = start_with_timeout().await;
    let container = emulator.container_id().to_owned();
    let folder = a_folder(&client, &container).await;
    let once = [
        ("502", FaultKind::Status(502)),
        ("503", FaultKind::Status(503)),
        ("429", FaultKind::Status(429)),
        ("delay", FaultKind::Delay(TIMEOUT * 2)),
        ("code-13000201", FaultKind::ApiCode(13000201)),
    ];
    for (name, kind) in once.clone() {
        for op in [Op::Get, Op::Idempotent, Op::NonIdempotent] {
            emulator.clear_faults();
            emulator.reset_request_counts();
            emulator.inject(Fault::times(op.id(), kind.clone(), 1));
            let arg = match op {
                Op::NonIdempotent => name.to_owned(),
                _ => folder.clone(),
            };
            let result = call(&client, &container, op, &arg).await;
            match op {
                Op::NonIdempotent => {
                    // Sent once, failed; sent again by the caller, it succeeds once.
                    assert!(result.is_err(), "{name}: {result:?}");
                    assert_eq!(emulator.requests(op.id()), 1, "{name}");
                    call(&client, &container, op, &arg)
                        .await
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(emulator.requests(op.id()), 2, "{name}");
                }
                _ => {
                    result.unwrap_or_else(|e| panic!("{name} on {}: {e}", op.id()));
                    assert_eq!(emulator.requests(op.id()), 2, "{name} on {}", op.id());
                }
            }
        }
    }
    emulator.clear_faults();
    tokio::time::sleep(TIMEOUT * 2).await;
    let mut expected = vec!["target".to_owned()];
    expected.extend(once.iter().map(|(n, _)| n.to_string()));
    assert_eq!(root_names(&client, &container).await, expected);
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_a_transport_error_and_runs_the_handler_once() {
    let (emulator, client) = start_with_timeout().await;
    let container = emulator.container_id().to_owned();
    let folder = a_folder(&client, &container).await;
    for op in [Op::Get, Op::Idempotent, Op::NonIdempotent] {
        emulator.clear_faults();
        emulator.reset_request_counts();
        emulator.inject(Fault::always(op.id(), FaultKind::DropMidBody));
        let arg = match op {
            Op::NonIdempotent => "dropped".to_owned(),
            _ => folder.clone(),
        };
        let err = call(&client, &container, op, &arg).await.unwrap_err();
        assert_eq!(variant(&err), "Transport", "{}: {err}", op.id());
        // A broken body is a transport error: retried for idempotent operations only.
        let expected = if op == Op::NonIdempotent {
            1
        } else {
            u64::from(RETRY_ATTEMPTS)
        };
        assert_eq!(emulator.requests(op.id()), expected, "{}", op.id());
    }
    // The folder whose answer was lost exists, once: the caller can find it rather than
    // create it again.
    emulator.clear_faults();
    assert_eq!(root_names(&client, &container).await, ["target", "dropped"]);
}

#[tokio::test]
async fn an_idempotent_call_recovers_from_a_connection_dropped_once() {
    let (emulator, client) = start_with_timeout().await;
    emulator.inject(Fault {
        times: Some(1),
        ..Fault::always("getUnreadCount", FaultKind::DropMidBody)
    });
    client
        .get_unread_count()
        .call()
        .await
        .expect("the second attempt succeeds");
    assert_eq!(emulator.requests("getUnreadCount"), 2);
}

#[tokio::test]
async fn faults_hit_by_path_and_by_seeded_probability() {
    async fn pattern(seed: u64) -> (Vec<bool>, u64) {
        let emulator = start(Config {
            fault_seed: seed,
            faults: vec![Fault {
                probability: 0.5,
                ..Fault::always("/koodrive/ose/v1/message/*", FaultKind::Status(500))
            }],
            ..Config::default()
        })
        .await;
        let client = sign_in_retrying(&emulator);
        let mut hits = vec![];
        for _ in 0..40 {
            hits.push(client.get_unread_count().call().await.is_err());
        }
        (hits, emulator.requests("getUnreadCount"))
    }
    let (a, sent) = pattern(42).await;
    let (b, _) = pattern(42).await;
    let (c, _) = pattern(43).await;
    assert_eq!(a, b, "the same seed, the same faults");
    assert_ne!(a, c, "another seed, other faults");
    let failed = a.iter().filter(|h| **h).count();
    assert!((8..=32).contains(&failed), "{failed} of 40");
    // HTTP 500 is not retried: one request per call.
    assert_eq!(sent, 40);
}

#[tokio::test]
async fn faults_from_the_config_and_clear_faults() {
    let emulator = start(Config {
        faults: vec![Fault::always("getUnreadCount", FaultKind::Status(503))],
        ..Config::default()
    })
    .await;
    let client = sign_in_retrying(&emulator);
    let err = client.get_unread_count().call().await.unwrap_err();
    assert_eq!(variant(&err), "Status(503)");
    assert!(err.is_retryable());
    assert_eq!(emulator.requests("getUnreadCount"), RETRY_ATTEMPTS as u64);
    emulator.clear_faults();
    client.get_unread_count().call().await.expect("no fault");
    assert_eq!(
        emulator.requests("getUnreadCount"),
        RETRY_ATTEMPTS as u64 + 1
    );
}

#[tokio::test]
async fn pagination_across_pages_recovers_from_a_503_on_one_page() {
    let (emulator, client) = start_with_timeout().await;
    let container = emulator.container_id().to_owned();
    let names: Vec<String> = (1..=9).map(|i| format!("f{i}")).collect();
    for n in &names {
        call(&client, &container, Op::NonIdempotent, n)
            .await
            .unwrap();
    }
    emulator.reset_request_counts();
    // The first request passes, the second (page 2) fails once.
    emulator.inject(Fault {
        probability: 1.0,
        times: Some(1),
        ..Fault::always("listPersonalFiles", FaultKind::Delay(Duration::ZERO))
    });
    emulator.inject(Fault::times("listPersonalFiles", FaultKind::Status(503), 1));
    let pages = list_all(&client, &container, "root", 2).await;
    let count = pages.len();
    let seen = pages.concat();
    assert_eq!(count, 5);
    assert_eq!(seen, names, "nothing lost, nothing twice");
    assert_eq!(
        emulator.requests("listPersonalFiles"),
        6,
        "5 pages, 1 retry"
    );
}
