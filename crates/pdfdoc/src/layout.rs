//! Lays the document model out on A4 pages as a list of positioned items per page.
//!
//! Coordinates are PDF points with the origin at the page's top-left corner and y growing
//! downwards, as krilla takes them. Text items are single lines; the writer only draws.

use crate::linebreak::break_lines;
pub(crate) use crate::linebreak::Measure;
use crate::model::{Block, Document};

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 56.7; // 20 mm
const TOP: f32 = 70.0; // below the header
const BOTTOM: f32 = PAGE_H - 62.0; // above the footer
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;

const BODY: f32 = 10.5; // 五号
const LEADING: f32 = 1.6;
const TABLE: f32 = 9.0;
const NOTE: f32 = 9.0;
const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 3.0;

/// Grey levels, 0 black to 255 white.
const TEXT: u8 = 0x1a;
const MUTED: u8 = 0x66;
const RULE: u8 = 0xb0;
const HEADER_FILL: u8 = 0xe8;

/// Something drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// One line of text; `baseline` is the y of its baseline.
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        text: String,
        gray: u8,
        bold: bool,
    },
    /// A rectangle, filled and/or outlined with a 0.5 pt line.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<u8>,
        stroke: Option<u8>,
    },
    /// A straight line.
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        gray: u8,
        width: f32,
    },
}

/// The items of one page.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Page {
    pub(crate) items: Vec<Item>,
}

/// Lays out `doc`; `date` is printed under the title. Header and footer are on every page.
pub(crate) fn lay_out(doc: &Document, date: &str, m: &dyn Measure) -> Vec<Page> {
    let mut l = Layout {
        m,
        pages: vec![Page::default()],
        y: TOP,
    };
    l.title_block(doc, date);
    for block in &doc.blocks {
        l.block(block);
    }
    let mut pages = l.pages;
    decorate(&mut pages, &doc.title, m);
    pages
}

struct Layout<'m> {
    m: &'m dyn Measure,
    pages: Vec<Page>,
    /// Top of the free space on the current page.
    y: f32,
}

