//! Uploading a file: createFile, getUploadUrls for the parts, a `PUT` of each part to its
//! pre-signed URL, then completeFile with the SHA-256.
//!
//! - **Instant ("flash") upload.** From a path ([`Client::upload_file`], with
//!   [`UploadOptions::instant_upload`] on, the default), the file is read once to hash it, and
//!   createFile carries its SHA-256 and the hash of its first 1 KiB; when the server already
//!   has the content, it answers `rapidUpload: true` and nothing is sent. That pass costs one
//!   extra read of the file and one SHA-256 of it before the first byte goes out (see
//!   `BENCHMARKS.md`); turn it off for content the server cannot have. From an `AsyncRead`
//!   ([`Client::upload_reader`], one pass) the hash is known only at the end, so there is no
//!   instant upload.
//! - **Parts.** The data is read in parts of [`UploadOptions::part_size`] (5 MiB to 5 GiB, a
//!   multiple of 64 bytes; the last part may be shorter). Each part's request carries
//!   `hashCtx`, the SHA-256 state after the data before it, which is what lets KooDrive accept
//!   parts uploaded in parallel. When the hash pass has run, every `hashCtx` is known before
//!   the upload starts: the URLs are asked for in batches ([`URL_BATCH`] parts a request, the
//!   next batch while the current one is being sent) and nothing is hashed while sending. In
//!   one pass, each part is hashed on a blocking thread while it is being sent, and the URL of
//!   the next part is asked for as soon as its `hashCtx` is known.
//! - **Concurrency and memory.** At most [`UploadOptions::concurrency`] parts are in flight;
//!   the next one is read only when a slot is free. Part data in memory is bounded by
//!   `concurrency × part_size`, whatever the file size ([`UploadOutcome::peak_buffered`]
//!   reports what was used).
//! - **The `PUT`s** go to the pre-signed object-storage URL with no KooDrive header (no
//!   Authorization, no trace id), each retried on its own with the client's backoff.
//! - **A file that changes during the upload.** The digest was taken in the hash pass; if the
//!   file's length or modification time differ after the last part was read, the upload fails
//!   before completeFile (and KooDrive's own integrity check at completeFile catches a change
//!   that left both alone).
//! - **What resumes and what restarts.** A part that fails is retried (same URL, same bytes)
//!   up to the retry policy's attempts; the other parts are not resent. If a part still fails,
//!   or the process stops, the upload fails: nothing is kept on disk about it, and a new
//!   `upload` starts over with a new createFile (KooDrive documents no way to list the parts
//!   of an unfinished upload).

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use crate::error::Error;
use crate::operation::OperationExt;
use crate::{types, Client};

/// The smallest part KooDrive accepts (but for the last one): 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Parts asked for in one getUploadUrls request when their `hashCtx` is known in advance.
/// Small enough that a URL is used long before its hour is up.
pub const URL_BATCH: u32 = 8;

/// Progress of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes transferred so far.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How to upload.
#[derive(Clone)]
pub struct UploadOptions {
    /// Part size (default 8 MiB): 5 MiB to 5 GiB, a multiple of 64 bytes.
    pub part_size: u64,
    /// Parts in flight at once (default 4).
    pub concurrency: usize,
    /// `autoRename` of createFile: 2 rename, 3 fail, 4 skip when identical (default: the
    /// server's choice).
    pub auto_rename: Option<i32>,
    /// `fileType` of createFile (default "45", other).
    pub file_type: String,
    /// [`Client::upload_file`] only: hash the file before createFile so that the server can
    /// answer with an instant upload (default true). Off, the file is read once and hashed
    /// while it is sent.
    pub instant_upload: bool,
    /// Called after each part.
    pub progress: Option<ProgressFn>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            part_size: 8 * 1024 * 1024,
            concurrency: 4,
            auto_rename: None,
            file_type: "45".into(),
            instant_upload: true,
            progress: None,
        }
    }
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("auto_rename", &self.auto_rename)
            .field("file_type", &self.file_type)
            .field("instant_upload", &self.instant_upload)
            .finish_non_exhaustive()
    }
}

