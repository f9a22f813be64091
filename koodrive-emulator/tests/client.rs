//! The real client (`koodrive_api::Client`) against the emulator, over HTTP on 127.0.0.1.

mod common;

use std::time::Duration;

use common::{
    api_error, assert_401_error_body, builder_with_token, create_file_request, get_file_request,
    list_all, min_part_options, mkdir, rename_request, start, temp_path, test_data, try_mkdir,
    upload_target,
};
use koodrive_api::upload::{MIN_PART_SIZE, UploadTarget};
use koodrive_api::{Client, ErrorCode, OperationExt, types};
use koodrive_emulator::{Config, Emulator};

/// createSession with the auth code, through a client without credentials.
async fn create_session(emulator: &Emulator) -> types::SessionUserDto {
    let anonymous = Client::builder(emulator.base_url()).build().unwrap();
    let response = anonymous
        .create_session()
        .body(types::CreateSessionRequest {
            code: emulator.auth_code().into(),
            domain: None,
        })
        .call()
        .await
        .expect("createSession");
    response.data.expect("createSession returns data")
}

/// A client signed in through createSession, with automatic session refresh.
async fn sign_in_refreshing(emulator: &Emulator) -> Client {
    let session = create_session(emulator).await;
    builder_with_token(emulator, session.access_token.unwrap(), session.session_id)
        .auto_refresh(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn sign_in_validate_refresh_and_logout() {
    let emulator = start(Config::default()).await;

    // A wrong auth code is refused.
    let anonymous = Client::builder(emulator.base_url()).build().unwrap();
    let err = anonymous
        .create_session()
        .body(types::CreateSessionRequest {
            code: "wrong".into(),
            domain: None,
        })
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");

    let session = create_session(&emulator).await;
    let token = session.access_token.clone().unwrap();
    let session_id = session.session_id.clone().unwrap();
    assert!(token.starts_with("Bearer "), "{token}");
    assert_eq!(session.user_id.as_deref(), Some("emulator-user"));

    let client = builder_with_token(&emulator, token.clone(), Some(session_id.clone()))
        .build()
        .unwrap();
    let me = client
        .validate_session()
        .call()
        .await
        .expect("validateSession");
    assert_eq!(
        me.data.and_then(|d| d.user_id).as_deref(),
        Some("emulator-user")
    );

    // refreshSession gives a new token; the old one stops working.
    let refreshed = client
        .refresh_session()
        .x_session_id(session_id.clone())
        .call()
        .await
        .expect("refreshSession");
    let new_token = refreshed.access_token.expect("a new token");
    assert_ne!(new_token, token);
    let err = client.validate_session().call().await.unwrap_err();
    assert_eq!(
        api_error(&err),
        (401, Some(ErrorCode::Unknown(401))),
        "{err}"
    );
    client.set_user_token(new_token, Some(&session_id));
    client
        .validate_session()
        .call()
        .await
        .expect("the new token works");

    // logout ends the session.
    client.logout().call().await.expect("logout");
    let err = client.validate_session().call().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let err = client
        .refresh_session()
        .x_session_id(session_id)
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(401),
        "a logged-out session cannot refresh: {err}"
    );
}

#[tokio::test]
async fn a_missing_or_unknown_token_is_401_with_code_and_msg() {
    let emulator = start(Config::default()).await;
    let bare = reqwest::Client::new();
    for auth in [None, Some("Bearer nope")] {
        let mut request = bare.get(format!(
            "{}/koodrive/ose/v1/session/auth",
            emulator.base_url()
        ));
        if let Some(a) = auth {
            request = request.header("Authorization", a);
        }
        let response = request.send().await.unwrap();
        assert_401_error_body(response, &format!("{auth:?}")).await;
    }
}

#[tokio::test]
async fn folder_upload_list_download_rename_and_duplicates() {
    let emulator = start(Config::default()).await;
    let container = emulator.container_id().to_owned();
    let client = sign_in_refreshing(&emulator).await;

    let folder = mkdir(&client, &container, "root", "docs").await;
    let err = try_mkdir(&client, &container, "root", "docs")
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&err),
        (400, Some(ErrorCode::DuplicateFileName)),
        "{err}"
    );

    // A file of three whole 5 MiB parts and a short fourth one.
    let data = test_data(3 * MIN_PART_SIZE as usize + 1234);
    let path = temp_path("client.bin");
    tokio::fs::write(&path, &data).await.unwrap();
    let target = upload_target(&container, &folder, "report.bin");
    let options = min_part_options();
    let outcome = client
        .upload_file(&path, target.clone(), options.clone())
        .await
        .expect("upload");
    assert_eq!(outcome.parts, 4);
    assert!(!outcome.instant);
    assert_eq!(
        emulator.file_content(&outcome.file_id).as_deref(),
        Some(&data[..])
    );
    assert_eq!(emulator.pending_uploads(), 0);

    // The same name again: 13000405, and nothing left behind.
    let err = client
        .upload_file(&path, target.clone(), options.clone())
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&err),
        (400, Some(ErrorCode::DuplicateFileName)),
        "{err}"
    );
    assert_eq!(emulator.pending_uploads(), 0);

    // The same content under another name: an instant upload, nothing sent.
    let copy = UploadTarget {
        parent_folder: "root".into(),
        ..target
    };
    let instant = client
        .upload_file(&path, copy, options)
        .await
        .expect("instant upload");
    assert!(instant.instant && instant.parts == 0, "{instant:?}");
    assert_eq!(
        emulator.file_content(&instant.file_id).as_deref(),
        Some(&data[..])
    );
    tokio::fs::remove_file(&path).await.ok();

    // It is listed in its folder, and getFile knows it.
    let pages = list_all(&client, &container, &folder, 10).await;
    assert_eq!(pages, vec![vec!["report.bin".to_owned()]]);
    let file = client
        .get_file()
        .file_id(outcome.file_id.clone())
        .body(get_file_request(&container))
        .call()
        .await
        .expect("getFile");
    assert_eq!(file.file_name.as_deref(), Some("report.bin"));
    assert_eq!(file.parent_folder, vec![folder.clone()]);

    // Download and compare the bytes.
    let mut downloaded: Vec<u8> = Vec::new();
    let got = client
        .download_to(&container, &outcome.file_id, &mut downloaded, None)
        .await
        .expect("download");
    assert_eq!(got.bytes, data.len() as u64);
    assert_eq!(got.file_name.as_deref(), Some("report.bin"));
    assert!(downloaded == data, "the downloaded bytes differ");

    // Rename, then a rename onto a taken name.
    let rename = |name: &str| {
        client
            .rename_file()
            .file_id(outcome.file_id.clone())
            .body(rename_request(&container, name))
    };
    rename("final.bin").call().await.expect("renameFile");
    mkdir(&client, &container, &folder, "taken").await;
    let err = rename("taken").call().await.unwrap_err();
    assert_eq!(
        api_error(&err),
        (400, Some(ErrorCode::DuplicateFileName)),
        "{err}"
    );
    let pages = list_all(&client, &container, &folder, 10).await;
    assert_eq!(
        pages,
        vec![vec!["final.bin".to_owned(), "taken".to_owned()]]
    );
}

