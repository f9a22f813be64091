//! The emulator's search, favourites, recycle bin, jobs, quota, shares, messages, org and
//! HMAC app auth, through the real client over HTTP on 127.0.0.1.

mod common;

use common::{
    api_error, assert_401_error_body, create_file_request, create_job, job, mkdir, names, sign_in,
    start, upload, wait,
};
use futures_util::StreamExt;
use koodrive_api::{Client, ErrorCode, OperationExt, Paginate, types};
use koodrive_emulator::Config;

#[tokio::test]
async fn jobs_move_delete_restore_copy_and_clear() {
    let emulator = start(Config::default()).await;
    let c = emulator.container_id().to_owned();
    let client = sign_in(&emulator);
    let a = mkdir(&client, &c, "root", "a").await;
    let b = mkdir(&client, &c, "root", "b").await;
    let file = upload(&client, &c, &a, "notes.txt", b"hello jobs").await;

    // Move a/notes.txt to b, polled to completion through pending and processing.
    let id = create_job(&client, job(&c, 3, None, &[&file], Some(&b))).await;
    let (statuses, result) = wait(&client, &id).await;
    assert_eq!(statuses, vec![0, 1, 2]);
    assert_eq!(result, Some(1));
    assert_eq!(names(&client, &c, &b, false).await, vec!["notes.txt"]);
    assert!(names(&client, &c, &a, false).await.is_empty());
    let path = client
        .get_full_path()
        .file_id(&file)
        .container_id(&c)
        .call()
        .await
        .expect("getFullPath");
    assert_eq!(path.name_path.as_deref(), Some("/b/notes.txt"));
    assert_eq!(path.file_id_path, Some(format!("/{b}/{file}")));

    // Delete to the recycle bin (201), listed there, then restored.
    let id = create_job(&client, job(&c, 2, Some(201), &[&file], None)).await;
    wait(&client, &id).await;
    assert!(names(&client, &c, &b, false).await.is_empty());
    assert_eq!(names(&client, &c, "root", true).await, vec!["notes.txt"]);
    let err = client
        .create_job()
        .body(job(&c, 3, None, &[&file], Some(&a)))
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&err),
        (400, Some(ErrorCode::FileInRecycleBin)),
        "{err}"
    );
    let id = create_job(&client, job(&c, 4, None, &[&file], None)).await;
    assert_eq!(wait(&client, &id).await.1, Some(1));
    assert_eq!(names(&client, &c, &b, false).await, vec!["notes.txt"]);
    assert!(names(&client, &c, "root", true).await.is_empty());
    // Restoring what is not in the recycle bin: 13000303.
    let err = client
        .create_job()
        .body(job(&c, 4, None, &[&file], None))
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::FileNotInRecycleBin), "{err}");

    // Copy b into a (a deep copy), then listJobs sees every job.
    let id = create_job(&client, job(&c, 1, Some(101), &[&b], Some(&a))).await;
    wait(&client, &id).await;
    assert_eq!(names(&client, &c, &a, false).await, vec!["b"]);
    let jobs = client
        .list_jobs()
        .offset(0)
        .limit(100)
        .call()
        .await
        .expect("listJobs");
    assert_eq!(jobs.data.len(), 4);
    assert!(jobs.data.iter().all(|j| j.status == Some(2)));

    // Cancel a pending job: it never runs.
    let id = create_job(&client, job(&c, 2, Some(202), &[&a], None)).await;
    client
        .cancel_job()
        .body(types::CancelJobRequest { job_id: id.clone() })
        .call()
        .await
        .expect("cancelJob");
    let detail = client.get_job_detail().job_id(&id).call().await.unwrap();
    assert_eq!(detail.data.unwrap().job_info.unwrap().status, Some(3));
    assert!(
        names(&client, &c, "root", false)
            .await
            .contains(&"a".to_owned())
    );

    // Delete a to the bin, clear the bin with a job; delete b for good; clearRecycleBin.
    let id = create_job(&client, job(&c, 2, None, &[&a], None)).await;
    wait(&client, &id).await;
    let id = create_job(&client, job(&c, 7, Some(701), &[], None)).await;
    wait(&client, &id).await;
    assert!(names(&client, &c, "root", true).await.is_empty());
    assert_eq!(names(&client, &c, "root", false).await, vec!["b"]);
    let id = create_job(&client, job(&c, 2, Some(201), &[&b], None)).await;
    wait(&client, &id).await;
    client
        .clear_recycle_bin()
        .body(types::ClearRecycleBinRequest {
            container: None,
            container_id: Some(c.clone()),
        })
        .call()
        .await
        .expect("clearRecycleBin");
    assert_eq!(emulator.node_count(), 0);

    // Unknown ids.
    let err = client
        .get_job_detail()
        .job_id("J-nope")
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&err),
        (400, Some(ErrorCode::ResourceNotFound)),
        "{err}"
    );
    let err = client
        .cancel_job()
        .body(types::CancelJobRequest {
            job_id: "J-nope".into(),
        })
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResourceNotFound), "{err}");
    let err = client
        .create_job()
        .body(job(&c, 3, None, &["F-nope"], Some("root")))
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResourceNotFound), "{err}");
}

