//! Downloading a file: getDownloadUrls, then a plain `GET` of the link, streamed to any
//! `AsyncWrite` (never held in memory), with its length checked and progress reported.

use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::Error;
use crate::operation::OperationExt;
use crate::upload::{Progress, ProgressFn};
use crate::{types, Client};

/// What a download did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// Bytes written.
    pub bytes: u64,
    /// The file name the server gave.
    pub file_name: Option<String>,
}

impl Client {
    /// The download link of one file.
    pub async fn download_url(
        &self,
        container_id: &str,
        file_id: &str,
    ) -> Result<(String, Option<String>), Error> {
        let links = self
            .get_download_urls()
            .body(types::GetDownloadUrlsRequest {
                container_id: container_id.into(),
                file_ids: vec![file_id.into()],
            })
            .call()
            .await?;
        let item = links
            .downloads
            .into_iter()
            .find(|d| d.file_id.as_deref() == Some(file_id))
            .ok_or_else(|| Error::Decode {
                operation_id: "getDownloadUrls",
                status: Some(200),
                path: "downloads".into(),
                message: format!("no entry for file {file_id}"),
                body: String::new(),
            })?;
        // A per-item code other than 0 is that file's error.
        if let Some(code) = item
            .code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "0")
        {
            return Err(Error::Api {
                code: crate::ErrorCode::from_code(code.parse().unwrap_or(-1)),
                msg: item.msg,
                status: 200,
                trace_id: None,
                operation_id: "getDownloadUrls",
            });
        }
        let url = item.url.ok_or_else(|| Error::Decode {
            operation_id: "getDownloadUrls",
            status: Some(200),
            path: "downloads[].url".into(),
            message: format!("no URL for file {file_id}"),
            body: String::new(),
        })?;
        Ok((url, item.file_name))
    }

    /// Download a file into `writer`. The link is fetched without KooDrive headers; the body is
    /// streamed, and its length must match the `Content-Length` the server announced.
    pub async fn download_to<W: AsyncWrite + Unpin>(
        &self,
        container_id: &str,
        file_id: &str,
        writer: &mut W,
        progress: Option<ProgressFn>,
    ) -> Result<DownloadOutcome, Error> {
        const OP: &str = "downloadFile";
        let (url, file_name) = self.download_url(container_id, file_id).await?;
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| match e.is_timeout() {
                true => Error::Timeout {
                    operation_id: OP,
                    source: e,
                },
                false => Error::Transport {
                    operation_id: OP,
                    source: e,
                },
            })?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let body = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(4096)
                .collect();
            return Err(Error::Status {
                status,
                body,
                trace_id: None,
                operation_id: OP,
            });
        }
        let expected = response.content_length();
        let total = expected.unwrap_or(0);
        let mut written = 0u64;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::Transport {
                operation_id: OP,
                source: e,
            })?;
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| Error::InvalidRequest {
                    operation_id: OP,
                    reason: format!("writing the download failed: {e}"),
                })?;
            written += chunk.len() as u64;
            if let Some(p) = &progress {
                p(Progress {
                    done: written,
                    total,
                });
            }
        }
        writer.flush().await.map_err(|e| Error::InvalidRequest {
            operation_id: OP,
            reason: format!("writing the download failed: {e}"),
        })?;
        if let Some(n) = expected {
            if n != written {
                return Err(Error::Status {
                    status,
                    body: format!("announced {n} bytes, received {written}"),
                    trace_id: None,
                    operation_id: OP,
                });
            }
        }
        Ok(DownloadOutcome {
            bytes: written,
            file_name,
        })
    }
}
