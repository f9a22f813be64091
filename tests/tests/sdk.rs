//! The hand-written client layer against a local server on 127.0.0.1 (wiremock): auth,
//! typed errors, the envelope, retries, session refresh and pagination.

use std::time::Duration;

use futures_util::StreamExt;
use koodrive_api::auth::{self, Secret, SigningInput};
use koodrive_api::{Client, Error, ErrorCode, OperationExt, Paginate, RetryPolicy, types};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

fn token_client(server: &MockServer) -> Client {
    Client::builder(server.uri())
        .user_token("Bearer tok-1", Some("sess-1"))
        .retry(fast_retries())
        .build()
        .unwrap()
}

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn job_body() -> types::CreateJobRequest {
    types::CreateJobRequest {
        task_type: 2.try_into().unwrap(),
        action_type: None,
        dst_container_id: "c1".into(),
        password: None,
        task_info: types::CreateTaskInfoReq {
            src_container_id: "c1".into(),
            new_file_path: None,
            file_info: vec![],
            uncompress_file_paths: vec![],
        },
    }
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

// --- auth ---------------------------------------------------------------------------------

const SIGNING_HEADERS: [(&str, &str); 3] = [
    ("Host", "cn.myhuaweicloud-koodrive.com"),
    ("X-Date", "20240909T033325Z"),
    ("X-User-Id", "1505084218764547200"),
];

#[test]
fn hmac_signature_matches_a_worked_example() {
    // Expected values computed independently (Python hashlib/hmac, following the steps of
    // koodrive_05_0034/0035/0029/0030/0031), not by this crate.
    let secret = Secret::new("koodrive-test-secret");
    let input = SigningInput {
        method: "GET",
        path: "/koodrive/ose/v1/space/allocation/get",
        query: "",
        headers: &SIGNING_HEADERS,
        body: b"",
    };
    let (canonical, signed) = auth::canonical_request(&input);
    assert_eq!(
        canonical,
        "GET\n/koodrive/ose/v1/space/allocation/get/\n\nhost:cn.myhuaweicloud-koodrive.com\nx-date:20240909T033325Z\n\
         x-user-id:1505084218764547200\n\nhost;x-date;x-user-id\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(signed, "host;x-date;x-user-id");
    assert_eq!(
        auth::sign("app-1", &secret, &input),
        "HMAC-SHA256 AppId=app-1,SignedHeaders=host;x-date;x-user-id,\
         Signature=81839a162593cb8ad74a3d6e9c42d20cc360adb8ea713d3a690456b6385e819d"
    );
    // With a query (sorted, upper case before lower case, space as %20) and a body.
    let input = SigningInput {
        method: "POST",
        path: "/koodrive/ose/v1/files/search",
        query: "b=2&a=x%20y&A=1",
        headers: &SIGNING_HEADERS,
        body: br#"{"keyword":"report"}"#,
    };
    assert!(
        auth::canonical_request(&input)
            .0
            .contains("\nA=1&a=x%20y&b=2\n")
    );
    assert!(
        auth::sign("app-1", &secret, &input).ends_with(
            "Signature=1bc0c79d7e4ad593b7c0ddfba8a7123fc35ebffb6a0d0f3b1093000bda3dde6d"
        )
    );
}

#[test]
fn every_signed_input_changes_the_signature() {
    let secret = Secret::new("s");
    let base = SigningInput {
        method: "POST",
        path: "/a/b",
        query: "x=1",
        headers: &SIGNING_HEADERS,
        body: b"{}",
    };
    let reference = auth::sign("app", &secret, &base);
    let other_headers = [
        ("Host", "h"),
        ("X-Date", "20240909T033326Z"),
        ("X-User-Id", "1505084218764547200"),
    ];
    let variants = [
        SigningInput {
            method: "PUT",
            ..base.clone()
        },
        SigningInput {
            path: "/a/c",
            ..base.clone()
        },
        SigningInput {
            query: "x=2",
            ..base.clone()
        },
        SigningInput {
            headers: &other_headers,
            ..base.clone()
        },
        SigningInput {
            body: b"{ }",
            ..base.clone()
        },
    ];
    for v in &variants {
        assert_ne!(auth::sign("app", &secret, v), reference, "{v:?}");
    }
    assert_ne!(auth::sign("app", &Secret::new("t"), &base), reference);
    assert_ne!(auth::sign("app2", &secret, &base), reference);
}

#[tokio::test]
async fn a_user_token_is_sent_and_can_be_rotated_on_a_live_client() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ok(json!({"code": 0, "count": 3})))
        .mount(&server)
        .await;
    let client = token_client(&server);
    let clone = client.clone();
    assert_eq!(
        client.get_unread_count().call().await.unwrap().count,
        Some(3)
    );
    clone.set_user_token("raw-token-2", None);
    client.get_unread_count().call().await.unwrap();
    let sent = requests(&server).await;
    assert_eq!(
        sent[0].headers.get("authorization").unwrap(),
        "Bearer tok-1"
    );
    assert_eq!(
        sent[1].headers.get("authorization").unwrap(),
        "Bearer raw-token-2"
    );
    for r in &sent {
        assert_eq!(r.headers.get("x-traceid").unwrap().len(), 58);
        assert!(r.headers.get("api-version").is_none());
    }
}

