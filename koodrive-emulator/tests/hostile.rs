//! Hostile ids in path parameters reach the emulator percent-encoded, as one path segment,
//! and never address another route: each operation answers its own documented error.

mod common;

use common::{api_error, get_file_request, mkdir, rename_request, sign_in, start};
use koodrive_api::{Error, ErrorCode, OperationExt};
use koodrive_emulator::{Config, Emulator};

fn hostile_ids(real: &str) -> Vec<String> {
    vec![
        "../x".into(),
        "a/b".into(),
        "?".into(),
        "#".into(),
        "%2F".into(),
        "x?type=0#frag".into(),
        "日本語/ファイル".into(),
        "\u{202e}evil".into(),
        "a".repeat(10 * 1024),
        format!("../{real}"),
        format!("{real}/detail"),
        "jobs%2F..%2Fcancel".into(),
    ]
}

/// The request log shows one request, for `operation`, whose last path segment is the id
/// percent-encoded (no `/`, `?` or `#` of the id survives unencoded).
fn assert_one_request(emulator: &Emulator, operation: &str, id: &str) {
    let log = emulator.request_log();
    let short: String = id.chars().take(20).collect();
    assert_eq!(log.len(), 1, "{short}: {log:?}");
    assert_eq!(log[0].operation, operation, "{short}");
    assert_eq!(emulator.requests(operation), 1, "{short}");
    let path = &log[0].path;
    assert!(
        path.is_ascii() && !path.contains('?') && !path.contains('#'),
        "{short}: {path}"
    );
    if id.contains('/') {
        assert!(path.contains("%2F"), "{short}: {path}");
    }
}

#[tokio::test]
async fn dot_segments_are_refused_by_the_client_before_sending() {
    // URL normalisation would drop or climb `.`/`..` (even percent-encoded), so the client
    // refuses them instead of addressing another route.
    let emulator = start(Config::default()).await;
    let client = sign_in(&emulator);
    for id in [".", "..", ""] {
        let err = client.get_job_detail().job_id(id).call().await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest { reason, .. } if reason.contains("job_id")),
            "{id:?}: {err:?}"
        );
    }
    assert!(emulator.request_log().is_empty());
}

#[tokio::test]
async fn hostile_ids_never_address_another_route() {
    let emulator = start(Config::default()).await;
    let client = sign_in(&emulator);
    let container = emulator.container_id().to_owned();
    let real = mkdir(&client, &container, "root", "real").await;

    for id in hostile_ids(&real) {
        let short: String = id.chars().take(20).collect();

        // getJobDetail (GET /koodrive/ose/v1/{job_id}): no such job.
        emulator.reset_request_counts();
        let err = client
            .get_job_detail()
            .job_id(&id)
            .call()
            .await
            .unwrap_err();
        assert_eq!(
            api_error(&err),
            (400, Some(ErrorCode::ResourceNotFound)),
            "{short}: {err}"
        );
        assert_one_request(&emulator, "getJobDetail", &id);

        // getTaskDetail (GET /koodrive/ose/v1/task/{task_id}): not emulated, and says so
        // by name: no other operation answered.
        emulator.reset_request_counts();
        let err = client
            .get_task_detail()
            .task_id(&id)
            .call()
            .await
            .unwrap_err();
        assert_eq!(
            api_error(&err),
            (501, Some(ErrorCode::BadRequest)),
            "{short}: {err}"
        );
        assert!(
            err.to_string().contains("getTaskDetail is not supported"),
            "{err}"
        );
        assert_one_request(&emulator, "getTaskDetail", &id);

        // getFile (POST /files/{fileId}/detail): no such file.
        emulator.reset_request_counts();
        let err = client
            .get_file()
            .file_id(&id)
            .body(get_file_request(&container))
            .call()
            .await
            .unwrap_err();
        assert_eq!(
            api_error(&err),
            (400, Some(ErrorCode::ResourceNotFound)),
            "{short}: {err}"
        );
        assert_one_request(&emulator, "getFile", &id);

        // renameFile (POST /files/rename/{fileId}): no such file, and the real one keeps
        // its name.
        emulator.reset_request_counts();
        let err = client
            .rename_file()
            .file_id(&id)
            .body(rename_request(&container, "renamed"))
            .call()
            .await
            .unwrap_err();
        assert_eq!(
            api_error(&err),
            (400, Some(ErrorCode::ResourceNotFound)),
            "{short}: {err}"
        );
        assert_one_request(&emulator, "renameFile", &id);
    }
    let file = client
        .get_file()
        .file_id(&real)
        .body(get_file_request(&container))
        .call()
        .await
        .unwrap();
    assert_eq!(file.file_name.as_deref(), Some("real"));
    assert_eq!(emulator.node_count(), 1);
}