/// Where the file goes.
#[derive(Clone, Debug)]
pub struct UploadTarget {
    /// The space (containerId).
    pub container_id: String,
    /// The parent folder id (`root` for the space's root).
    pub parent_folder: String,
    /// The file name (at most 250 characters).
    pub file_name: String,
}

/// What an upload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOutcome {
    /// The new file's id.
    pub file_id: String,
    /// True when the server already had the content (nothing was sent).
    pub instant: bool,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Parts sent.
    pub parts: u32,
    /// The most part data held in memory at once, in bytes.
    pub peak_buffered: u64,
}

/// SHA-256 whose intermediate state can be read at 64-byte boundaries (`hashCtx`).
#[derive(Clone, Debug)]
pub struct Sha256State {
    state: [u32; 8],
    buffer: Vec<u8>,
    length: u64,
}

impl Default for Sha256State {
    fn default() -> Self {
        Sha256State {
            state: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            buffer: Vec::with_capacity(64),
            length: 0,
        }
    }
}

/// Blocks handed to the compression function at once (copied through a 4 KiB stack array:
/// `sha2` takes `GenericArray` blocks, and that copy costs far less than the hashing).
const BLOCKS_AT_ONCE: usize = 64;

impl Sha256State {
    /// Add data.
    pub fn update(&mut self, mut data: &[u8]) {
        use sha2::digest::generic_array::GenericArray;
        self.length += data.len() as u64;
        if !self.buffer.is_empty() {
            let take = (64 - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == 64 {
                sha2::compress256(&mut self.state, &[*GenericArray::from_slice(&self.buffer)]);
                self.buffer.clear();
            }
        }
        let whole = data.len() / 64 * 64;
        let mut blocks = [GenericArray::<u8, _>::default(); BLOCKS_AT_ONCE];
        for run in data[..whole].chunks(64 * BLOCKS_AT_ONCE) {
            let n = run.len() / 64;
            for (block, bytes) in blocks.iter_mut().zip(run.chunks_exact(64)) {
                block.copy_from_slice(bytes);
            }
            sha2::compress256(&mut self.state, &blocks[..n]);
        }
        self.buffer.extend_from_slice(&data[whole..]);
    }

    /// The eight state words, when the data so far is a multiple of 64 bytes.
    pub fn context(&self) -> Option<[u32; 8]> {
        self.buffer.is_empty().then_some(self.state)
    }

    /// The digest, in lower-case hex.
    pub fn finish_hex(mut self) -> String {
        let bits = self.length.wrapping_mul(8);
        let mut tail = std::mem::take(&mut self.buffer);
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes());
        let blocks: Vec<_> = tail
            .chunks_exact(64)
            .map(|c| *sha2::digest::generic_array::GenericArray::from_slice(c))
            .collect();
        sha2::compress256(&mut self.state, &blocks);
        self.state.iter().map(|w| format!("{w:08x}")).collect()
    }
}

fn invalid(operation_id: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidRequest {
        operation_id,
        reason: reason.into(),
    }
}

fn io_error(e: std::io::Error) -> Error {
    invalid("upload", format!("reading the data failed: {e}"))
}

fn task_failed(e: tokio::task::JoinError) -> Error {
    invalid("upload", format!("an upload task failed: {e}"))
}

fn check_part_size(part_size: u64) -> Result<(), Error> {
    if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) || !part_size.is_multiple_of(64) {
        return Err(invalid(
            "createFile",
            format!("part size {part_size} must be 5 MiB to 5 GiB and a multiple of 64 bytes"),
        ));
    }
    Ok(())
}