#[tokio::test]
async fn listing_crosses_several_pages() {
    let emulator = start(Config::default()).await;
    let container = emulator.container_id().to_owned();
    let client = sign_in_refreshing(&emulator).await;
    let names: Vec<String> = (1..=7).map(|i| format!("folder-{i}")).collect();
    for name in &names {
        mkdir(&client, &container, "root", name).await;
    }
    let pages = list_all(&client, &container, "root", 2).await;
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert!(pages.iter().all(|p| p.len() <= 2));
    assert_eq!(pages.concat(), names);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_automatically() {
    let emulator = start(Config {
        token_lifetime: Duration::from_millis(800),
        ..Config::default()
    })
    .await;
    let container = emulator.container_id().to_owned();
    let client = sign_in_refreshing(&emulator).await;

    // Without auto refresh, the expired token is an HTTP 401.
    let session = create_session(&emulator).await;
    let plain = builder_with_token(&emulator, session.access_token.unwrap(), session.session_id)
        .build()
        .unwrap();

    client.validate_session().call().await.expect("fresh token");
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let err = plain.validate_session().call().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    // The auto-refreshing client gets a 401, refreshes and resends.
    let id = try_mkdir(&client, &container, "root", "after-expiry")
        .await
        .expect("refreshed");
    assert!(!id.is_empty());
    client
        .validate_session()
        .call()
        .await
        .expect("the new token works");
}

#[tokio::test]
async fn a_wrong_sha256_or_a_missing_part_fails_the_integrity_check() {
    let emulator = start(Config::default()).await;
    let container = emulator.container_id().to_owned();
    let client = sign_in_refreshing(&emulator).await;
    let http = reqwest::Client::new();

    let create = |name: &str, sha256: Option<String>, length: i64| {
        client.create_file().body(types::CreateFileRequest {
            sha256,
            ..create_file_request(&container, name, length)
        })
    };
    let part = |n: u32, size: usize| types::MultiPartInfo {
        hash_ctx: vec![],
        part_id: None,
        part_number: std::num::NonZeroU32::new(n).unwrap(),
        part_offset: None,
        part_size: size as i64,
        upload_url: None,
    };
    let upload_urls = |file_id: &str, multi_parts| {
        let request = client.get_upload_urls().body(types::GetUploadUrlsRequest {
            file_id: file_id.into(),
            multi_parts,
        });
        async move { request.call().await.unwrap() }
    };
    // completeFile refuses the file with the integrity code (HTTP 400).
    let assert_integrity_failure = |file_id: String| {
        let request = client.complete_file().body(types::CompleteFileRequest {
            file_id,
            sha256: None,
        });
        async move {
            let err = request.call().await.unwrap_err();
            assert_eq!(
                api_error(&err),
                (400, Some(ErrorCode::FileIntegrityCheckFailed)),
                "{err}"
            );
        }
    };

    // A wrong SHA-256.
    let data = test_data(1000);
    let created = create("a.bin", Some("0".repeat(64)), 1000)
        .call()
        .await
        .unwrap();
    let file_id = created.file_id.unwrap();
    let urls = upload_urls(&file_id, vec![part(1, 1000)]).await;
    let url = urls.multi_parts[0].upload_url.clone().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/_emulator/parts/{file_id}/1",
            emulator.base_url()
        )),
        "{url}"
    );
    let put = http.put(&url).body(data.clone()).send().await.unwrap();
    assert!(put.status().is_success());
    assert_integrity_failure(file_id).await;

    // A missing part.
    let created = create("b.bin", None, 2000).call().await.unwrap();
    let file_id = created.file_id.unwrap();
    let urls = upload_urls(&file_id, vec![part(1, 1000), part(2, 1000)]).await;
    http.put(urls.multi_parts[1].upload_url.clone().unwrap())
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_integrity_failure(file_id).await;
    assert_eq!(emulator.node_count(), 0, "no file was completed");
}