#[tokio::test]
async fn search_stats_and_favourites() {
    let emulator = start(Config::default()).await;
    let c = emulator.container_id().to_owned();
    let client = sign_in(&emulator);
    let docs = mkdir(&client, &c, "root", "docs").await;
    let sub = mkdir(&client, &c, &docs, "sub").await;
    let one = upload(&client, &c, &docs, "Report-1.txt", b"12345").await;
    let two = upload(&client, &c, &sub, "report-2.txt", b"1234567").await;
    upload(&client, &c, "root", "other.txt", b"x").await;

    // Search by name, case-insensitive, two per page through the paginator.
    let search = client.search_files().body(types::SearchFilesRequest {
        filter: Some(types::SearchFilter {
            container_id: Some(c.clone()),
            file_type: None,
            key_word: Some("REPORT".try_into().unwrap()),
            owner_id: None,
            parent_folder: None,
            update_time_range: None,
        }),
        image_process: None,
        page_info: types::SearchPageInfo {
            page_cursor: String::new(),
            page_size: std::num::NonZeroU32::new(1).unwrap(),
        },
        recursived: None,
        recycled: None,
        search_type: types::SearchFilesRequestSearchType::Personal,
        sort_info: None,
    });
    let pages: Vec<_> = search.pages().collect().await;
    let found: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.expect("searchFiles").files)
        .map(|f| f.name_path.unwrap())
        .collect();
    assert_eq!(found, vec!["/docs/Report-1.txt", "/docs/sub/report-2.txt"]);

    // statsDir, direct and recursive.
    let stats = |recursive: bool| {
        client
            .get_directory_stats()
            .file_id(&docs)
            .container_id(&c)
            .recursive(recursive)
    };
    let direct = stats(false).call().await.expect("statsDir").data.unwrap();
    assert_eq!(
        (
            direct.sub_dir_count,
            direct.sub_file_count,
            direct.total_size
        ),
        (Some(1), Some(1), Some(5))
    );
    let all = stats(true).call().await.unwrap().data.unwrap();
    assert_eq!(
        (all.sub_dir_count, all.sub_file_count, all.total_size),
        (Some(1), Some(2), Some(12))
    );
    let err = client
        .get_directory_stats()
        .file_id("D-nope")
        .container_id(&c)
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResourceNotFound), "{err}");

    // Favourites: star three, unstar one, page through the rest; an unknown id fails alone.
    let star = |starred: bool, ids: &[&str]| {
        client
            .batch_star_files()
            .body(types::BatchStarFilesRequest {
                starred,
                sub_request_list: ids
                    .iter()
                    .map(|id| types::StarFileRequest {
                        container_id: c.clone(),
                        file_id: (*id).into(),
                    })
                    .collect(),
            })
    };
    let r = star(true, &[&one, &two, &sub, "F-nope"])
        .call()
        .await
        .unwrap();
    assert_eq!(r.status, Some(1), "partly succeeded");
    assert_eq!(r.sub_response_list[3].code.as_deref(), Some("13000309"));
    star(false, &[&sub]).call().await.unwrap();
    let pages: Vec<_> = client
        .list_starred_files()
        .page_size(1)
        .pages()
        .collect()
        .await;
    assert_eq!(pages.len(), 2);
    let starred: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().star_files)
        .map(|f| f.file_name.unwrap())
        .collect();
    assert_eq!(starred, vec!["Report-1.txt", "report-2.txt"]);
}

