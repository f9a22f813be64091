//! # koodrive-emulator
//!
//! A local, in-memory KooDrive on 127.0.0.1, for developing and testing against the SDK
//! without an enterprise account (as Azurite is for Azure Storage). Request and response
//! bodies are the generated types of `koodrive-api` (`koodrive_api::types`), so the emulator
//! speaks the curated spec and cannot drift from it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use koodrive_emulator::{Config, Emulator};
//!
//! let emulator = Emulator::start(Config::default()).await?;
//! let client = koodrive_api::Client::builder(emulator.base_url())
//!     .build()
//!     .expect("a valid client configuration");
//! // createSession with emulator.auth_code(), then work in emulator.container_id().
//! # drop(client); Ok(()) }
//! ```
//!
//! ## What it emulates
//! - **Sessions**: createSession (with the configured auth code), refreshSession
//!   (`x-session-id`; the expired token may come along), validateSession, logout. Tokens
//!   (`Bearer <random>`) expire [`Config::token_lifetime`] after their last use; a missing,
//!   unknown, expired or logged-out token is HTTP 401 `{code: 401, msg}`.
//! - **Files** in one personal space ([`Config::container_id`], root folder `root`):
//!   createDirectory; the four-step upload (createFile, getUploadUrls with URLs to the
//!   emulator's own `PUT /_emulator/parts/{fileId}/{part}`, the `PUT`s, completeFile, which
//!   joins the parts in order and checks length and SHA-256: 13000402 on a mismatch), instant
//!   upload when the SHA-256 is known; getDownloadUrls with links to
//!   `GET /_emulator/files/{fileId}`; listPersonalFiles with cursors (see below); getFile;
//!   renameFile.
//! - **Search, statistics, paths, favourites**: searchFiles, getDirectoryStats, getFullPath,
//!   batchStarFiles, listStarredFiles. **Recycle bin**: listPersonalFiles type 1,
//!   clearRecycleBin. **Jobs**: createJob (copy, delete, move, restore, clear the recycle bin),
//!   getJobDetail, listJobs, cancelJob; a job advances pending → processing → completed on
//!   successive looks. **Quota**: [`Config::quota_bytes`], 13000311 beyond it.
//!   **Shares**: createShare, listShareByMe, getShareByMeDetail, cancelShares,
//!   listShareWithMe. **Messages**: getUnreadCount, listMessages, markMessagesRead.
//!   **Org**: getSpace, getSpaceByContainerId, getUser, listDepartments (one of each).
//! - **HMAC app auth** with [`Config::app_id`] and [`Config::app_secret`]: a bad signature, an
//!   `X-Date` over 15 minutes old or in the future, or a missing header is HTTP 401.
//!   An oversize body is HTTP 413 `{code: 13000101, msg}`.
//! - **Errors**: a missing or malformed field is HTTP 400 13000102, a taken name 13000405
//!   (unless the request asks to rename), unknown ids 13000309, an unknown space 13000301, an
//!   unknown upload 13000401. Every other documented operation answers HTTP 501
//!   `{code: 13000101, msg: "<operationId> is not supported by the emulator"}`: never a fake
//!   success.
//!
//! ## Fault injection and request counts
//! [`Config::faults`], [`Emulator::inject`] and [`Emulator::clear_faults`] make chosen
//! requests fail (HTTP 500/502/503/429, a delay, a connection dropped mid-body, truncated or
//! malformed JSON, a wrong content type, a `code` other than 0 inside HTTP 200, an oversized
//! body), per operation or path and by a seeded probability: see [`faults`].
//! [`Emulator::requests`] counts the requests received per operation, faulted or not.
//!
//! ## Persistence
//! With [`Config::persist_dir`] the state is saved there after every request and when the
//! emulator is dropped, and an emulator started on the same directory carries on with the
//! same files, uploads, jobs, shares, messages and sessions.
//!
//! ## listPersonalFiles
//! The spec models only `category` of its response (the docs' example is cut off). The
//! emulator puts the page's entries in `files` (each a `FileMetadata`) and the next cursor in
//! `nextCursor`, where the client's paginator looks for it; the last page has none. Entries
//! come in creation order; `sortInfo` is ignored.
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod error;
pub mod faults;
mod persist;
mod server;
pub mod state;

