//! Uploading a file: createFile, then for each part getUploadUrls and a `PUT` to the
//! pre-signed URL, then completeFile with the SHA-256.
//!
//! - **Instant ("flash") upload.** From a path, the file is hashed first (one extra read) and
//!   createFile carries its SHA-256 and the hash of its first 1 KiB; when the server already
//!   has the content, it answers `rapidUpload: true` and nothing is sent. From an `AsyncRead`
//!   (one pass only) the hash is known only at the end, so there is no instant upload.
//! - **Parts.** The data is read once, in parts of [`UploadOptions::part_size`] (5 MiB to
//!   5 GiB, a multiple of 64 bytes; the last part may be shorter). Each part's request carries
//!   `hashCtx`, the SHA-256 state after the data before it, which is what lets KooDrive accept
//!   parts uploaded in parallel.
//! - **Concurrency and memory.** At most [`UploadOptions::concurrency`] parts are in flight;
//!   the next one is read only when a slot is free. Part data in memory is bounded by
//!   `concurrency × part_size`, whatever the file size ([`UploadOutcome::peak_buffered`]
//!   reports what was used).
//! - **The `PUT`s** go to the pre-signed object-storage URL with no KooDrive header (no
//!   Authorization, no trace id), each retried on its own with the client's backoff.
//! - **What resumes and what restarts.** A part that fails is retried (same URL, same bytes)
//!   up to the retry policy's attempts; the other parts are not resent. If a part still fails,
//!   or the process stops, the upload fails: nothing is kept on disk about it, and a new
//!   `upload` starts over with a new createFile (KooDrive documents no way to list the parts
//!   of an unfinished upload).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::Digest;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use crate::error::Error;
use crate::operation::OperationExt;
use crate::{types, Client};

/// The smallest part KooDrive accepts (but for the last one): 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

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
        let blocks: Vec<GenericArray<u8, _>> = data[..whole]
            .chunks_exact(64)
            .map(|c| *GenericArray::from_slice(c))
            .collect();
        sha2::compress256(&mut self.state, &blocks);
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn invalid(operation_id: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidRequest {
        operation_id,
        reason: reason.into(),
    }
}

/// Read up to `limit` bytes (less only at the end of the input).
async fn read_part<R: AsyncRead + Unpin>(reader: &mut R, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit as usize);
    reader.take(limit).read_to_end(&mut buf).await?;
    Ok(buf)
}

fn io_error(e: std::io::Error) -> Error {
    invalid("upload", format!("reading the data failed: {e}"))
}