#[tokio::test]
async fn app_auth_signs_what_is_sent() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ok(json!({"code": 0})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .app_credentials("app-9", "app-secret-9", "1505084218764547200")
        .build()
        .unwrap();
    client.get_unread_count().call().await.unwrap();
    let req = &requests(&server).await[0];
    let h = |n: &str| req.headers.get(n).unwrap().to_str().unwrap().to_owned();
    let host = h("host");
    assert_eq!(host, format!("127.0.0.1:{}", server.address().port()));
    assert_eq!(h("x-user-id"), "1505084218764547200");
    assert_eq!(h("x-date").len(), 16);
    // Recompute the signature from what arrived.
    let signed = [
        ("host", host.as_str()),
        ("x-date", &h("x-date")),
        ("x-user-id", "1505084218764547200"),
    ];
    let expected = auth::sign(
        "app-9",
        &Secret::new("app-secret-9"),
        &SigningInput {
            method: "GET",
            path: req.url.path(),
            query: req.url.query().unwrap_or(""),
            headers: &signed,
            body: &req.body,
        },
    );
    assert_eq!(h("authorization"), expected);
}

#[tokio::test]
async fn an_operation_without_usable_credentials_is_not_sent() {
    let server = MockServer::start().await;
    // Permission templates take only the application token.
    let err = token_client(&server)
        .list_permission_templates()
        .offset(0)
        .limit(10)
        .call()
        .await
        .unwrap_err();
    match &err {
        Error::Auth {
            operation_id,
            reason,
        } => {
            assert_eq!(*operation_id, "listPermissionTemplates");
            assert!(
                reason.contains("appToken") && reason.contains("user access token"),
                "{reason}"
            );
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(requests(&server).await.is_empty());
    assert!(!err.to_string().contains("tok-1"));
}

#[tokio::test]
async fn the_application_token_is_used_where_required() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/permission/template/list"))
        .respond_with(ok(json!({"code": 0, "total": 0})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .app_token("app-token-7", Some("42".into()))
        .build()
        .unwrap();
    client
        .list_permission_templates()
        .offset(0)
        .limit(10)
        .call()
        .await
        .unwrap();
    let req = &requests(&server).await[0];
    assert_eq!(
        req.headers.get("authorization").unwrap(),
        "Bearer app-token-7"
    );
    assert_eq!(req.headers.get("x-user-id").unwrap(), "42");
}

// --- envelope and typed errors --------------------------------------------------------------

#[tokio::test]
async fn a_nonzero_code_inside_http_200_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/jobs"))
        .respond_with(ok(
            json!({"code": "13000311", "msg": "Insufficient space."}),
        ))
        .mount(&server)
        .await;
    let err = token_client(&server)
        .create_job()
        .body(job_body())
        .call()
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            code,
            msg,
            status,
            trace_id,
            operation_id,
        } => {
            assert_eq!(*code, ErrorCode::InsufficientSpace);
            assert_eq!(msg.as_deref(), Some("Insufficient space."));
            assert_eq!(*status, 200);
            assert_eq!(trace_id.as_deref().map(str::len), Some(58));
            assert_eq!(*operation_id, "createJob");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), Some(ErrorCode::InsufficientSpace));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_undecodable_response_names_the_field() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ok(json!({"code": 0, "count": "three"})))
        .mount(&server)
        .await;
    match token_client(&server)
        .get_unread_count()
        .call()
        .await
        .unwrap_err()
    {
        Error::Decode {
            path, body, status, ..
        } => {
            assert_eq!(path, "count");
            assert!(body.contains("three"));
            assert_eq!(status, Some(200));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_parameter_keeps_its_reason() {
    let server = MockServer::start().await;
    match token_client(&server)
        .list_tasks()
        .x_traceid("short")
        .call()
        .await
        .unwrap_err()
    {
        Error::InvalidRequest {
            reason,
            operation_id,
        } => {
            assert_eq!(operation_id, "listTasks");
            assert!(
                reason.contains("x_traceid") && reason.contains("shorter than 58"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_gateway_error_page_is_a_status_error() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/jobs"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>boom</html>"))
        .mount(&server)
        .await;
    match token_client(&server)
        .create_job()
        .body(job_body())
        .call()
        .await
        .unwrap_err()
    {
        Error::Status { status, body, .. } => {
            assert_eq!(status, 500);
            assert!(body.contains("boom"));
        }
        other => panic!("{other:?}"),
    }
}

// --- retries ------------------------------------------------------------------------------

#[tokio::test]
async fn an_idempotent_call_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"code": 13000201, "msg": "inner server invoke failure"})),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ok(json!({"code": 0, "count": 1})))
        .with_priority(3)
        .mount(&server)
        .await;
    assert_eq!(
        token_client(&server)
            .get_unread_count()
            .call()
            .await
            .unwrap()
            .count,
        Some(1)
    );
    assert_eq!(
        requests(&server).await.len(),
        3,
        "503, then a transient code, then success"
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = token_client(&server)
        .get_unread_count()
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(requests(&server).await.len(), 3);
    // Off means one attempt.
    let client = Client::builder(server.uri())
        .user_token("t", None)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let _ = client.get_unread_count().call().await.unwrap_err();
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn a_non_idempotent_post_is_never_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/jobs"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = token_client(&server)
        .create_job()
        .body(job_body())
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_connection_failure_is_a_transport_error_after_retries() {
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .user_token("t", None)
        .retry(fast_retries())
        .build()
        .unwrap();
    let err = client.get_unread_count().call().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                operation_id: "getUnreadCount",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

// --- session refresh ------------------------------------------------------------------------

#[tokio::test]
async fn a_401_refreshes_the_session_and_resends_once() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .and(header("authorization", "Bearer old"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"code": 401, "msg": "expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/session/refresh"))
        .and(header("x-session-id", "sess-1"))
        .and(header("authorization", "Bearer old"))
        .respond_with(ok(
            json!({"code": 0, "msg": "ok", "accessToken": "Bearer+new"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .and(header("authorization", "Bearer+new"))
        .respond_with(ok(json!({"code": 0, "count": 5})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_token("Bearer old", Some("sess-1"))
        .auto_refresh(true)
        .build()
        .unwrap();
    assert_eq!(
        client.get_unread_count().call().await.unwrap().count,
        Some(5)
    );
    let paths: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/koodrive/ose/v1/message/unreadCount",
            "/koodrive/ose/v1/session/refresh",
            "/koodrive/ose/v1/message/unreadCount"
        ]
    );
    // The new token stays.
    client.get_unread_count().call().await.unwrap();
}

#[tokio::test]
async fn an_idle_token_is_refreshed_before_the_call() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/session/refresh"))
        .respond_with(ok(json!({"code": 0, "accessToken": "Bearer fresh"})))
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ok(json!({"code": 0})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_token("Bearer stale", Some("s"))
        .auto_refresh(true)
        .token_lifetime(Duration::from_millis(300))
        .build()
        .unwrap();
    client.set_user_token("Bearer stale", None); // marks it as just used
    // Within its lifetime the token is used as it is...
    client.get_unread_count().call().await.unwrap();
    // ...and once it has been idle for its lifetime, it is refreshed first.
    tokio::time::sleep(Duration::from_millis(350)).await;
    client.get_unread_count().call().await.unwrap();
    let sent = requests(&server).await;
    let paths: Vec<&str> = sent.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/koodrive/ose/v1/message/unreadCount",
            "/koodrive/ose/v1/session/refresh",
            "/koodrive/ose/v1/message/unreadCount"
        ]
    );
    assert_eq!(
        sent[0].headers.get("authorization").unwrap(),
        "Bearer stale"
    );
    assert_eq!(
        sent[2].headers.get("authorization").unwrap(),
        "Bearer fresh"
    );
}

#[tokio::test]
async fn a_failed_refresh_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"code": 401})))
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/session/refresh"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"code": 401})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_token("Bearer old", Some("s"))
        .auto_refresh(true)
        .build()
        .unwrap();
    let err = client.get_unread_count().call().await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth { reason, .. } if reason.contains("refreshSession")),
        "{err:?}"
    );
}