pub use error::ApiError;
pub use faults::{Fault, FaultKind};

/// The operations the emulator implements (operationIds of the spec). Every other documented
/// operation answers HTTP 501 "not supported by the emulator"; a test holds both to it.
pub const EMULATED: &[&str] = &[
    "batchStarFiles",
    "cancelJob",
    "cancelShares",
    "clearRecycleBin",
    "completeFile",
    "createDirectory",
    "createFile",
    "createJob",
    "createSession",
    "createShare",
    "getDirectoryStats",
    "getDownloadUrls",
    "getFile",
    "getFullPath",
    "getJobDetail",
    "getShareByMeDetail",
    "getSpace",
    "getSpaceByContainerId",
    "getUnreadCount",
    "getUploadUrls",
    "getUser",
    "listDepartments",
    "listJobs",
    "listMessages",
    "listPersonalFiles",
    "listShareByMe",
    "listShareWithMe",
    "listStarredFiles",
    "logout",
    "markMessagesRead",
    "refreshSession",
    "renameFile",
    "searchFiles",
    "validateSession",
];

/// How the emulator behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The auth code createSession accepts.
    pub auth_code: String,
    /// How long a token lives after its last use (KooDrive: 20 minutes).
    pub token_lifetime: Duration,
    /// The signed-in user.
    pub user_id: String,
    /// The user's display name.
    pub user_name: String,
    /// The organisation.
    pub org_id: String,
    /// The id of the user's personal space (containerId).
    pub container_id: String,
    /// Entries per listPersonalFiles page when the request names no `pageSize`.
    pub default_page_size: usize,
    /// The largest page, whatever the request asks.
    pub max_page_size: usize,
    /// The largest request body, and so the largest upload part, in bytes; a larger body is
    /// HTTP 413 `{code: 13000101, msg}`.
    pub max_part_bytes: usize,
    /// The space's capacity in bytes: a createFile beyond it is 13000311.
    pub quota_bytes: u64,
    /// The app id that HMAC app auth accepts.
    pub app_id: String,
    /// The app secret that keys HMAC app auth.
    pub app_secret: String,
    /// Faults injected from the start (more with [`Emulator::inject`]).
    pub faults: Vec<Fault>,
    /// The seed of the generator that decides which requests a fault with a probability
    /// below 1 hits.
    pub fault_seed: u64,
    /// Save the state in this directory (`state.json` and `blobs/`) after every request, and
    /// start from what is saved there. `None`: in memory only.
    pub persist_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            auth_code: "emulator-auth-code".into(),
            token_lifetime: Duration::from_secs(20 * 60),
            user_id: "emulator-user".into(),
            user_name: "Emulator User".into(),
            org_id: "emulator-org".into(),
            container_id: "emulator-personal-space".into(),
            default_page_size: 20,
            max_page_size: 100,
            max_part_bytes: 64 * 1024 * 1024,
            quota_bytes: 10 * 1024 * 1024 * 1024,
            app_id: "emulator-app".into(),
            app_secret: "emulator-app-secret".into(),
            faults: vec![],
            fault_seed: 0x6b6f_6f64_7269_7665,
            persist_dir: None,
        }
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    base_url: String,
    addr: SocketAddr,
    inner: Arc<server::Inner>,
    task: tokio::task::JoinHandle<()>,
}

/// How many requests [`Emulator::request_log`] keeps.
pub const REQUEST_LOG_LEN: usize = 1000;

/// One request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// The operation it was counted under (see [`Emulator::requests`]).
    pub operation: &'static str,
    /// The HTTP method.
    pub method: String,
    /// The path as it arrived, percent-encoding untouched.
    pub path: String,
}

/// A session made without HTTP (for the binary's banner and for tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionTokens {
    /// The complete `Authorization` value, `Bearer <token>`.
    pub access_token: String,
    /// The session id, for refreshSession.
    pub session_id: String,
}