impl Client {
    /// Upload a file from disk (with instant upload when the server already has it).
    pub async fn upload_file(
        &self,
        path: &Path,
        target: UploadTarget,
        options: UploadOptions,
    ) -> Result<UploadOutcome, Error> {
        // Pass 1: the digest and the pre-hash, reading in bounded chunks.
        let mut file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let length = file.metadata().await.map_err(io_error)?.len();
        let mut digest = sha2::Sha256::new();
        let mut first_kib = Vec::with_capacity(1024);
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut chunk).await.map_err(io_error)?;
            if n == 0 {
                break;
            }
            if first_kib.len() < 1024 {
                let take = (1024 - first_kib.len()).min(n);
                first_kib.extend_from_slice(&chunk[..take]);
            }
            digest.update(&chunk[..n]);
        }
        let known = (
            hex(&digest.finalize()),
            hex(&sha2::Sha256::digest(&first_kib)),
        );
        let file = tokio::fs::File::open(path).await.map_err(io_error)?;
        self.upload_inner(file, length, target, options, Some(known))
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
        self.upload_inner(reader, length, target, options, None)
            .await
    }

    async fn upload_inner<R: AsyncRead + Unpin + Send>(
        &self,
        mut reader: R,
        length: u64,
        target: UploadTarget,
        options: UploadOptions,
        known: Option<(String, String)>,
    ) -> Result<UploadOutcome, Error> {
        let part_size = options.part_size;
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) || !part_size.is_multiple_of(64) {
            return Err(invalid(
                "createFile",
                format!("part size {part_size} must be 5 MiB to 5 GiB and a multiple of 64 bytes"),
            ));
        }
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
                pre_hash: known.as_ref().map(|k| k.1.clone()),
                sha256: known.as_ref().map(|k| k.0.clone()),
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
            let sha256 = known.map(|k| k.0).unwrap_or_default();
            return Ok(UploadOutcome {
                file_id,
                instant: true,
                sha256,
                parts: 0,
                peak_buffered: 0,
            });
        }

        let buffered = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let mut hasher = Sha256State::default();
        let mut in_flight: JoinSet<Result<(), Error>> = JoinSet::new();
        let mut offset = 0u64;
        let mut part_number = 0u32;
        loop {
            if offset >= length && part_number > 0 {
                break;
            }
            // Keep at most `concurrency` parts in flight.
            while in_flight.len() >= concurrency {
                if let Some(result) = in_flight.join_next().await {
                    result.map_err(|e| invalid("upload", format!("a part task failed: {e}")))??;
                }
            }
            let want = part_size.min(length - offset);
            let data = read_part(&mut reader, want).await.map_err(io_error)?;
            if (data.len() as u64) < want {
                return Err(invalid(
                    "upload",
                    format!(
                        "the reader ended after {} of {length} bytes",
                        offset + data.len() as u64
                    ),
                ));
            }
            part_number += 1;
            let context = hasher.context().expect("parts are multiples of 64 bytes");
            hasher.update(&data);
            let now = buffered.fetch_add(data.len() as u64, Ordering::SeqCst) + data.len() as u64;
            peak.fetch_max(now, Ordering::SeqCst);

            let part = types::MultiPartInfo {
                hash_ctx: if part_number == 1 {
                    vec![]
                } else {
                    context.iter().map(|w| i64::from(*w)).collect()
                },
                part_id: None,
                part_number: std::num::NonZeroU32::new(part_number).expect("starts at 1"),
                part_offset: Some(offset as i64),
                part_size: data.len() as i64,
                upload_url: None,
            };
            let urls = self
                .get_upload_urls()
                .body(types::GetUploadUrlsRequest {
                    file_id: file_id.clone(),
                    multi_parts: vec![part],
                })
                .call()
                .await?;
            let url = urls
                .multi_parts
                .iter()
                .find(|p| p.part_number.get() == part_number)
                .or(urls.multi_parts.first())
                .and_then(|p| p.upload_url.clone())
                .ok_or_else(|| Error::Decode {
                    operation_id: "getUploadUrls",
                    status: Some(200),
                    path: "multiParts[].uploadUrl".into(),
                    message: format!("no upload URL for part {part_number}"),
                    body: String::new(),
                })?;
            offset += data.len() as u64;

            let http = self.client.clone();
            let policy = self.inner.shared.retry;
            let (buffered, done, progress) =
                (buffered.clone(), done.clone(), options.progress.clone());
            in_flight.spawn(async move {
                let size = data.len() as u64;
                let result = put_part(&http, &url, data, policy).await;
                buffered.fetch_sub(size, Ordering::SeqCst);
                result?;
                let sent = done.fetch_add(size, Ordering::SeqCst) + size;
                if let Some(p) = progress {
                    p(Progress {
                        done: sent,
                        total: length,
                    });
                }
                Ok(())
            });
        }
        while let Some(result) = in_flight.join_next().await {
            result.map_err(|e| invalid("upload", format!("a part task failed: {e}")))??;
        }
        let sha256 = hasher.finish_hex();
        if let Some((known_sha, _)) = &known {
            if *known_sha != sha256 {
                return Err(invalid(
                    "completeFile",
                    "the file changed while it was being uploaded",
                ));
            }
        }
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
            parts: part_number,
            peak_buffered: peak.load(Ordering::SeqCst),
        })
    }
}

/// PUT one part to its pre-signed URL: no KooDrive headers; retried on transport errors and
/// retryable statuses.
async fn put_part(
    http: &reqwest::Client,
    url: &str,
    data: Vec<u8>,
    policy: crate::RetryPolicy,
) -> Result<(), Error> {
    let body = bytes::Bytes::from(data);
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

    #[test]
    fn sha256_state_matches_sha2_and_exposes_the_context() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for split in [0, 1, 63, 64, 65, 4096, 9999] {
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
}
