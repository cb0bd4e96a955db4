//! Reports as PDF with Chinese text: a small document model laid out on A4 pages with an
//! embedded, subsetted CJK font.
//!
//! ```no_run
//! use yunshou_pdfdoc::{render, Block, Document, Font};
//! let doc = Document {
//!     title: "网络安全事件响应报告".into(),
//!     subtitle: None,
//!     author: "安全运营中心".into(),
//!     blocks: vec![Block::Paragraph("2024年3月5日发现 SSH 暴力破解。".into())],
//! };
//! let font = Font::find_cjk(None)?;
//! std::fs::write("report.pdf", render(&doc, &font)?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crate lays out (line breaking, pagination, tables); krilla writes the PDF objects and
//! subsets the font. Text extracts as Unicode (`pdftotext`), also where the font lacks a rare
//! character and a .notdef box is drawn instead.

mod font;
mod layout;
mod linebreak;
mod model;
mod writer;

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Utc};

pub use font::{Font, FONT_ENV};
pub use model::{Block, Document};

/// Why a font could not be used or a PDF not written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A font file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not a usable font.
    #[error("not a usable font: {0}")]
    Font(String),
    /// The font has no glyphs for common Chinese characters.
    #[error("{path} is not a CJK font: no glyphs for {missing}")]
    NotCjk {
        /// The file.
        path: PathBuf,
        /// The probe characters it lacks.
        missing: String,
    },
    /// No CJK font was found.
    #[error(
        "no CJK font found; install fonts-wqy-microhei (Debian/Ubuntu) or wqy-microhei-fonts \
         (RHEL), or set {FONT_ENV} to a .ttf/.otf/.ttc file. Looked at: {}",
        looked.join("; ")
    )]
    NoCjkFont {
        /// Each place looked at and why it was not used.
        looked: Vec<String>,
    },
    /// The PDF writer failed.
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
}

/// China Standard Time, the reports' time zone (no daylight saving).
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// Renders `doc` as an A4 PDF set in `font`, dated now (Beijing time).
pub fn render(doc: &Document, font: &Font) -> Result<Vec<u8>, Error> {
    render_at(doc, font, Utc::now().with_timezone(&beijing()))
}

/// Renders `doc` with `created` as its creation date (metadata and byline); the same input
/// gives the same layout, which tests and reproducible archives rely on.
pub fn render_at(
    doc: &Document,
    font: &Font,
    created: DateTime<FixedOffset>,
) -> Result<Vec<u8>, Error> {
    let face = font.face()?;
    let glyphs = font::Glyphs::new(&face);
    let pages = layout::lay_out(doc, &created.format("%Y-%m-%d").to_string(), &glyphs);
    let info = writer::Info {
        title: &doc.title,
        author: &doc.author,
        created,
    };
    writer::write(&pages, font, &glyphs, &info)
}
