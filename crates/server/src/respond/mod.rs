//! The respond stage's services on top of the store: the platform's evidence-signing key,
//! response reports (HTML and PDF) and archiving, and playbook runs with their triggers.

pub mod report;
pub mod runner;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use yunshou_evidence::signing::PlatformKey;
use yunshou_pdfdoc::Font;

/// Where the platform's SM2 key lives inside the data directory.
pub const KEY_FILE: &str = "keys/evidence-sm2.key";

/// What the respond stage needs besides the store.
pub struct Responder {
    /// Signs evidence packages.
    pub key: Arc<PlatformKey>,
    /// The SMTP relay playbook mails go through (`host:port`).
    pub smtp_relay: Option<String>,
    /// Their sender.
    pub smtp_from: String,
    /// An explicit CJK font for PDF reports.
    pub font_path: Option<std::path::PathBuf>,
    font: OnceLock<Result<Font, String>>,
}

impl Responder {
    /// Loads (or creates) the key in the data directory.
    pub fn load(
        data_dir: &Path,
        smtp_relay: Option<String>,
        smtp_from: String,
    ) -> anyhow::Result<Responder> {
        let key = PlatformKey::load_or_create(&data_dir.join(KEY_FILE))?;
        Ok(Responder {
            key: Arc::new(key),
            smtp_relay,
            smtp_from,
            font_path: None,
            font: OnceLock::new(),
        })
    }

    /// A responder with a fresh key that is not kept (tools serving a store without a data
    /// directory; tests).
    pub fn ephemeral() -> Responder {
        Responder {
            key: Arc::new(PlatformKey::generate()),
            smtp_relay: None,
            smtp_from: "yunshou@localhost".into(),
            font_path: None,
            font: OnceLock::new(),
        }
    }

    /// The CJK font for PDF reports, found once.
    pub fn font(&self) -> Result<&Font, String> {
        self.font
            .get_or_init(|| Font::find_cjk(self.font_path.as_deref()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}