impl Emulator {
    /// Bind 127.0.0.1 and serve on the current Tokio runtime. With
    /// [`Config::persist_dir`], start from the state saved there (an unreadable snapshot is
    /// an error).
    pub async fn start(config: Config) -> std::io::Result<Emulator> {
        let (store, world) = match &config.persist_dir {
            Some(dir) => {
                let (store, world) = persist::Store::open(dir)?;
                (Some(Mutex::new(store)), world)
            }
            None => (None, None),
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let faults = faults::Faults::new(config.faults.clone(), config.fault_seed);
        let inner = Arc::new(server::Inner {
            config,
            base_url: base_url.clone(),
            world: Mutex::new(world.unwrap_or_default()),
            faults: Mutex::new(faults),
            counts: Mutex::new(BTreeMap::new()),
            log: Mutex::new(Default::default()),
            store,
        });
        let router = server::router(inner.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("koodrive-emulator: the server stopped: {e}");
            }
        });
        Ok(Emulator {
            base_url,
            addr,
            inner,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: the client's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The auth code createSession accepts.
    pub fn auth_code(&self) -> &str {
        &self.inner.config.auth_code
    }

    /// The personal space's containerId.
    pub fn container_id(&self) -> &str {
        &self.inner.config.container_id
    }

    /// Start a session directly, as createSession would.
    pub fn issue_session(&self) -> SessionTokens {
        let (token, session_id) = self
            .inner
            .world()
            .new_session(&self.inner.config.user_id, self.inner.config.token_lifetime);
        SessionTokens {
            access_token: format!("Bearer {token}"),
            session_id,
        }
    }

    /// The content of a complete file, to check what an upload stored.
    pub fn file_content(&self, file_id: &str) -> Option<Vec<u8>> {
        let world = self.inner.world();
        world
            .nodes
            .get(file_id)
            .filter(|n| n.ready && !n.dir)
            .map(|n| n.data.to_vec())
    }

    /// How many files and folders exist (complete ones only).
    pub fn node_count(&self) -> usize {
        self.inner
            .world()
            .nodes
            .values()
            .filter(|n| n.ready)
            .count()
    }

    /// How many uploads are unfinished.
    pub fn pending_uploads(&self) -> usize {
        self.inner.world().uploads.len()
    }

    /// Bytes counted against the quota (complete files, the recycle bin included, and
    /// unfinished uploads).
    pub fn space_used(&self) -> u64 {
        self.inner.world().space_used()
    }

    /// Add a share that another user made with the signed-in user (listShareWithMe).
    pub fn seed_received_share(&self, share: koodrive_api::types::ShareWithMeLink) {
        self.inner.world().received.push(share);
    }

    /// Leave a message for the user (listMessages), of kind `kind` ("000" sharing, "001"
    /// team, "002" system, "003" management); returns its id.
    pub fn seed_message(&self, kind: &str, text: &str) -> String {
        let mut world = self.inner.world();
        let seq = world.seq();
        let id = format!("M{}", state::random_hex(15));
        world.messages.push(state::Message {
            id: id.clone(),
            seq,
            kind: kind.into(),
            context: text.into(),
            sender: "system".into(),
            created: state::now_rfc3339(),
            read: false,
        });
        id
    }

    /// Add a fault rule (after those already in force: the first that hits a request wins).
    pub fn inject(&self, fault: Fault) {
        self.inner.faults().add(fault);
    }

    /// Remove every fault rule, those from [`Config::faults`] included.
    pub fn clear_faults(&self) {
        self.inner.faults().clear();
    }

    /// How many requests for `operation` (an operationId, or `uploadPart`, `downloadFile`,
    /// `unknown`) the emulator has received, faulted ones included.
    pub fn requests(&self, operation: &str) -> u64 {
        self.inner.counts().get(operation).copied().unwrap_or(0)
    }

    /// Requests received so far, by operation.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.inner.counts().clone()
    }

    /// The latest [`REQUEST_LOG_LEN`] requests received, oldest first.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        let log = self.inner.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect()
    }

    /// Forget the request counts and the request log.
    pub fn reset_request_counts(&self) {
        self.inner.counts().clear();
        self.inner
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Save the state to [`Config::persist_dir`] now (a no-op without one). The emulator also
    /// saves after every request and when dropped.
    pub fn save(&self) -> std::io::Result<()> {
        self.inner.save()
    }

    /// Stop serving (and save, when persisting).
    pub fn stop(self) {}
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
        if let Err(e) = self.inner.save() {
            eprintln!("koodrive-emulator: saving the state failed: {e}");
        }
    }
}
