//! The generated client against a local HTTP server (wiremock on 127.0.0.1): what it sends
//! (method, path, query, headers, body) and what it decodes.

use koodrive_api::hooks::ClientState;
use koodrive_api::types;
use koodrive_api::{Client, RawError as Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::new(&server.uri(), ClientState::default())
}

/// The one request the server received.
async fn only_request(server: &MockServer) -> Request {
    let mut received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "expected exactly one request");
    received.remove(0)
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn create_job_sends_the_body_and_decodes_the_job_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/koodrive/ose/v1/jobs"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": "1309243162258308352", "code": 0, "msg": "success"})),
        )
        .mount(&server)
        .await;

    let body = types::CreateJobRequest {
        task_type: 3.try_into().unwrap(),
        action_type: Some(301.try_into().unwrap()),
        dst_container_id: "IAADfsBFCO6WtAtuA315074383680425b8aa9a130cba2d4".into(),
        password: None,
        task_info: types::CreateTaskInfoReq {
            src_container_id: "IAADfsBFCO6WtAtuA315074383680425b8aa9a130cba2d4".into(),
            new_file_path: Some("Fm9UdqBNTAQDos6l1xPlFnIqXJg2-UdqA".into()),
            file_info: vec![types::JobFileInfo {
                file_id: Some("FuZmQ66CF0DdpKRG1Y29Iwajbq04Nhwu3".into()),
                file_path: None,
            }],
            uncompress_file_paths: vec![],
        },
    };
    let response = client(&server)
        .create_job()
        .language(types::Language::ZhCn)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let job = response.into_inner();
    assert_eq!(job.data.as_deref(), Some("1309243162258308352"));
    assert!(job.code.unwrap().is_success());

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(header(&req, "language"), Some("zh-CN"));
    // The hooks add a 58-character trace id and drop progenitor's api-version header.
    assert_eq!(header(&req, "x-traceid").map(str::len), Some(58));
    assert_eq!(header(&req, "api-version"), None);
    let sent: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        sent,
        json!({
            "taskType": 3,
            "actionType": 301,
            "dstContainerId": "IAADfsBFCO6WtAtuA315074383680425b8aa9a130cba2d4",
            "taskInfo": {
                "srcContainerId": "IAADfsBFCO6WtAtuA315074383680425b8aa9a130cba2d4",
                "newFilePath": "Fm9UdqBNTAQDos6l1xPlFnIqXJg2-UdqA",
                "fileInfo": [{"fileId": "FuZmQ66CF0DdpKRG1Y29Iwajbq04Nhwu3"}]
            }
        })
    );
}

#[tokio::test]
async fn list_tasks_sends_the_query_and_decodes_the_example_shape() {
    let server = MockServer::start().await;
    // The shape of the doc example: `taskListDtos` and a numeric `nextCursor`.
    Mock::given(method("GET"))
        .and(path("/koodrive/ose/v1/task/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "taskListDtos": [{"taskId": "1486254586942472064", "taskName": "ceshi1111", "taskType": 0, "status": 2}],
            "nextCursor": 1723549107000_i64,
            "code": 0,
            "msg": "成功"
        })))
        .mount(&server)
        .await;

    let trace = "t".repeat(58);
    let page = client(&server)
        .list_tasks()
        .task_type(0)
        .page_size(10)
        .page_cursor(1723549107000_i64)
        .x_traceid(trace.as_str())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.task_list_dtos.len(), 1);
    assert_eq!(
        page.task_list_dtos[0].task_id.as_deref(),
        Some("1486254586942472064")
    );
    assert_eq!(
        page.next_cursor,
        Some(types::ListTasksResponseNextCursor::Int64(1723549107000))
    );

    let req = only_request(&server).await;
    assert_eq!(req.method.as_str(), "GET");
    let mut query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
    query.sort();
    assert_eq!(
        query,
        vec![
            ("pageCursor".into(), "1723549107000".into()),
            ("pageSize".into(), "10".into()),
            ("taskType".into(), "0".into())
        ]
    );
    // A trace id the caller set is kept.
    assert_eq!(header(&req, "x-traceid"), Some(trace.as_str()));
}

#[tokio::test]
async fn a_trace_id_of_the_wrong_length_is_refused_before_sending() {
    let server = MockServer::start().await;
    let err = client(&server)
        .list_tasks()
        .x_traceid("short")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn get_task_detail_percent_encodes_the_path_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "taskId": "a/b?c", "taskName": "handover", "status": 1, "code": "0", "msg": "ok"
        })))
        .mount(&server)
        .await;
    let task = client(&server)
        .get_task_detail()
        .task_id("a/b?c")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(task.task_id.as_deref(), Some("a/b?c"));
    assert_eq!(task.status, Some(1));
    // `code` arrived as the string "0" and decodes as success.
    assert!(task.code.unwrap().is_success());

    let req = only_request(&server).await;
    assert_eq!(req.url.path(), "/koodrive/ose/v1/task/a%2Fb%3Fc");
    assert_eq!(req.url.query(), None);
}

#[tokio::test]
async fn an_error_status_decodes_the_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"code": "13000102", "msg": "Verify parameters failed."})),
        )
        .mount(&server)
        .await;
    let err = client(&server).get_unread_count().send().await.unwrap_err();
    match err {
        Error::ErrorResponse(body) => {
            assert_eq!(body.status(), 400);
            assert_eq!(body.code.value(), 13000102);
            assert_eq!(body.msg.as_deref(), Some("Verify parameters failed."));
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}