/// How the content splits into parts.
#[derive(Clone, Copy, Debug)]
struct Plan {
    length: u64,
    part_size: u64,
    /// At least one (an empty file is one empty part).
    parts: u32,
}

impl Plan {
    fn new(length: u64, part_size: u64) -> Result<Plan, Error> {
        let parts = u32::try_from(length.div_ceil(part_size).max(1))
            .map_err(|_| invalid("createFile", "too many parts: raise the part size"))?;
        Ok(Plan {
            length,
            part_size,
            parts,
        })
    }

    fn offset(&self, index: u32) -> u64 {
        u64::from(index) * self.part_size
    }

    fn size(&self, index: u32) -> u64 {
        self.part_size.min(self.length - self.offset(index))
    }
}

/// What identifies a file's content cheaply: its length and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp(u64, Option<SystemTime>);

impl Stamp {
    fn of(file: &std::fs::File) -> std::io::Result<Stamp> {
        let m = file.metadata()?;
        Ok(Stamp(m.len(), m.modified().ok()))
    }
}

/// What the hash pass learns about a file.
struct FileDigest {
    sha256: String,
    pre_hash: String,
    /// The SHA-256 state before each part.
    contexts: Vec<[u32; 8]>,
    stamp: Stamp,
}

/// An I/O error on a file, naming the file.
fn file_error(path: &Path, e: std::io::Error) -> Error {
    io_error(std::io::Error::new(
        e.kind(),
        format!("{}: {e}", path.display()),
    ))
}

