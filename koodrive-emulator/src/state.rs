//! The emulator's in-memory state: sessions, the file tree, unfinished uploads, jobs, shares
//! and messages.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;

use crate::error::{
    ApiError, DUPLICATE_FILE_NAME, FILE_IN_RECYCLE_BIN, RESOURCE_NOT_FOUND, TARGET_IN_RECYCLE_BIN,
};

/// The id of the root folder of the personal space.
pub const ROOT: &str = "root";

/// A random lower-case hex string of `len` characters. Unpredictable enough for an emulator
/// (std's randomly keyed SipHash and a counter); not for real secrets.
pub fn random_hex(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = RandomState::new();
    let mut out = String::with_capacity(len + 16);
    let mut i = 0u64;
    while out.len() < len {
        let mut h = state.build_hasher();
        h.write_u64(n);
        h.write_u64(i);
        out.push_str(&format!("{:016x}", h.finish()));
        i += 1;
    }
    out.truncate(len);
    out
}

/// Now as RFC 3339 UTC with milliseconds (`2025-01-31T12:00:00.000Z`).
pub fn now_rfc3339() -> String {
    let now = SystemTime::now();
    let t = koodrive_api::auth::UtcTime::of(now);
    let millis = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_millis();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The token part of an `Authorization` value (`Bearer x`, `Bearer+x` or a bare `x`).
pub fn token_key(authorization: &str) -> &str {
    let t = authorization.trim();
    t.strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("Bearer+"))
        .unwrap_or(t)
        .trim()
}

/// One user session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user it belongs to.
    pub user_id: String,
    /// The current token key (without `Bearer `).
    pub token: String,
    /// When the token expires unless used again (the lifetime slides with each call).
    pub expires_at: Instant,
    /// False after logout.
    pub active: bool,
}

/// A file or folder.
#[derive(Debug, Clone)]
pub struct Node {
    /// The file id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The parent folder id ([`ROOT`] at the top).
    pub parent: String,
    /// A folder.
    pub dir: bool,
    /// `fileType` as sent at creation ("10" for folders).
    pub file_type: String,
    /// `mimeType` as sent at creation.
    pub mime_type: Option<String>,
    /// The content (files, once complete).
    pub data: Bytes,
    /// Hex SHA-256 of the content (files, once complete).
    pub sha256: String,
    /// Creation order; also the list cursor.
    pub seq: u64,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub edited: String,
    /// False while a file's upload is unfinished: not listed, not downloadable.
    pub ready: bool,
    /// Deleted to the recycle bin (its descendants go with it without being marked).
    pub recycled: bool,
    /// When it was starred (a `seq`, the favourites cursor); `None` when not a favourite.
    pub starred: Option<u64>,
}

/// An unfinished upload.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The declared length.
    pub length: u64,
    /// The SHA-256 createFile announced, if any.
    pub sha256: Option<String>,
    /// Part sizes announced by getUploadUrls.
    pub expected: BTreeMap<u32, u64>,
    /// Parts received.
    pub parts: BTreeMap<u32, Bytes>,
    /// The secret in the part URLs.
    pub key: String,
}

/// Everything the emulator holds.
#[derive(Debug, Default)]
pub struct World {
    /// Sessions by session id.
    pub sessions: HashMap<String, Session>,
    /// Session id by token key.
    pub tokens: HashMap<String, String>,
    /// Files and folders by id.
    pub nodes: HashMap<String, Node>,
    /// Unfinished uploads by file id.
    pub uploads: HashMap<String, Upload>,
    /// Download keys by file id.
    pub download_keys: HashMap<String, String>,
    /// The next `seq`.
    pub next_seq: u64,
    /// Batch jobs by id.
    pub jobs: BTreeMap<String, Job>,
    /// Shares made by the user, by id.
    pub shares: BTreeMap<String, Share>,
    /// Shares received by the user (seeded through [`crate::Emulator::seed_received_share`]).
    pub received: Vec<koodrive_api::types::ShareWithMeLink>,
    /// The user's messages, oldest first.
    pub messages: Vec<Message>,
}