// --- headers ------------------------------------------------------------------------------

#[tokio::test]
async fn language_and_shared_folder_headers() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/jobs"))
        .respond_with(ok(json!({"code": 0, "data": "1"})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_token("t", None)
        .language("zh-CN")
        .build()
        .unwrap();
    client.create_job().body(job_body()).call().await.unwrap();
    client
        .in_shared_folder("folder-7")
        .create_job()
        .body(job_body())
        .call()
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent[0].headers.get("language").unwrap(), "zh-CN");
    assert!(sent[0].headers.get("x-hw-share-folder-id").is_none());
    assert_eq!(
        sent[1].headers.get("x-hw-share-folder-id").unwrap(),
        "folder-7"
    );
}

// --- pagination -----------------------------------------------------------------------------

#[tokio::test]
async fn cursor_pages_continue_past_an_empty_page() {
    let server = MockServer::start().await;
    let page = |cursor: Option<&str>, next: Option<&str>, ids: &[&str]| {
        let messages: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
        let mut body = json!({"code": 0, "messages": messages});
        if let Some(n) = next {
            body["nextCursor"] = json!(n);
        }
        let m = Mock::given(path("/koodrive/ose/v1/message/list"));
        match cursor {
            Some(c) => m.and(query_param("pageCursor", c)),
            None => m,
        }
        .respond_with(ok(body))
    };
    page(Some("c1"), Some("c2"), &[])
        .with_priority(1)
        .mount(&server)
        .await;
    page(Some("c2"), None, &["m3"])
        .with_priority(1)
        .mount(&server)
        .await;
    page(None, Some("c1"), &["m1", "m2"])
        .with_priority(5)
        .mount(&server)
        .await;

    let client = token_client(&server);
    let pages: Vec<_> = client.list_messages().page_size(2).pages().collect().await;
    let pages: Vec<types::ListMessagesResponse> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages.iter().map(|p| p.messages.len()).collect::<Vec<_>>(),
        [2, 0, 1]
    );
    let cursors: Vec<Option<String>> = requests(&server)
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "pageCursor")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(cursors, [None, Some("c1".into()), Some("c2".into())]);
    // The caller's other parameters ride along on every page.
    assert!(
        requests(&server)
            .await
            .iter()
            .all(|r| r.url.query().unwrap_or("").contains("pageSize=2"))
    );
}