/// The hash pass (blocking): the digest, the hash of the first KiB and every part's
/// `hashCtx`, in one read of `file` from its start (`path` names it in errors). Leaves the
/// file positioned at its start again, for the upload.
fn digest_file(file: &mut std::fs::File, path: &Path, part_size: u64) -> Result<FileDigest, Error> {
    use sha2::Digest;
    use std::io::Seek;
    let fail = |e| file_error(path, e);
    let stamp = Stamp::of(file).map_err(fail)?;
    let mut state = Sha256State::default();
    let mut contexts = vec![state.state];
    let mut first_kib = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    loop {
        // Stop at each part boundary to record the state there.
        let to_boundary = part_size - offset % part_size;
        let want = (chunk.len() as u64).min(to_boundary) as usize;
        let n = file.read(&mut chunk[..want]).map_err(fail)?;
        if n == 0 {
            break;
        }
        if first_kib.len() < 1024 {
            let take = (1024 - first_kib.len()).min(n);
            first_kib.extend_from_slice(&chunk[..take]);
        }
        state.update(&chunk[..n]);
        offset += n as u64;
        if offset.is_multiple_of(part_size) {
            contexts.push(state.context().expect("parts are multiples of 64 bytes"));
        }
    }
    if Stamp::of(file).map_err(fail)? != stamp || offset != stamp.0 {
        return Err(invalid(
            "upload",
            format!("{} changed while it was being hashed", path.display()),
        ));
    }
    file.rewind().map_err(fail)?;
    Ok(FileDigest {
        sha256: state.finish_hex(),
        pre_hash: hex(&sha2::Sha256::digest(&first_kib)),
        contexts,
        stamp,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the parts' bytes come from.
trait PartSource: Send {
    /// The next `len` bytes (fewer only at the end of the input), read into `buf` (emptied
    /// first; its allocation is reused).
    fn read(
        &mut self,
        len: u64,
        buf: Vec<u8>,
    ) -> impl Future<Output = std::io::Result<Bytes>> + Send;
    /// After the last part: fail if the data may have changed since it was hashed.
    fn check_unchanged(&mut self) -> impl Future<Output = Result<(), Error>> + Send;
}

struct ReaderSource<R>(R);

impl<R: AsyncRead + Unpin + Send> PartSource for ReaderSource<R> {
    async fn read(&mut self, len: u64, mut buf: Vec<u8>) -> std::io::Result<Bytes> {
        buf.clear();
        buf.reserve_exact(len as usize);
        (&mut self.0).take(len).read_to_end(&mut buf).await?;
        Ok(buf.into())
    }

    async fn check_unchanged(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// A file read part by part on a blocking thread (one hop a part, no copy).
struct FileSource {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// What the file looked like when it was hashed, if it was.
    stamp: Option<Stamp>,
}

impl PartSource for FileSource {
    async fn read(&mut self, len: u64, mut buf: Vec<u8>) -> std::io::Result<Bytes> {
        let mut file = self.file.take().ok_or_else(|| {
            std::io::Error::other("an earlier read of this file failed or was cancelled")
        })?;
        let (file, result) = tokio::task::spawn_blocking(move || {
            buf.clear();
            buf.reserve_exact(len as usize);
            let result = (&mut file).take(len).read_to_end(&mut buf).map(|_| buf);
            (file, result)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.file = Some(file);
        result
            .map(Bytes::from)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }

    async fn check_unchanged(&mut self) -> Result<(), Error> {
        let (Some(file), Some(stamp)) = (&self.file, self.stamp) else {
            return Ok(());
        };
        if Stamp::of(file).map_err(|e| file_error(&self.path, e))? != stamp {
            return Err(invalid(
                "completeFile",
                format!(
                    "{} changed while it was being uploaded (its length or modification time \
                     differ from when it was hashed); the upload was not completed",
                    self.path.display()
                ),
            ));
        }
        Ok(())
    }
}

/// The upload URLs, asked for ahead of need.
struct UrlQueue {
    client: Client,
    file_id: String,
    plan: Plan,
    /// Parts `0..requested` have been asked for.
    requested: u32,
    ready: HashMap<u32, String>,
    /// At most one getUploadUrls request at a time.
    pending: JoinSet<Result<Vec<(u32, String)>, Error>>,
}

impl UrlQueue {
    /// Ask for the next parts whose `hashCtx` is known (`contexts[i]` is the state before
    /// part `i`), unless a request is already out.
    fn ask(&mut self, contexts: &[[u32; 8]]) {
        if !self.pending.is_empty() {
            return;
        }
        let end = (self.requested + URL_BATCH)
            .min(contexts.len() as u32)
            .min(self.plan.parts);
        if end <= self.requested {
            return;
        }
        let parts: Vec<types::MultiPartInfo> = (self.requested..end)
            .map(|i| types::MultiPartInfo {
                hash_ctx: if i == 0 {
                    vec![]
                } else {
                    contexts[i as usize].iter().map(|w| i64::from(*w)).collect()
                },
                part_id: None,
                part_number: std::num::NonZeroU32::new(i + 1).expect("numbers start at 1"),
                part_offset: Some(self.plan.offset(i) as i64),
                part_size: self.plan.size(i) as i64,
                upload_url: None,
            })
            .collect();
        self.requested = end;
        let (client, file_id) = (self.client.clone(), self.file_id.clone());
        self.pending
            .spawn(async move { request_urls(&client, file_id, parts).await });
    }

    /// The URL of part `index` (waiting for its request, asking for it first if need be).
    async fn url(&mut self, index: u32, contexts: &[[u32; 8]]) -> Result<String, Error> {
        loop {
            if let Some(url) = self.ready.remove(&index) {
                return Ok(url);
            }
            self.ask(contexts);
            let got = match self.pending.join_next().await {
                Some(result) => result.map_err(task_failed)??,
                None => {
                    return Err(invalid(
                        "getUploadUrls",
                        format!("part {} has no hashCtx yet", index + 1),
                    ))
                }
            };
            self.ready.extend(got);
        }
    }
}

/// One getUploadUrls request: the URL of every part asked for, by index.
async fn request_urls(
    client: &Client,
    file_id: String,
    parts: Vec<types::MultiPartInfo>,
) -> Result<Vec<(u32, String)>, Error> {
    let asked: Vec<u32> = parts.iter().map(|p| p.part_number.get()).collect();
    let answer = client
        .get_upload_urls()
        .body(types::GetUploadUrlsRequest {
            file_id,
            multi_parts: parts,
        })
        .call()
        .await?;
    asked
        .iter()
        .map(|&number| {
            let found = answer
                .multi_parts
                .iter()
                .find(|p| p.part_number.get() == number)
                // One part asked for, one answered: that is it, whatever its number says.
                .or_else(|| {
                    (asked.len() == 1 && answer.multi_parts.len() == 1)
                        .then(|| &answer.multi_parts[0])
                });
            found
                .and_then(|p| p.upload_url.clone())
                .map(|url| (number - 1, url))
                .ok_or_else(|| Error::Decode {
                    operation_id: "getUploadUrls",
                    status: Some(200),
                    path: "multiParts[].uploadUrl".into(),
                    message: format!("no upload URL for part {number}"),
                    body: String::new(),
                })
        })
        .collect()
}

impl Client {
    /// Upload a file from disk. With [`UploadOptions::instant_upload`] (the default), the file
    /// is hashed first so that the server can skip the transfer when it has the content.
    pub async fn upload_file(
        &self,
        path: &Path,
        target: UploadTarget,
        options: UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        check_part_size(options.part_size)?;
        // One handle for the hash pass and the parts (blocking I/O on a blocking thread).
        let (part_size, instant) = (options.part_size, options.instant_upload);
        let owned = path.to_path_buf();
        let (path, file, digest) = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&owned).map_err(|e| file_error(&owned, e))?;
            let digest = if instant {
                Some(digest_file(&mut file, &owned, part_size)?)
            } else {
                None
            };
            Ok::<_, Error>((owned, file, digest))
        })
        .await
        .map_err(task_failed)??;
        let length = match &digest {
            Some(d) => d.stamp.0,
            None => file.metadata().map_err(|e| file_error(&path, e))?.len(),
        };
        let source = FileSource {
            path,
            file: Some(file),
            stamp: digest.as_ref().map(|d| d.stamp),
        };
        self.upload_inner(source, length, target, options, digest)
            .await
    }

    /// Upload `length` bytes from any reader, in one pass (no instant upload).
    pub async fn upload_reader<R: AsyncRead + Unpin + Send>(
        &self,
        reader: R,
        length: u64,
        target: UploadTarget,
        options: UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        check_part_size(options.part_size)?;
        self.upload_inner(ReaderSource(reader), length, target, options, None)
            .await
    }

    async fn upload_inner<S: PartSource>(
        &self,
        mut source: S,
        length: u64,
        target: UploadTarget,
        options: UploadOptions,
        known: Option<FileDigest>,
    ) -> Result<UploadOutcome, Error> {
        let plan = Plan::new(length, options.part_size)?;
        let concurrency = options.concurrency.max(1);
        let file_name = types::CreateFileRequestFileName::try_from(target.file_name.as_str())
            .map_err(|e| invalid("createFile", format!("file name: {e}")))?;
        let auto_rename = match options.auto_rename {
            Some(v) => Some(
                types::CreateFileRequestAutoRename::try_from(v)
                    .map_err(|e| invalid("createFile", format!("autoRename: {e}")))?,
            ),
            None => None,
        };
        let created = self
            .create_file()
            .body(types::CreateFileRequest {
                auto_rename,
                container_id: target.container_id.clone(),
                created_time: None,
                description: None,
                file_name,
                file_type: options.file_type.clone(),
                length: i64::try_from(length)
                    .map_err(|_| invalid("createFile", "length out of range"))?,
                mime_type: None,
                multi_parts: vec![],
                parent_folder: vec![target.parent_folder.clone()],
                pre_hash: known.as_ref().map(|k| k.pre_hash.clone()),
                sha256: known.as_ref().map(|k| k.sha256.clone()),
                upload_mode: Some(types::CreateFileRequestUploadMode::Multipart),
                upload_type: Some(1.try_into().expect("1 is a documented uploadType")),
            })
            .call()
            .await?;
        let file_id = created.file_id.clone().ok_or_else(|| Error::Decode {
            operation_id: "createFile",
            status: Some(200),
            path: "fileId".into(),
            message: "createFile returned no fileId".into(),
            body: String::new(),
        })?;
        if created.rapid_upload == Some(true) || created.exist == Some(true) {
            if let Some(p) = &options.progress {
                p(Progress {
                    done: length,
                    total: length,
                });
            }
            return Ok(UploadOutcome {
                file_id,
                instant: true,
                sha256: known.map(|k| k.sha256).unwrap_or_default(),
                parts: 0,
                peak_buffered: 0,
            });
        }

        // Known digest: every hashCtx is there already. One pass: hash as we go.
        let (mut contexts, mut hasher, known_sha) = match known {
            Some(k) => (k.contexts, None, Some(k.sha256)),
            None => {
                let start = Sha256State::default();
                (vec![start.state], Some(start), None)
            }
        };
        let mut urls = UrlQueue {
            client: self.clone(),
            file_id: file_id.clone(),
            plan,
            requested: 0,
            ready: HashMap::new(),
            pending: JoinSet::new(),
        };
        urls.ask(&contexts);

        let buffered = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        // Each part task hands its buffer back when done: the allocations are reused, so at
        // most `concurrency` part buffers ever exist (whatever the allocator does with freed
        // memory).
        let mut in_flight: JoinSet<Result<Bytes, Error>> = JoinSet::new();
        let mut free: Vec<Vec<u8>> = Vec::with_capacity(concurrency);
        for index in 0..plan.parts {
            // Keep at most `concurrency` parts in flight.
            while in_flight.len() >= concurrency {
                if let Some(result) = in_flight.join_next().await {
                    recycle(result.map_err(task_failed)??, &mut free);
                }
            }
            let want = plan.size(index);
            let buf = free.pop().unwrap_or_default();
            let data = source.read(want, buf).await.map_err(io_error)?;
            if (data.len() as u64) < want {
                return Err(invalid(
                    "upload",
                    format!(
                        "the data ended after {} of {length} bytes",
                        plan.offset(index) + data.len() as u64
                    ),
                ));
            }
            let now = buffered.fetch_add(want, Ordering::SeqCst) + want;
            peak.fetch_max(now, Ordering::SeqCst);
            let url = urls.url(index, &contexts).await?;
            // Ask for the next batch while this one is being sent.
            if urls.ready.len() < concurrency {
                urls.ask(&contexts);
            }

            let http = self.client.clone();
            let policy = self.inner.shared.retry;
            let (buffered, done, progress) =
                (buffered.clone(), done.clone(), options.progress.clone());
            let body = data.clone();
            in_flight.spawn(async move {
                let result = put_part(&http, &url, &body, policy).await;
                buffered.fetch_sub(want, Ordering::SeqCst);
                result?;
                let sent = done.fetch_add(want, Ordering::SeqCst) + want;
                if let Some(p) = progress {
                    p(Progress {
                        done: sent,
                        total: length,
                    });
                }
                Ok(body)
            });
            // One pass: hash this part while it is being sent, then ask for the next URL.
            if let Some(mut state) = hasher.take() {
                let state = tokio::task::spawn_blocking(move || {
                    state.update(&data);
                    state
                })
                .await
                .map_err(task_failed)?;
                // Only the last part may end off a 64-byte boundary, and no part follows it.
                if let Some(context) = state.context().filter(|_| index + 1 < plan.parts) {
                    contexts.push(context);
                    urls.ask(&contexts);
                }
                hasher = Some(state);
            }
        }
        source.check_unchanged().await?;
        while let Some(result) = in_flight.join_next().await {
            result.map_err(task_failed)??;
        }
        let sha256 = known_sha
            .or_else(|| hasher.map(Sha256State::finish_hex))
            .expect("either the digest is known or the parts were hashed");
        self.complete_file()
            .body(types::CompleteFileRequest {
                file_id: file_id.clone(),
                sha256: Some(sha256.clone()),
            })
            .call()
            .await?;
        Ok(UploadOutcome {
            file_id,
            instant: false,
            sha256,
            parts: plan.parts,
            peak_buffered: peak.load(Ordering::SeqCst),
        })
    }
}

/// Keep a sent part's allocation for the next part, when nothing else holds it.
fn recycle(sent: Bytes, free: &mut Vec<Vec<u8>>) {
    if sent.is_unique() {
        free.push(Vec::from(sent));
    }
}

/// PUT one part to its pre-signed URL: no KooDrive headers; retried on transport errors and
/// retryable statuses.
async fn put_part(
    http: &reqwest::Client,
    url: &str,
    body: &Bytes,
    policy: crate::RetryPolicy,
) -> Result<(), Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= policy.max_attempts.max(1);
        let result = http
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if !last && (r.status().is_server_error() || r.status().as_u16() == 429) => {}
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                return Err(Error::Status {
                    status,
                    body: text.chars().take(4096).collect(),
                    trace_id: None,
                    operation_id: "uploadPart",
                });
            }
            Err(e) if !last && (e.is_connect() || e.is_timeout() || e.is_request()) => {}
            Err(e) if e.is_timeout() => {
                return Err(Error::Timeout {
                    operation_id: "uploadPart",
                    source: e,
                })
            }
            Err(e) => {
                return Err(Error::Transport {
                    operation_id: "uploadPart",
                    source: e,
                })
            }
        }
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn sha256_state_matches_sha2_and_exposes_the_context() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for split in [0, 1, 63, 64, 65, 4096, 4097, 9999, 64 * 64 * 3 + 5, 299_999] {
            let mut s = Sha256State::default();
            s.update(&data[..split]);
            s.update(&data[split..]);
            assert_eq!(
                s.finish_hex(),
                hex(&sha2::Sha256::digest(&data)),
                "split at {split}"
            );
        }
        let mut s = Sha256State::default();
        s.update(&data[..128]);
        assert!(s.context().is_some());
        s.update(&data[128..129]);
        assert!(s.context().is_none());
        assert_eq!(
            Sha256State::default().finish_hex(),
            hex(&sha2::Sha256::digest(b""))
        );
    }

    #[test]
    fn the_hash_pass_records_the_state_before_every_part() {
        let part = MIN_PART_SIZE;
        let data: Vec<u8> = (0..(2 * part + 100)).map(|i| (i % 253) as u8).collect();
        let path = std::env::temp_dir().join(format!("koodrive-digest-{}.bin", std::process::id()));
        std::fs::write(&path, &data).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let d = digest_file(&mut file, &path, part).unwrap();
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, data, "the file is read again from its start");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(d.sha256, hex(&sha2::Sha256::digest(&data)));
        assert_eq!(d.pre_hash, hex(&sha2::Sha256::digest(&data[..1024])));
        assert_eq!(d.stamp.0, data.len() as u64);
        // The state before parts 1, 2 and 3.
        assert_eq!(d.contexts.len(), 3);
        for (i, ctx) in d.contexts.iter().enumerate() {
            let mut s = Sha256State::default();
            s.update(&data[..i * part as usize]);
            assert_eq!(Some(*ctx), s.context(), "before part {}", i + 1);
        }
        let plan = Plan::new(data.len() as u64, part).unwrap();
        assert_eq!(
            (plan.parts, plan.size(2), plan.offset(2)),
            (3, 100, 2 * part)
        );
        assert_eq!(
            Plan::new(0, part).unwrap().parts,
            1,
            "an empty file is one empty part"
        );
    }
}