impl Layout<'_> {
    fn push(&mut self, item: Item) {
        self.pages.last_mut().expect("a page").items.push(item);
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = TOP;
    }

    fn at_top(&self) -> bool {
        self.y <= TOP
    }

    /// Starts a new page unless `h` more points fit or the page is still empty.
    fn ensure(&mut self, h: f32) {
        if self.y + h > BOTTOM && !self.at_top() {
            self.new_page();
        }
    }

    /// Text of one line whose line box starts at `top` and is `line_h` high.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f32, top: f32, line_h: f32, size: f32, text: &str, gray: u8, bold: bool) {
        if text.is_empty() {
            return;
        }
        // Centre an em box (ascent about 0.88, descent 0.12 in CJK fonts) in the line box.
        let baseline = top + line_h / 2.0 + 0.38 * size;
        self.push(Item::Text {
            x,
            baseline,
            size,
            text: text.to_owned(),
            gray,
            bold,
        });
    }

    /// Wrapped lines, each moved to the next page when it does not fit.
    fn lines(&mut self, lines: &[String], x: f32, size: f32, gray: u8, bold: bool) {
        let line_h = size * LEADING;
        for line in lines {
            self.ensure(line_h);
            self.text(x, self.y, line_h, size, line, gray, bold);
            self.y += line_h;
        }
    }

    fn centred(&mut self, text: &str, size: f32, gray: u8, bold: bool) {
        let line_h = size * 1.4;
        for line in break_lines(text, CONTENT_W, size, self.m) {
            let x = MARGIN_X + (CONTENT_W - self.m.width(&line, size)) / 2.0;
            self.text(x, self.y, line_h, size, &line, gray, bold);
            self.y += line_h;
        }
    }

    fn title_block(&mut self, doc: &Document, date: &str) {
        self.centred(&doc.title, 20.0, TEXT, true);
        if let Some(subtitle) = doc.subtitle.as_deref().filter(|s| !s.is_empty()) {
            self.y += 2.0;
            self.centred(subtitle, 13.0, 0x44, false);
        }
        self.y += 4.0;
        let byline = match doc.author.is_empty() {
            true => format!("日期：{date}"),
            false => format!("编制：{} · 日期：{date}", doc.author),
        };
        self.centred(&byline, NOTE, MUTED, false);
        self.y += 6.0;
        self.push(Item::Line {
            x1: MARGIN_X,
            y1: self.y,
            x2: MARGIN_X + CONTENT_W,
            y2: self.y,
            gray: TEXT,
            width: 0.8,
        });
        self.y += 12.0;
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Heading { level, text } => self.heading(*level, text),
            Block::Paragraph(text) => {
                let lines = break_lines(text, CONTENT_W, BODY, self.m);
                self.lines(&lines, MARGIN_X, BODY, TEXT, false);
                self.y += BODY * 0.6;
            }
            Block::Note(text) => {
                let lines = break_lines(text, CONTENT_W, NOTE, self.m);
                self.lines(&lines, MARGIN_X, NOTE, MUTED, false);
                self.y += NOTE * 0.6;
            }
            Block::Bullets(items) => self.bullets(items),
            Block::KeyValues(pairs) => self.key_values(pairs),
            Block::Table {
                headers,
                rows,
                widths,
            } => self.table(headers, rows, widths.as_deref()),
            Block::PageBreak => {
                if !self.at_top() {
                    self.new_page();
                }
            }
        }
    }

    fn heading(&mut self, level: u8, text: &str) {
        let (size, before) = match level {
            0 | 1 => (16.0, 12.0),
            2 => (13.5, 8.0),
            _ => (12.0, 6.0),
        };
        let lines = break_lines(text, CONTENT_W, size, self.m);
        let h = before + lines.len() as f32 * size * 1.4;
        // Keep the heading with at least two lines of what follows it.
        self.ensure(h + 2.0 * BODY * LEADING);
        if !self.at_top() {
            self.y += before;
        }
        for line in &lines {
            self.text(MARGIN_X, self.y, size * 1.4, size, line, TEXT, true);
            self.y += size * 1.4;
        }
        self.y += 4.0;
    }

    fn bullets(&mut self, items: &[String]) {
        const INDENT: f32 = 16.0;
        let line_h = BODY * LEADING;
        let dot = if self.m.has('•') { "•" } else { "·" };
        for item in items {
            let lines = break_lines(item, CONTENT_W - INDENT, BODY, self.m);
            self.ensure(line_h);
            self.text(MARGIN_X + 4.0, self.y, line_h, BODY, dot, TEXT, false);
            self.lines(&lines, MARGIN_X + INDENT, BODY, TEXT, false);
        }
        self.y += BODY * 0.6;
    }

    fn key_values(&mut self, pairs: &[(String, String)]) {
        let line_h = BODY * LEADING;
        let widest = pairs
            .iter()
            .map(|(k, _)| self.m.width(k, BODY))
            .fold(0.0, f32::max);
        let key_w = (widest + 16.0).min(CONTENT_W * 0.35);
        for (key, value) in pairs {
            let keys = break_lines(key, key_w - 8.0, BODY, self.m);
            let values = break_lines(value, CONTENT_W - key_w, BODY, self.m);
            let n = keys.len().max(values.len()).max(1);
            // Keep a pair together when it fits on a page at all.
            self.ensure((n as f32 * line_h).min(BOTTOM - TOP));
            for i in 0..n {
                self.ensure(line_h);
                if let Some(k) = keys.get(i) {
                    self.text(MARGIN_X, self.y, line_h, BODY, k, 0x44, true);
                }
                if let Some(v) = values.get(i) {
                    self.text(MARGIN_X + key_w, self.y, line_h, BODY, v, TEXT, false);
                }
                self.y += line_h;
            }
            self.push(Item::Line {
                x1: MARGIN_X,
                y1: self.y,
                x2: MARGIN_X + CONTENT_W,
                y2: self.y,
                gray: 0xdd,
                width: 0.5,
            });
        }
        self.y += BODY * 0.8;
    }

    fn table(&mut self, headers: &[String], rows: &[Vec<String>], widths: Option<&[f32]>) {
        let cols = headers.len();
        if cols == 0 {
            return;
        }
        let widths = column_widths(cols, widths);
        let m = self.m;
        let wrap = |cells: &[String]| -> Vec<Vec<String>> {
            (0..cols)
                .map(|i| {
                    let text = cells.get(i).map(String::as_str).unwrap_or("");
                    break_lines(text, widths[i] - 2.0 * CELL_PAD_X, TABLE, m)
                })
                .collect()
        };
        let header = wrap(headers);
        let line_h = TABLE * 1.45;
        let row_h = |n: usize| n.max(1) as f32 * line_h + 2.0 * CELL_PAD_Y;
        let header_h = row_h(tallest(&header, 0));

        // The header never stands alone at the foot of a page: it needs (up to three lines
        // of) the first row under it.
        let first = rows.first().map_or(0, |r| tallest(&wrap(r), 0));
        self.ensure(header_h + row_h(first.min(3)));
        self.row(&widths, &header, 0, usize::MAX, true);
        let mut rows_here = 0;
        for row in rows {
            let cells = wrap(row);
            let mut start = 0;
            loop {
                let h = row_h(tallest(&cells, start));
                if self.y + h <= BOTTOM {
                    self.row(&widths, &cells, start, usize::MAX, false);
                    rows_here += 1;
                    break;
                }
                if rows_here > 0 {
                    // The row moves to the next page, under a repeated header.
                    self.new_page();
                    self.row(&widths, &header, 0, usize::MAX, true);
                    rows_here = 0;
                    continue;
                }
                // Taller than a whole page: split it across pages.
                let fit = (((BOTTOM - self.y - 2.0 * CELL_PAD_Y) / line_h) as usize).max(1);
                self.row(&widths, &cells, start, fit, false);
                start += fit;
                self.new_page();
                self.row(&widths, &header, 0, usize::MAX, true);
            }
        }
        self.y += BODY * 0.8;
    }

    /// Draws lines `start..start + count` of each cell as one row of boxes at `self.y`.
    fn row(
        &mut self,
        widths: &[f32],
        cells: &[Vec<String>],
        start: usize,
        count: usize,
        header: bool,
    ) {
        let line_h = TABLE * 1.45;
        let n = tallest(cells, start).min(count).max(1);
        let h = n as f32 * line_h + 2.0 * CELL_PAD_Y;
        let mut x = MARGIN_X;
        for (w, lines) in widths.iter().zip(cells) {
            self.push(Item::Rect {
                x,
                y: self.y,
                w: *w,
                h,
                fill: header.then_some(HEADER_FILL),
                stroke: Some(RULE),
            });
            let shown = lines.iter().skip(start).take(n);
            for (i, line) in shown.enumerate() {
                let top = self.y + CELL_PAD_Y + i as f32 * line_h;
                self.text(x + CELL_PAD_X, top, line_h, TABLE, line, TEXT, header);
            }
            x += w;
        }
        self.y += h;
    }
}

