//! The development sender (`SMS_URL=file://data/sms`): each text is a file named by its
//! idempotency key, so a retried text overwrites its own file and the directory shows each
//! outbox entry once.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use booking_core::ports::{NotifyError, TextSender};

/// Writes each text to `{dir}/{idempotency key}.txt`: a `To:` line, a blank line, the body.
#[derive(Debug, Clone)]
pub struct FileTexts {
    dir: PathBuf,
}

impl FileTexts {
    /// Texts go into `dir` (created on the first one).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Where the files go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the text with `idempotency_key`: anything but `A-Za-z0-9 . _ -` in the key
    /// becomes `_`, so it is always one plain file name inside the directory.
    pub fn path_for(&self, idempotency_key: &str) -> PathBuf {
        let name: String = idempotency_key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name.trim_start_matches('.');
        self.dir.join(format!(
            "{}.txt",
            if name.is_empty() { "text" } else { name }
        ))
    }
}

#[async_trait]
impl TextSender for FileTexts {
    async fn send_text(
        &self,
        to: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        let failed = |what: &Path, e: std::io::Error| {
            NotifyError::Transient(format!("cannot write {}: {e}", what.display()))
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| failed(&self.dir, e))?;
        let path = self.path_for(idempotency_key);
        // Write then rename, so a reader never sees half a text.
        let partial = path.with_extension("txt.partial");
        tokio::fs::write(&partial, format!("To: {to}\n\n{body}\n"))
            .await
            .map_err(|e| failed(&partial, e))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| failed(&path, e))
    }
}