#[tokio::test]
async fn uploads_beyond_the_quota_are_13000311() {
    let emulator = start(Config {
        quota_bytes: 100,
        ..Config::default()
    })
    .await;
    let c = emulator.container_id().to_owned();
    let client = sign_in(&emulator);
    upload(&client, &c, "root", "a.bin", &[7u8; 60]).await;
    let err = client
        .create_file()
        .body(create_file_request(&c, "b.bin", 41))
        .call()
        .await
        .unwrap_err();
    assert_eq!(
        api_error(&err),
        (400, Some(ErrorCode::InsufficientSpace)),
        "{err}"
    );
    client
        .create_file()
        .body(create_file_request(&c, "c.bin", 40))
        .call()
        .await
        .expect("what fits is accepted");
    assert_eq!(emulator.space_used(), 100);
}

#[tokio::test]
async fn shares_and_messages() {
    let emulator = start(Config::default()).await;
    let c = emulator.container_id().to_owned();
    let client = sign_in(&emulator);
    let file = upload(&client, &c, "root", "shared.txt", b"share me").await;
    let folder = mkdir(&client, &c, "root", "team").await;
    let share = |ids: Vec<String>| {
        client.create_share().body(types::CreateShareRequest {
            comment: Some("have a look".into()),
            container_id: c.clone(),
            dept_ids: vec![],
            expire_time: None,
            extract_code: None,
            file_ids: ids,
            group_ids: vec![],
            permission: None,
            phone_numbers: vec![],
            scope: 2.try_into().unwrap(),
            user_ids: vec![],
            valid_days: std::num::NonZeroU32::new(7).unwrap(),
        })
    };
    let mut ids = vec![];
    for target in [&file, &folder, &file] {
        let link = share(vec![target.clone()])
            .call()
            .await
            .expect("createShare");
        ids.push(link.share_link.unwrap().share_id.unwrap());
    }
    let err = share(vec!["F-nope".into()]).call().await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResourceNotFound), "{err}");

    let pages: Vec<_> = client
        .list_share_by_me()
        .page_size(2)
        .pages()
        .collect()
        .await;
    assert_eq!(pages.len(), 2);
    let listed: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().share_links)
        .map(|l| l.share_id.unwrap())
        .collect();
    assert_eq!(listed, ids);
    let detail = client
        .get_share_by_me_detail()
        .share_id(&ids[1])
        .call()
        .await
        .expect("getShareByMeDetail");
    let detail = detail.share_link.unwrap();
    assert_eq!(detail.display_name.as_deref(), Some("team"));
    assert_eq!(detail.comment.as_deref(), Some("have a look"));

    let cancelled = client
        .cancel_shares()
        .body(types::CancelSharesRequest {
            share_ids: vec![ids[0].clone(), "S-nope".into()],
        })
        .call()
        .await
        .expect("cancelShares");
    let codes: Vec<i64> = cancelled
        .sub_response_list
        .iter()
        .map(|r| r.code.as_ref().unwrap().value())
        .collect();
    assert_eq!(codes, vec![0, 13000309]);
    let err = client
        .get_share_by_me_detail()
        .share_id(&ids[0])
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResourceNotFound), "{err}");

    // Received shares: empty, then one seeded.
    let received = client
        .list_share_with_me()
        .call()
        .await
        .expect("listShareWithMe");
    assert!(received.share_links.is_empty());
    emulator.seed_received_share(types::ShareWithMeLink {
        display_name: Some("from a colleague".into()),
        share_id: Some("S-colleague".into()),
        owner_name: Some("Colleague".into()),
        ..Default::default()
    });
    let received = client.list_share_with_me().call().await.unwrap();
    assert_eq!(received.share_links.len(), 1);

    // Three shares made three messages; one more seeded.
    emulator.seed_message("002", "welcome");
    let unread = client
        .get_unread_count()
        .call()
        .await
        .expect("getUnreadCount");
    assert_eq!(unread.count, Some(4));
    let pages: Vec<_> = client.list_messages().page_size(3).pages().collect().await;
    assert_eq!(pages.len(), 2);
    let messages: Vec<types::MessageInfo> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().messages)
        .collect();
    assert_eq!(messages.len(), 4);
    let read = client
        .mark_messages_read()
        .body(types::MessageIdsRequest {
            ids: vec![messages[0].id.clone().unwrap(), "M-nope".into()],
        })
        .call()
        .await
        .expect("markMessagesRead");
    let changed: Vec<Option<bool>> = read.messages.iter().map(|m| m.changed).collect();
    assert_eq!(changed, vec![Some(true), Some(false)]);
    assert_eq!(
        client.get_unread_count().call().await.unwrap().count,
        Some(3)
    );
    let unread_only = client.list_messages().state(0).call().await.unwrap();
    assert_eq!(unread_only.messages.len(), 3);
}

