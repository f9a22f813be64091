//! The emulator in a child process: the bench re-runs itself as `serve-emulator`, which
//! prints one line (base URL, token, session, container, tab-separated) and serves until its
//! standard input closes. The server then has a process (and a core) of its own, as a real
//! one would, and the bench's peak RSS is the client's alone.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::Result;

/// The hidden subcommand.
pub const SERVE: &str = "serve-emulator";

/// Serve until standard input closes.
pub fn serve() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let config = koodrive_emulator::Config {
            // Room for several 256 MiB uploads in one run.
            quota_bytes: 64 * 1024 * 1024 * 1024,
            ..koodrive_emulator::Config::default()
        };
        let emulator = koodrive_emulator::Emulator::start(config).await?;
        let session = emulator.issue_session();
        println!(
            "{}\t{}\t{}\t{}",
            emulator.base_url(),
            session.access_token,
            session.session_id,
            emulator.container_id()
        );
        // Wait for the parent to close our stdin (or to die).
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await?;
        drop(emulator);
        Ok(())
    })
}

/// A running emulator child; dropping it stops it.
pub struct Remote {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// `Bearer <token>`.
    pub access_token: String,
    /// The session id.
    pub session_id: String,
    /// The personal space.
    pub container_id: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Remote {
    /// Start `serve-emulator` in a child process and read its line.
    pub fn start() -> Result<Remote> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(SERVE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        let [base_url, access_token, session_id, container_id] = fields[..] else {
            let _ = child.kill();
            return Err(format!("the emulator child said {line:?}").into());
        };
        Ok(Remote {
            base_url: base_url.into(),
            access_token: access_token.into(),
            session_id: session_id.into(),
            container_id: container_id.into(),
            child,
            stdin,
        })
    }

    /// A koodrive-api client as a user would configure it: user token with auto-refresh,
    /// default retries, trace ids (always on).
    pub fn client(&self) -> Result<koodrive_api::Client> {
        Ok(koodrive_api::Client::builder(&self.base_url)
            .user_token(self.access_token.clone(), Some(&self.session_id))
            .auto_refresh(true)
            .retry(koodrive_api::RetryPolicy::default())
            .build()?)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}