#[tokio::test]
async fn missing_required_fields_are_13000102() {
    let emulator = start(Config::default()).await;
    let session = emulator.issue_session();
    let http = reqwest::Client::new();
    let base = emulator.base_url();
    for (path, body) in [
        (
            "/koodrive/ose/v1/directory",
            serde_json::json!({"fileName": "x"}),
        ),
        (
            "/koodrive/ose/v1/directory",
            serde_json::json!({"containerId": emulator.container_id()}),
        ),
        (
            "/koodrive/ose/v1/files/create",
            serde_json::json!({"containerId": emulator.container_id(), "fileName": "x"}),
        ),
        (
            "/koodrive/ose/v1/files/0",
            serde_json::json!({"containerId": emulator.container_id()}),
        ),
        ("/koodrive/ose/v1/files/complete", serde_json::json!({})),
    ] {
        let response = http
            .post(format!("{base}{path}"))
            .header("Authorization", &session.access_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{path} {body}");
        let error: types::ErrorBody = response.json().await.unwrap();
        assert_eq!(
            error.code.value(),
            13000102,
            "{path} {body}: {:?}",
            error.msg
        );
    }
}

#[tokio::test]
async fn unimplemented_operations_say_so() {
    let emulator = start(Config::default()).await;
    let client = sign_in_refreshing(&emulator).await;
    let err = client.get_quota_used().call().await.unwrap_err();
    assert_eq!(err.status(), Some(501), "{err}");
    assert!(
        err.to_string()
            .contains("getQuotaUsed is not supported by the emulator"),
        "{err}"
    );
    // A documented path that shares the shape of an emulated one.
    let response = reqwest::Client::new()
        .post(format!(
            "{}/koodrive/ose/v1/files/group-1/0",
            emulator.base_url()
        ))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 501);
    let error: types::ErrorBody = response.json().await.unwrap();
    assert!(error.msg.unwrap().starts_with("listDepartmentFiles "));
    // A literal path under the root-level getJobDetail template.
    let err = client.list_recently_access().call().await.unwrap_err();
    assert_eq!(err.status(), Some(501), "{err}");
    assert!(err.to_string().contains("listRecentlyAccess"), "{err}");
}