#[tokio::test]
async fn spaces_users_and_departments() {
    let emulator = start(Config {
        quota_bytes: 1000,
        ..Config::default()
    })
    .await;
    let c = emulator.container_id().to_owned();
    let user = emulator.config().user_id.clone();
    let client = sign_in(&emulator);
    upload(&client, &c, "root", "a.bin", &[1u8; 10]).await;
    let space = client
        .get_space()
        .owner_id(&user)
        .type_(types::GetSpaceType::X1)
        .call()
        .await
        .expect("getSpace")
        .data
        .unwrap();
    assert_eq!(space.container_id.as_deref(), Some(c.as_str()));
    assert_eq!(space.capacity.as_deref(), Some("1000"));
    assert_eq!(space.space_used.as_deref(), Some("10"));
    let by_id = client
        .get_space_by_container_id()
        .container_id(&c)
        .call()
        .await
        .expect("getSpaceByContainerId");
    assert_eq!(by_id.data.unwrap().owner_id, Some(user.clone()));
    let err = client
        .get_space_by_container_id()
        .container_id("nope")
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::SpaceNotFound), "{err}");
    let me = client
        .get_user()
        .user_id(&user)
        .call()
        .await
        .expect("getUser");
    let me = me.data.unwrap();
    assert_eq!(me.name.as_deref(), Some("Emulator User"));
    let err = client
        .get_user()
        .user_id("nobody")
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ResourceNotFound), "{err}");
    let depts = client
        .list_departments()
        .call()
        .await
        .expect("listDepartments");
    assert_eq!(depts.list.len(), 1);
    assert_eq!(depts.list[0].dept_id, me.dept_id);
}

#[tokio::test]
async fn hmac_app_auth_is_verified() {
    let emulator = start(Config::default()).await;
    let config = emulator.config().clone();
    let app_client = |secret: &str| {
        Client::builder(emulator.base_url())
            .app_credentials(&config.app_id, secret, &config.user_id)
            .build()
            .unwrap()
    };
    // A correct signature works, with a body too.
    let good = app_client(&config.app_secret);
    good.get_unread_count().call().await.expect("signed call");
    mkdir(&good, &config.container_id, "root", "signed").await;
    // A wrong secret: 401.
    let err = app_client("wrong-secret")
        .get_unread_count()
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");

    // Stale, future and missing headers, signed by hand.
    let http = reqwest::Client::new();
    let host = emulator.addr().to_string();
    let path = "/koodrive/ose/v1/message/unreadCount";
    let send = |date: String, user: Option<&str>| {
        let headers = [
            ("host", host.as_str()),
            ("x-date", date.as_str()),
            ("x-user-id", config.user_id.as_str()),
        ];
        let authorization = koodrive_api::auth::sign(
            &config.app_id,
            &config.app_secret.as_str().into(),
            &koodrive_api::auth::SigningInput {
                method: "GET",
                path,
                query: "",
                headers: &headers,
                body: b"",
            },
        );
        let mut request = http
            .get(format!("{}{path}", emulator.base_url()))
            .header("x-date", &date)
            .header("authorization", authorization);
        if let Some(u) = user {
            request = request.header("x-user-id", u);
        }
        request.send()
    };
    let now = std::time::SystemTime::now();
    let at = |offset_secs: i64| {
        let t = if offset_secs >= 0 {
            now + std::time::Duration::from_secs(offset_secs as u64)
        } else {
            now - std::time::Duration::from_secs((-offset_secs) as u64)
        };
        koodrive_api::auth::x_date(t)
    };
    let ok = send(at(0), Some(&config.user_id)).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    for (date, user, why) in [
        (at(-16 * 60), Some(config.user_id.as_str()), "stale"),
        (at(10 * 60), Some(config.user_id.as_str()), "future"),
        (at(0), None, "missing X-User-Id"),
    ] {
        let response = send(date, user).await.unwrap();
        assert_401_error_body(response, why).await;
    }
}

#[tokio::test]
async fn an_oversize_body_is_a_json_413() {
    let emulator = start(Config {
        max_part_bytes: 1024,
        ..Config::default()
    })
    .await;
    let session = emulator.issue_session();
    let response = reqwest::Client::new()
        .post(format!("{}/koodrive/ose/v1/directory", emulator.base_url()))
        .header("Authorization", &session.access_token)
        .header("content-type", "application/json")
        .body(vec![b' '; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body: types::ErrorBody = response.json().await.expect("an ErrorBody");
    assert_eq!(body.code.value(), 13000101);
}