/// A batch job (createJob).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// The job id.
    pub id: String,
    /// Creation order (listJobs order).
    pub seq: u64,
    /// 1 copy, 2 delete, 3 move, 4 restore, 7 clear the recycle bin.
    pub task_type: i32,
    /// 101, 201, 202, 301 or 701.
    pub action_type: i32,
    /// The files and folders the job works on.
    pub files: Vec<String>,
    /// The destination folder (copy, move).
    pub destination: Option<String>,
    /// The target space.
    pub container_id: String,
    /// 0 pending, 1 processing, 2 completed, 3 cancelled.
    pub status: i32,
    /// How often getJobDetail or listJobs has looked at it.
    pub polls: u32,
    /// 1 all succeeded, 2 partly failed, 3 all failed (once completed).
    pub task_result_code: Option<i32>,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339, once processing.
    pub begin: Option<String>,
    /// RFC 3339, once completed or cancelled.
    pub end: Option<String>,
}

/// A share made by the user (createShare).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Share {
    /// The share id.
    pub id: String,
    /// Creation order (the listShareByMe cursor).
    pub seq: u64,
    /// The shared files and folders.
    pub file_ids: Vec<String>,
    /// The request's scope.
    pub scope: i32,
    /// The comment.
    pub comment: Option<String>,
    /// The extraction code.
    pub extract_code: Option<String>,
    /// What recipients may do.
    pub permission: Option<koodrive_api::types::SharePermission>,
    /// Recipients (user ids).
    pub user_ids: Vec<String>,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub expires: String,
    /// The short URL.
    pub short_url: String,
}

/// A message to the user.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// The message id.
    pub id: String,
    /// The order (the listMessages cursor).
    pub seq: u64,
    /// "000" sharing, "001" team, "002" system, "003" management.
    pub kind: String,
    /// The text.
    pub context: String,
    /// Who sent it.
    pub sender: String,
    /// RFC 3339.
    pub created: String,
    /// Read.
    pub read: bool,
}

impl World {
    /// Start a session for `user_id`; returns (token key, session id).
    pub fn new_session(&mut self, user_id: &str, lifetime: Duration) -> (String, String) {
        let token = random_hex(48);
        let session_id = random_hex(32);
        self.sessions.insert(
            session_id.clone(),
            Session {
                user_id: user_id.to_owned(),
                token: token.clone(),
                expires_at: Instant::now() + lifetime,
                active: true,
            },
        );
        self.tokens.insert(token.clone(), session_id.clone());
        (token, session_id)
    }

