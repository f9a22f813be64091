//! Optional persistence ([`Config::persist_dir`](crate::Config::persist_dir)): the state as
//! a JSON snapshot, `state.json`, and the bytes of files and upload parts as blobs in
//! `blobs/`, written after every request (and when the emulator is dropped), read when an
//! emulator starts on the same directory. Sessions survive too, so a token issued before a
//! restart still works after it (until it expires: the deadline is wall-clock time).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde::{Deserialize, Serialize};

use crate::state::{Job, Message, Node, Session, Share, Upload, World};

const SNAPSHOT: &str = "state.json";
const BLOBS: &str = "blobs";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    next_seq: u64,
    sessions: Vec<SessionSnap>,
    nodes: Vec<NodeSnap>,
    uploads: Vec<UploadSnap>,
    download_keys: HashMap<String, String>,
    jobs: BTreeMap<String, Job>,
    shares: BTreeMap<String, Share>,
    received: Vec<koodrive_api::types::ShareWithMeLink>,
    messages: Vec<Message>,
}

#[derive(Serialize, Deserialize)]
struct SessionSnap {
    id: String,
    user_id: String,
    token: String,
    /// Milliseconds since the epoch.
    expires_at: u64,
    active: bool,
}

#[derive(Serialize, Deserialize)]
struct NodeSnap {
    id: String,
    name: String,
    parent: String,
    dir: bool,
    file_type: String,
    mime_type: Option<String>,
    /// The blob holding the content, when there is any.
    blob: Option<String>,
    sha256: String,
    seq: u64,
    created: String,
    edited: String,
    ready: bool,
    recycled: bool,
    starred: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct UploadSnap {
    file_id: String,
    length: u64,
    sha256: Option<String>,
    expected: BTreeMap<u32, u64>,
    /// Part number → blob.
    parts: BTreeMap<u32, String>,
    key: String,
}

/// Where the state goes, and which blobs are already on disk: a clone of the bytes written
/// under each name. Unchanged content (the same allocation, which `Bytes` clones share, and
/// which the clone held here keeps from being reused) is not written again.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    written: HashMap<String, Bytes>,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

fn same(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

impl Store {
    /// Open (creating) `dir`, and load the state saved there, if any.
    pub fn open(dir: &Path) -> io::Result<(Store, Option<World>)> {
        std::fs::create_dir_all(dir.join(BLOBS))?;
        let mut store = Store {
            dir: dir.to_owned(),
            written: HashMap::new(),
        };
        let path = dir.join(SNAPSHOT);
        let world = match std::fs::read(&path) {
            Ok(text) => Some(store.load(&text)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok((store, world))
    }

    fn read_blob(&mut self, name: &str) -> io::Result<Bytes> {
        let data = Bytes::from(std::fs::read(self.dir.join(BLOBS).join(name))?);
        self.written.insert(name.to_owned(), data.clone());
        Ok(data)
    }

    fn load(&mut self, text: &[u8]) -> io::Result<World> {
        let snap: Snapshot = serde_json::from_slice(text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{SNAPSHOT}: {e}")))?;
        if snap.version != VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{SNAPSHOT}: version {} is not {VERSION}", snap.version),
            ));
        }
        let mut world = World {
            next_seq: snap.next_seq,
            download_keys: snap.download_keys,
            jobs: snap.jobs,
            shares: snap.shares,
            received: snap.received,
            messages: snap.messages,
            ..World::default()
        };
        let (now, wall) = (Instant::now(), unix_ms(SystemTime::now()));
        for s in snap.sessions {
            if s.active {
                world.tokens.insert(s.token.clone(), s.id.clone());
            }
            let left = Duration::from_millis(s.expires_at.saturating_sub(wall));
            world.sessions.insert(
                s.id,
                Session {
                    user_id: s.user_id,
                    token: s.token,
                    expires_at: now + left,
                    active: s.active,
                },
            );
        }
        for n in snap.nodes {
            let data = match &n.blob {
                Some(b) => self.read_blob(b)?,
                None => Bytes::new(),
            };
            world.nodes.insert(
                n.id.clone(),
                Node {
                    id: n.id,
                    name: n.name,
                    parent: n.parent,
                    dir: n.dir,
                    file_type: n.file_type,
                    mime_type: n.mime_type,
                    data,
                    sha256: n.sha256,
                    seq: n.seq,
                    created: n.created,
                    edited: n.edited,
                    ready: n.ready,
                    recycled: n.recycled,
                    starred: n.starred,
                },
            );
        }
        for u in snap.uploads {
            let mut parts = BTreeMap::new();
            for (n, blob) in &u.parts {
                parts.insert(*n, self.read_blob(blob)?);
            }
            world.uploads.insert(
                u.file_id,
                Upload {
                    length: u.length,
                    sha256: u.sha256,
                    expected: u.expected,
                    parts,
                    key: u.key,
                },
            );
        }
        Ok(world)
    }

    /// Write `data` as blob `name` unless that very content is already there.
    fn blob(&mut self, name: String, data: &Bytes, live: &mut HashSet<String>) -> io::Result<()> {
        if !self.written.get(&name).is_some_and(|w| same(w, data)) {
            let path = self.dir.join(BLOBS).join(&name);
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, data)?;
            std::fs::rename(&tmp, &path)?;
            self.written.insert(name.clone(), data.clone());
        }
        live.insert(name);
        Ok(())
    }

    /// Write the state: new blobs first, then the snapshot (atomically), then remove the
    /// blobs nothing refers to any more.
    pub fn save(&mut self, world: &World) -> io::Result<()> {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut live = HashSet::new();
        let sessions = world
            .sessions
            .iter()
            .map(|(id, s)| SessionSnap {
                id: id.clone(),
                user_id: s.user_id.clone(),
                token: s.token.clone(),
                expires_at: unix_ms(wall + s.expires_at.saturating_duration_since(now)),
                active: s.active,
            })
            .collect();
        let mut nodes = Vec::with_capacity(world.nodes.len());
        for n in world.nodes.values() {
            let blob = if n.data.is_empty() {
                None
            } else {
                let name = format!("node-{}", n.id);
                self.blob(name.clone(), &n.data, &mut live)?;
                Some(name)
            };
            nodes.push(NodeSnap {
                id: n.id.clone(),
                name: n.name.clone(),
                parent: n.parent.clone(),
                dir: n.dir,
                file_type: n.file_type.clone(),
                mime_type: n.mime_type.clone(),
                blob,
                sha256: n.sha256.clone(),
                seq: n.seq,
                created: n.created.clone(),
                edited: n.edited.clone(),
                ready: n.ready,
                recycled: n.recycled,
                starred: n.starred,
            });
        }
        nodes.sort_by_key(|n| n.seq);
        let mut uploads = Vec::with_capacity(world.uploads.len());
        for (file_id, u) in &world.uploads {
            let mut parts = BTreeMap::new();
            for (n, data) in &u.parts {
                let name = format!("part-{file_id}-{n}");
                self.blob(name.clone(), data, &mut live)?;
                parts.insert(*n, name);
            }
            uploads.push(UploadSnap {
                file_id: file_id.clone(),
                length: u.length,
                sha256: u.sha256.clone(),
                expected: u.expected.clone(),
                parts,
                key: u.key.clone(),
            });
        }
        let snap = Snapshot {
            version: VERSION,
            next_seq: world.next_seq,
            sessions,
            nodes,
            uploads,
            download_keys: world.download_keys.clone(),
            jobs: world.jobs.clone(),
            shares: world.shares.clone(),
            received: world.received.clone(),
            messages: world.messages.clone(),
        };
        let text = serde_json::to_vec(&snap).map_err(io::Error::other)?;
        let path = self.dir.join(SNAPSHOT);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        let dead: Vec<String> = self
            .written
            .keys()
            .filter(|k| !live.contains(*k))
            .cloned()
            .collect();
        for name in dead {
            self.written.remove(&name);
            let _ = std::fs::remove_file(self.dir.join(BLOBS).join(name));
        }
        Ok(())
    }
}