#[tokio::test]
async fn offset_pages_stop_at_the_total() {
    let server = MockServer::start().await;
    for (offset, names) in [
        ("0", vec!["a", "b"]),
        ("2", vec!["c", "d"]),
        ("4", vec!["e"]),
    ] {
        let teams: Vec<_> = names.iter().map(|n| json!({"name": n})).collect();
        Mock::given(path("/koodrive/ose/v1/space/teamList"))
            .and(query_param("offset", offset))
            .respond_with(ok(json!({"code": 0, "total": "5", "teams": teams})))
            .mount(&server)
            .await;
    }
    let client = token_client(&server);
    let pages: Vec<_> = client
        .list_team_spaces()
        .offset(0)
        .limit(2)
        .pages()
        .collect()
        .await;
    let counts: Vec<usize> = pages.into_iter().map(|p| p.unwrap().teams.len()).collect();
    assert_eq!(counts, [2, 2, 1]);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn an_error_ends_the_stream_with_the_error() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/list"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"code": 13000102, "msg": "bad"})),
        )
        .mount(&server)
        .await;
    let pages: Vec<_> = token_client(&server)
        .list_messages()
        .pages()
        .collect()
        .await;
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].as_ref().unwrap_err().code(),
        Some(ErrorCode::ParameterInvalid)
    );
}

// --- error codes ----------------------------------------------------------------------------

#[test]
fn error_code_holds_every_documented_code() {
    let tsv = std::fs::read_to_string(koodrive_tests::root().join("spec/docs/errors.tsv")).unwrap();
    let documented: std::collections::BTreeSet<i64> = tsv
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1))
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let known: std::collections::BTreeSet<i64> =
        ErrorCode::documented().map(ErrorCode::code).collect();
    assert_eq!(documented, known);
    for code in documented {
        assert_eq!(ErrorCode::from_code(code).code(), code);
        assert!(!matches!(ErrorCode::from_code(code), ErrorCode::Unknown(_)));
    }
    assert_eq!(ErrorCode::from_code(99), ErrorCode::Unknown(99));
}

// --- other envelopes, more retry and paging cases -------------------------------------------

