//! Draws laid-out pages with krilla, which subsets and embeds the font.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use krilla::color::luma;
use krilla::configure::{Configuration, Validator};
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::metadata::{DateTime as PdfDate, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};
use krilla::{Document as PdfDocument, SerializeSettings};

use crate::font::Glyphs;
use crate::layout::{Item, Page, PAGE_H, PAGE_W};
use crate::Error;

/// What goes into the document information and XMP metadata.
pub(crate) struct Info<'a> {
    pub(crate) title: &'a str,
    pub(crate) author: &'a str,
    pub(crate) created: DateTime<FixedOffset>,
}

/// Writes the pages as PDF/A-2u when every character has a glyph (archival, text mapped to
/// Unicode throughout), else as plain PDF 1.7: PDF/A forbids the .notdef box that rare
/// characters fall back to, and a report with a box is better than no report.
pub(crate) fn write(
    pages: &[Page],
    font: &crate::Font,
    glyphs: &Glyphs,
    info: &Info,
) -> Result<Vec<u8>, Error> {
    let complete = pages.iter().flat_map(|p| &p.items).all(|item| match item {
        Item::Text { text, .. } => text.chars().all(|c| glyphs.glyph(c).present),
        _ => true,
    });
    let configuration = if complete {
        Configuration::new_with_validator(Validator::A2_U)
    } else {
        Configuration::new()
    };
    let settings = SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    };
    let font = font.to_krilla()?;
    let mut doc = PdfDocument::new_with(settings);
    doc.set_metadata(metadata(info));
    let size = Size::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid size");
    for page in pages {
        let mut pdf_page = doc.start_page_with(PageSettings::new(size));
        let mut surface = pdf_page.surface();
        for item in &page.items {
            draw(&mut surface, item, &font, glyphs);
        }
        surface.finish();
        pdf_page.finish();
    }
    doc.finish()
        .map_err(|e| Error::Pdf(format!("{e:?}").chars().take(500).collect()))
}

fn metadata(info: &Info) -> Metadata {
    let c = info.created;
    let offset = c.offset().local_minus_utc();
    let created = PdfDate::new(c.year().clamp(0, 9999) as u16)
        .month(c.month() as u8)
        .day(c.day() as u8)
        .hour(c.hour() as u8)
        .minute(c.minute() as u8)
        .second(c.second() as u8)
        .utc_offset_hour((offset / 3600) as i8)
        .utc_offset_minute((offset.abs() % 3600 / 60) as u8);
    Metadata::new()
        .title(info.title.to_owned())
        .authors(vec![info.author.to_owned()])
        .creator("yunshou 云守".to_owned())
        .language("zh-CN".to_owned())
        .creation_date(created)
}

fn gray(level: u8) -> Fill {
    Fill {
        paint: luma::Color::new(level).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn stroke(level: u8, width: f32) -> Stroke {
    Stroke {
        paint: luma::Color::new(level).into(),
        width,
        ..Stroke::default()
    }
}

fn draw(surface: &mut Surface, item: &Item, font: &krilla::text::Font, glyphs: &Glyphs) {
    match item {
        Item::Text {
            x,
            baseline,
            size,
            text,
            gray: level,
            bold,
        } => {
            // One glyph per character through the cmap: no shaping is needed for Chinese and
            // Latin report text. Each glyph carries its character's byte range, from which
            // krilla builds the ToUnicode map (and ActualText where a glyph stands for several
            // characters, as the stand-in box for missing ones does).
            let run: Vec<KrillaGlyph> = text
                .char_indices()
                .map(|(i, c)| {
                    let g = glyphs.glyph(c);
                    let range = i..i + c.len_utf8();
                    KrillaGlyph::new(GlyphId::new(g.id), g.advance, 0.0, 0.0, 0.0, range, None)
                })
                .collect();
            surface.set_fill(Some(gray(*level)));
            // The font has one weight; emphasis is a thin outline around the filled glyphs.
            surface.set_stroke(bold.then(|| stroke(*level, size * 0.035)));
            surface.draw_glyphs(
                Point::from_xy(*x, *baseline),
                &run,
                font.clone(),
                text,
                *size,
                false,
            );
        }
        Item::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke: edge,
        } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                return;
            };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            if let Some(path) = pb.finish() {
                surface.set_fill(fill.map(gray));
                surface.set_stroke(edge.map(|g| stroke(g, 0.5)));
                surface.draw_path(&path);
            }
        }
        Item::Line {
            x1,
            y1,
            x2,
            y2,
            gray: level,
            width,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*level, *width)));
                surface.draw_path(&path);
            }
        }
    }
}
