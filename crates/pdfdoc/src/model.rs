//! The document model: what a report says, not where it goes on the page.

/// A report to be laid out on A4 pages.
///
/// The title is printed at the top of the first page and repeated in the header of every
/// page; title and author are also written into the PDF's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// Document title, e.g. 网络安全事件响应报告.
    pub title: String,
    /// Optional second line under the title (organisation, incident number…).
    pub subtitle: Option<String>,
    /// Who compiled the report; printed under the title and set as the PDF author.
    pub author: String,
    /// The body, top to bottom.
    pub blocks: Vec<Block>,
}

/// One block of the body. Text may contain `\n` for a forced line break.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section heading; `level` 1 is the largest, levels outside `1..=3` are clamped.
    Heading {
        /// 1, 2 or 3.
        level: u8,
        /// Heading text.
        text: String,
    },
    /// A paragraph of running text.
    Paragraph(String),
    /// Label–value pairs laid out in two columns (事件编号 | YS-2024-0001).
    KeyValues(Vec<(String, String)>),
    /// A table with a header row that is repeated on every page the table spans.
    Table {
        /// Column headers; their count is the table's column count.
        headers: Vec<String>,
        /// Rows of cells; missing cells are left empty, extra cells are ignored.
        rows: Vec<Vec<String>>,
        /// Relative column widths (e.g. `[1.0, 3.0]`); equal widths when `None` or when the
        /// count does not match the headers.
        widths: Option<Vec<f32>>,
    },
    /// A bulleted list; items wrap with a hanging indent.
    Bullets(Vec<String>),
    /// Small grey text, for remarks and sources.
    Note(String),
    /// Start a new page (ignored at the top of an empty page).
    PageBreak,
}