#[tokio::test]
async fn the_ai_envelope_is_understood() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/aisaas/picture/feature/extract"))
        .respond_with(ok(
            json!({"code": "0", "message": "", "success": true, "data": {"feature": [0.5]}}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/aisaas/picture/feature/extract"))
        .respond_with(ok(
            json!({"code": "1001", "message": "picture too large", "success": false}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let request: types::ExtractPictureFeatureRequest =
        serde_json::from_value(json!({"fileUrl": "https://example.invalid/a.png"})).unwrap();
    let ok = client
        .extract_picture_feature()
        .body(request.clone())
        .call()
        .await
        .unwrap();
    assert_eq!(ok.success, Some(true));
    match client
        .extract_picture_feature()
        .body(request)
        .call()
        .await
        .unwrap_err()
    {
        Error::Api {
            code, msg, status, ..
        } => {
            assert_eq!(code, ErrorCode::Unknown(1001));
            assert_eq!(msg.as_deref(), Some("picture too large"));
            assert_eq!(status, 200);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_transcoding_envelope_is_understood() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/files/media/transcode/address"))
        .respond_with(ok(
            json!({"code": 200, "msg": "ok", "address": "https://cdn.example.invalid/v.m3u8"}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/files/media/transcode/address"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error_code": "KD.0001", "error_msg": "no such file"})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let request: types::MediaTranscodeAddressRequest =
        serde_json::from_value(json!({"fileId": "F1"})).unwrap();
    // Success carries code 200, not 0.
    let address = client
        .get_media_transcode_address()
        .body(request.clone())
        .call()
        .await
        .unwrap();
    assert_eq!(
        address.address.as_deref(),
        Some("https://cdn.example.invalid/v.m3u8")
    );
    // Errors are {error_code, error_msg}: kept in the message, never a decode failure.
    match client
        .get_media_transcode_address()
        .body(request)
        .call()
        .await
        .unwrap_err()
    {
        Error::Api { msg, status, .. } => {
            assert_eq!(status, 400);
            assert_eq!(msg.as_deref(), Some("KD.0001: no such file"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_non_transient_code_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"code": 13000102, "msg": "Verify parameters failed."})),
        )
        .mount(&server)
        .await;
    let err = token_client(&server)
        .get_unread_count()
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ParameterInvalid));
    assert!(!err.is_retryable());
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn body_cursor_pages_write_the_cursor_into_the_body() {
    use wiremock::matchers::body_partial_json;
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/revision/listRevision"))
        .and(body_partial_json(json!({"pageInfo": {"pageCursor": "p2"}})))
        .respond_with(ok(
            json!({"code": 0, "revisionList": [{"revisionId": "r3"}]}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/koodrive/ose/v1/revision/listRevision"))
        .respond_with(ok(json!({"code": 0, "nextPageCursor": "p2", "revisionList": [{"revisionId": "r1"}, {"revisionId": "r2"}]})))
        .with_priority(5)
        .mount(&server)
        .await;
    let body: types::ListRevisionsRequest = serde_json::from_value(
        json!({"containerId": "C1", "fileId": "F1", "pageInfo": {"pageSize": 2}}),
    )
    .unwrap();
    let pages: Vec<_> = token_client(&server)
        .list_revisions()
        .body(body)
        .pages()
        .collect()
        .await;
    let counts: Vec<usize> = pages
        .into_iter()
        .map(|p| p.unwrap().revision_list.len())
        .collect();
    assert_eq!(counts, [2, 1]);
    let sent: Vec<serde_json::Value> = requests(&server)
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        sent[1],
        json!({"containerId": "C1", "fileId": "F1", "pageInfo": {"pageSize": 2, "pageCursor": "p2"}})
    );
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(ok(json!({"code": 0})).set_delay(Duration::from_millis(500)))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_token("t", None)
        .timeout(Some(Duration::from_millis(100)))
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client.get_unread_count().call().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation_id: "getUnreadCount",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn dot_path_ids_are_refused_before_sending() {
    let server = MockServer::start().await;
    for id in ["", ".", ".."] {
        match token_client(&server)
            .get_task_detail()
            .task_id(id)
            .call()
            .await
            .unwrap_err()
        {
            Error::InvalidRequest {
                reason,
                operation_id,
            } => {
                assert_eq!(operation_id, "getTaskDetail");
                assert!(reason.contains("task_id"), "{reason}");
            }
            other => panic!("{id:?}: {other:?}"),
        }
    }
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_error_code_is_found_whatever_the_content_type() {
    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"code":13000309,"msg":"no such thing"}"#, "text/plain"),
        )
        .mount(&server)
        .await;
    let err = token_client(&server)
        .get_unread_count()
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(200), Some(ErrorCode::ResourceNotFound))
    );
}