    /// The session an `Authorization` value belongs to, checked and its lifetime extended.
    pub fn authenticate(
        &mut self,
        authorization: Option<&str>,
        lifetime: Duration,
    ) -> Result<(String, Session), ApiError> {
        let Some(auth) = authorization else {
            return Err(ApiError::unauthorized(
                "the Authorization header is missing",
            ));
        };
        let key = token_key(auth);
        let session_id = self
            .tokens
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("the access token is not valid"))?;
        let session = self
            .sessions
            .get_mut(&session_id)
            .ok_or_else(|| ApiError::unauthorized("the session does not exist"))?;
        if !session.active {
            return Err(ApiError::unauthorized("the session has been logged out"));
        }
        let now = Instant::now();
        if now >= session.expires_at {
            return Err(ApiError::unauthorized("the access token has expired"));
        }
        session.expires_at = now + lifetime;
        Ok((session_id, session.clone()))
    }

    /// A fresh `seq`.
    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The folder `id` ([`ROOT`] or a folder node), outside the recycle bin.
    pub fn folder(&self, id: &str) -> Result<(), ApiError> {
        if id == ROOT {
            return Ok(());
        }
        match self.nodes.get(id) {
            Some(n) if n.dir && self.in_recycle_bin(id) => Err(ApiError::bad(
                TARGET_IN_RECYCLE_BIN,
                format!("the folder {id} is in the recycle bin"),
            )),
            Some(n) if n.dir => Ok(()),
            Some(_) => Err(ApiError::bad(
                RESOURCE_NOT_FOUND,
                format!("{id} is not a folder"),
            )),
            None => Err(ApiError::bad(RESOURCE_NOT_FOUND, format!("no folder {id}"))),
        }
    }

    /// Whether `id` or one of its ancestors is in the recycle bin.
    pub fn in_recycle_bin(&self, id: &str) -> bool {
        let mut cur = id;
        // The tree is acyclic; the bound only guards against a corrupted one.
        for _ in 0..10_000 {
            match self.nodes.get(cur) {
                Some(n) if n.recycled => return true,
                Some(n) => cur = &n.parent,
                None => return false,
            }
        }
        false
    }

    /// The ids of `id`'s descendants (complete ones), depth first.
    pub fn descendants(&self, id: &str) -> Vec<String> {
        let mut out = vec![];
        let mut stack = vec![id.to_owned()];
        while let Some(cur) = stack.pop() {
            for n in self.nodes.values().filter(|n| n.parent == cur && n.ready) {
                out.push(n.id.clone());
                stack.push(n.id.clone());
            }
        }
        out
    }

    /// Bytes held by complete files (the recycle bin included) and announced by unfinished
    /// uploads: what counts against the quota.
    pub fn space_used(&self) -> u64 {
        let stored: u64 = self
            .nodes
            .values()
            .filter(|n| n.ready && !n.dir)
            .map(|n| n.data.len() as u64)
            .sum();
        let pending: u64 = self.uploads.values().map(|u| u.length).sum();
        stored + pending
    }

    /// A complete file or folder outside the recycle bin, by id.
    pub fn live_node(&self, id: &str) -> Result<&Node, ApiError> {
        let node = self.node(id)?;
        if self.in_recycle_bin(id) {
            return Err(ApiError::bad(
                FILE_IN_RECYCLE_BIN,
                format!("the file {id} is in the recycle bin"),
            ));
        }
        Ok(node)
    }

    /// A complete file or a folder by id.
    pub fn node(&self, id: &str) -> Result<&Node, ApiError> {
        self.nodes
            .get(id)
            .filter(|n| n.ready)
            .ok_or_else(|| ApiError::bad(RESOURCE_NOT_FOUND, format!("no file {id}")))
    }

    /// The complete sibling named `name` in `parent`, other than `except`.
    pub fn sibling(&self, parent: &str, name: &str, except: Option<&str>) -> Option<&Node> {
        self.nodes.values().find(|n| {
            n.ready
                && !n.recycled
                && n.parent == parent
                && n.name == name
                && Some(n.id.as_str()) != except
        })
    }

    /// The name to use in `parent` under a clash policy: `rename` appends a timestamp when
    /// the name is taken, otherwise a taken name is 13000405.
    pub fn free_name(
        &self,
        parent: &str,
        name: &str,
        rename: bool,
        except: Option<&str>,
    ) -> Result<String, ApiError> {
        if self.sibling(parent, name, except).is_none() {
            return Ok(name.to_owned());
        }
        if !rename {
            return Err(ApiError::bad(
                DUPLICATE_FILE_NAME,
                format!("duplicate file name: {name}"),
            ));
        }
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => name.split_at(i),
            _ => (name, ""),
        };
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let mut n = 0u32;
        loop {
            let candidate = match n {
                0 => format!("{stem}_{millis}{ext}"),
                _ => format!("{stem}_{millis}_{n}{ext}"),
            };
            if self.sibling(parent, &candidate, except).is_none() {
                return Ok(candidate);
            }
            n += 1;
        }
    }
}