/// Lines left in the tallest cell from line `start` on.
fn tallest(cells: &[Vec<String>], start: usize) -> usize {
    cells
        .iter()
        .map(|c| c.len().saturating_sub(start))
        .max()
        .unwrap_or(0)
}

/// Absolute column widths from relative ones; equal when they are missing or unusable.
fn column_widths(cols: usize, relative: Option<&[f32]>) -> Vec<f32> {
    let usable =
        relative.filter(|w| w.len() == cols && w.iter().all(|x| x.is_finite() && *x > 0.0));
    match usable {
        Some(w) => {
            let sum: f32 = w.iter().sum();
            w.iter().map(|x| x / sum * CONTENT_W).collect()
        }
        None => vec![CONTENT_W / cols as f32; cols],
    }
}

/// The footer's text for page `n` of `m`.
pub(crate) fn footer(n: usize, m: usize) -> String {
    format!("第 {n} 页 / 共 {m} 页  Page {n} of {m}")
}

/// Adds the running header (the title) and the footer with page numbers to every page.
fn decorate(pages: &mut [Page], title: &str, m: &dyn Measure) {
    let total = pages.len();
    let size = 8.5;
    let mut head = title.replace('\n', " ");
    if m.width(&head, size) > CONTENT_W {
        while m.width(&head, size) + m.width("…", size) > CONTENT_W && head.pop().is_some() {}
        head.push('…');
    }
    for (i, page) in pages.iter_mut().enumerate() {
        let foot = footer(i + 1, total);
        let foot_x = MARGIN_X + (CONTENT_W - m.width(&foot, size)) / 2.0;
        page.items.extend([
            Item::Text {
                x: MARGIN_X,
                baseline: 40.0,
                size,
                text: head.clone(),
                gray: MUTED,
                bold: false,
            },
            Item::Line {
                x1: MARGIN_X,
                y1: 46.0,
                x2: MARGIN_X + CONTENT_W,
                y2: 46.0,
                gray: RULE,
                width: 0.5,
            },
            Item::Text {
                x: foot_x,
                baseline: PAGE_H - 34.0,
                size,
                text: foot,
                gray: MUTED,
                bold: false,
            },
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linebreak::tests::Fixed;

    fn texts(page: &Page) -> Vec<&str> {
        page.items
            .iter()
            .filter_map(|i| match i {
                Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn doc(blocks: Vec<Block>) -> Document {
        Document {
            title: "网络安全事件响应报告".into(),
            subtitle: None,
            author: "云守".into(),
            blocks,
        }
    }

    fn long_table(rows: usize) -> Block {
        Block::Table {
            headers: vec!["序号".into(), "源地址".into(), "说明".into()],
            rows: (1..=rows)
                .map(|i| {
                    vec![
                        format!("行{i:03}"),
                        "203.0.113.7".into(),
                        "SSH 暴力破解尝试".into(),
                    ]
                })
                .collect(),
            widths: Some(vec![1.0, 2.0, 4.0]),
        }
    }

    #[test]
    fn long_tables_move_rows_to_new_pages_under_a_repeated_header() {
        let pages = lay_out(&doc(vec![long_table(150)]), "2024-03-05", &Fixed);
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let mut seen = Vec::new();
        for page in &pages {
            let t = texts(page);
            // The first table text on every page is the header row.
            let first = t
                .iter()
                .position(|s| *s == "序号" || s.starts_with('行'))
                .unwrap();
            assert_eq!(t[first], "序号", "page starts with {:?}", t[first]);
            seen.extend(
                t.iter()
                    .filter(|s| s.starts_with('行'))
                    .map(|s| s.to_string()),
            );
            for item in &page.items {
                if let Item::Rect { y, h, .. } = item {
                    assert!(y + h <= BOTTOM + 0.01, "a row crosses the page foot");
                }
            }
        }
        let want: Vec<String> = (1..=150).map(|i| format!("行{i:03}")).collect();
        assert_eq!(seen, want, "each row once, in order");
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_not_lost() {
        let tall = "很长的说明".repeat(400);
        let table = Block::Table {
            headers: vec!["序号".into(), "说明".into()],
            rows: vec![
                vec!["1".into(), tall.clone()],
                vec!["2".into(), "短".into()],
            ],
            widths: None,
        };
        let pages = lay_out(&doc(vec![table]), "2024-03-05", &Fixed);
        assert!(pages.len() >= 2);
        let all: String = pages
            .iter()
            .flat_map(|p| texts(p).into_iter().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert_eq!(all.matches("很长的说明").count(), 400);
        assert!(pages.iter().all(|p| texts(p).contains(&"序号")));
    }

    #[test]
    fn footer_counts_pages_and_header_repeats_the_title() {
        let pages = lay_out(
            &doc(vec![
                Block::Paragraph("甲".into()),
                Block::PageBreak,
                Block::Paragraph("乙".into()),
            ]),
            "2024-03-05",
            &Fixed,
        );
        assert_eq!(pages.len(), 2);
        assert!(texts(&pages[1]).contains(&"第 2 页 / 共 2 页  Page 2 of 2"));
        assert!(texts(&pages[1]).contains(&"网络安全事件响应报告"));
    }

    #[test]
    fn relative_widths_fill_the_content_width() {
        let w = column_widths(3, Some(&[1.0, 2.0, 1.0]));
        assert!((w.iter().sum::<f32>() - CONTENT_W).abs() < 0.01);
        assert!((w[1] - 2.0 * w[0]).abs() < 0.01);
        assert_eq!(column_widths(2, Some(&[1.0])), vec![CONTENT_W / 2.0; 2]);
    }
}
