//! A thin layer over quick-xml's pull reader for the XML formats: owned start/end events with
//! the element path, each element's text (entities resolved), and the checks that make a
//! truncated or foreign file an error rather than a short import.
//!
//! Memory stays flat: the reader's buffer is reused, and only the open elements' names and
//! texts are held. Whitespace between child elements is not accumulated, so a root with
//! 100,000 children holds no text at all.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::ops::Deref;
use std::rc::Rc;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;

use crate::{Format, ParseError};

/// Separates blocks in captured text; never occurs in XML text.
const BLOCK: char = '\u{1}';

/// How many distinct names are shared; a document with more (no report format has) gets its
/// further names allocated one by one, so memory stays bounded.
const SHARED_NAMES: usize = 1024;

/// An element or attribute name. A report repeats a few dozen names millions of times, so
/// each distinct name is allocated once and shared: starting an element, opening its path
/// entry and ending it cost no allocation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Name(Rc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// The names met so far, by their raw bytes.
#[derive(Default)]
struct Names(HashMap<Box<[u8]>, Name, foldhash::fast::RandomState>);

impl Names {
    fn of(&mut self, raw: &[u8]) -> Name {
        if let Some(name) = self.0.get(raw) {
            return name.clone();
        }
        let name = Name(Rc::from(String::from_utf8_lossy(raw).as_ref()));
        if self.0.len() < SHARED_NAMES {
            self.0.insert(raw.into(), name.clone());
        }
        name
    }
}

pub(crate) struct Xml<'r> {
    format: Format,
    reader: Reader<&'r mut dyn BufRead>,
    buf: Vec<u8>,
    names: Names,
    path: Vec<Name>,
    /// Text of each open element, and whether it has had a child element yet.
    texts: Vec<(String, bool)>,
    roots: &'static [&'static str],
    root_seen: bool,
    root_done: bool,
    capture: Option<Capture>,
}

struct Capture {
    /// Depth of the element whose subtree is captured.
    depth: usize,
    text: String,
    inline: &'static [&'static str],
    /// Link targets of the open inline elements (`LinkURL`, `href`), written after the
    /// link's text so a URL-only link is not lost.
    links: Vec<Option<String>>,
}

pub(crate) enum Ev {
    Start(Start),
    End(End),
    Eof,
}

pub(crate) struct Start {
    pub name: Name,
    attrs: Vec<(Name, String)>,
}

impl Start {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) struct End {
    pub name: Name,
    /// The element's own text (not its children's), or its whole subtree's text when it was
    /// captured.
    pub text: String,
}

enum Raw {
    Start(Name, Vec<(Name, String)>),
    End,
    Skip,
    Eof,
}

impl<'r> Xml<'r> {
    /// A reader that accepts only documents whose root element is one of `roots`.
    pub fn new(format: Format, input: &'r mut dyn BufRead, roots: &'static [&'static str]) -> Self {
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        Xml {
            format,
            reader,
            buf: Vec::with_capacity(8 * 1024),
            names: Names::default(),
            path: Vec::new(),
            texts: Vec::new(),
            roots,
            root_seen: false,
            root_done: false,
            capture: None,
        }
    }

    /// The innermost open element.
    pub fn parent(&self) -> &str {
        self.path.last().map(Name::as_str).unwrap_or("")
    }

    /// True when the open elements end with `suffix` (after a Start, the started element is
    /// the last; after an End, its parent is).
    pub fn at(&self, suffix: &[&str]) -> bool {
        self.path.len() >= suffix.len()
            && self.path[self.path.len() - suffix.len()..]
                .iter()
                .zip(suffix)
                .all(|(a, b)| a.as_str() == *b)
    }

    /// True when an element of this name is open.
    pub fn within(&self, name: &str) -> bool {
        self.path.iter().any(|p| p.as_str() == name)
    }

    /// Where the reader is, for errors.
    pub fn position(&self) -> String {
        format!(
            "byte {} in {}",
            self.reader.buffer_position(),
            if self.path.is_empty() {
                "the document".to_string()
            } else {
                self.path_text()
            }
        )
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.reader.buffer_position()
    }

    pub fn invalid<E>(&self, reason: impl Into<String>) -> ParseError<E> {
        ParseError::invalid(self.format, self.position(), reason)
    }

    /// Captures the text of the element just started and all its descendants, in document
    /// order, as paragraphs: every element boundary but those named in `inline` breaks a
    /// line, and whitespace inside a paragraph collapses. The element's [`End`] carries it.
    pub fn capture(&mut self, inline: &'static [&'static str]) {
        if self.capture.is_none() {
            self.capture = Some(Capture {
                depth: self.path.len(),
                text: String::new(),
                inline,
                links: Vec::new(),
            });
        }
    }

    /// The next start or end tag, or the end of a complete document.
    pub fn next<E>(&mut self) -> Result<Ev, ParseError<E>> {
        loop {
            self.buf.clear();
            let raw = match self.reader.read_event_into(&mut self.buf) {
                Err(e) => {
                    return Err(ParseError::invalid(
                        self.format,
                        format!(
                            "byte {} in {}",
                            self.reader.error_position(),
                            self.path_text()
                        ),
                        format!("malformed XML: {e}"),
                    ))
                }
                Ok(Event::Start(e)) => {
                    let name = self.names.of(e.name().as_ref());
                    let decoder = self.reader.decoder();
                    let mut attrs = Vec::new();
                    for a in e.attributes() {
                        let a = match a {
                            Ok(a) => a,
                            Err(err) => {
                                return Err(self.invalid(format!("malformed attribute: {err}")))
                            }
                        };
                        let key = self.names.of(a.key.as_ref());
                        let value = match a
                            .decoded_and_normalized_value(XmlVersion::Implicit1_0, decoder)
                        {
                            Ok(v) => v.into_owned(),
                            Err(err) => {
                                return Err(self.invalid(format!(
                                    "attribute {key} of <{name}> cannot be read: {err}"
                                )))
                            }
                        };
                        attrs.push((key, value));
                    }
                    Raw::Start(name, attrs)
                }
                Ok(Event::End(_)) => Raw::End,
                // Texts go straight from the reader's buffer to the open element's (most
                // are the indentation between elements: no copy of their own).
                Ok(Event::Text(t)) => match t.xml10_content() {
                    Ok(s) if push_text(&mut self.texts, &mut self.capture, &s) => Raw::Skip,
                    Ok(_) => return Err(self.stray_text()),
                    Err(e) => return Err(self.invalid(format!("text is not UTF-8: {e}"))),
                },
                Ok(Event::CData(t)) => match t.xml10_content() {
                    Ok(s) if push_text(&mut self.texts, &mut self.capture, &s) => Raw::Skip,
                    Ok(_) => return Err(self.stray_text()),
                    Err(e) => return Err(self.invalid(format!("CDATA is not UTF-8: {e}"))),
                },
                Ok(Event::GeneralRef(r)) => {
                    let text = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                            // Entities a DTD declares are not expanded; keep them readable.
                            resolve_predefined_entity(&name)
                                .map(str::to_string)
                                .unwrap_or_else(|| format!("&{name};"))
                        }
                        Err(e) => return Err(self.invalid(format!("bad character reference: {e}"))),
                    };
                    if !push_text(&mut self.texts, &mut self.capture, &text) {
                        return Err(self.stray_text());
                    }
                    Raw::Skip
                }
                Ok(Event::Eof) => Raw::Eof,
                Ok(_) => Raw::Skip,
            };
            match raw {
                Raw::Skip => {}
                Raw::Start(name, attrs) => {
                    if self.root_done {
                        return Err(
                            self.invalid(format!("element <{name}> after the root element ended"))
                        );
                    }
                    if !self.root_seen {
                        if !self.roots.contains(&name.as_str()) {
                            return Err(self.invalid(format!(
                                "the root element is <{name}>, a {} report's is <{}>",
                                self.format,
                                self.roots.join("> or <")
                            )));
                        }
                        self.root_seen = true;
                    }
                    if let Some(top) = self.texts.last_mut() {
                        top.1 = true;
                    }
                    if let Some(c) = &mut self.capture {
                        if c.inline.contains(&name.as_str()) {
                            let link = attrs
                                .iter()
                                .find(|(k, _)| *k == "LinkURL" || *k == "href")
                                .map(|(_, v)| v.trim().to_string())
                                .filter(|v| !v.is_empty());
                            c.links.push(link);
                        } else {
                            c.text.push(BLOCK);
                            if name.eq_ignore_ascii_case("listitem") || name == "li" {
                                c.text.push_str("- ");
                            }
                        }
                    }
                    self.path.push(name.clone());
                    self.texts.push((String::new(), false));
                    return Ok(Ev::Start(Start { name, attrs }));
                }
                Raw::End => {
                    let depth = self.path.len();
                    let Some(name) = self.path.pop() else {
                        return Err(self.invalid("an end tag with no element open"));
                    };
                    let (mut text, _) = self.texts.pop().unwrap_or_default();
                    if let Some(c) = &mut self.capture {
                        if c.depth == depth {
                            text = paragraphs_of(&c.text);
                            self.capture = None;
                        } else if !c.inline.contains(&name.as_str()) {
                            c.text.push(BLOCK);
                        } else if let Some(link) = c.links.pop().flatten() {
                            let shown = text.trim();
                            if shown.is_empty() {
                                c.text.push_str(&format!(" {link} "));
                            } else if shown != link {
                                c.text.push_str(&format!(" ({link})"));
                            }
                        }
                    }
                    if self.path.is_empty() {
                        self.root_done = true;
                    }
                    return Ok(Ev::End(End { name, text }));
                }
                Raw::Eof => {
                    if !self.root_seen {
                        return Err(self.invalid(format!(
                            "no XML root element: the file is empty or not XML (a {} report's root is <{}>)",
                            self.format,
                            self.roots.join("> or <")
                        )));
                    }
                    if !self.path.is_empty() {
                        return Err(self.invalid(format!(
                            "the file ends inside <{}>: it is truncated",
                            self.parent()
                        )));
                    }
                    return Ok(Ev::Eof);
                }
            }
        }
    }

    fn path_text(&self) -> String {
        let names: Vec<&str> = self.path.iter().map(Name::as_str).collect();
        names.join("/")
    }

    /// Text outside the root element: not an XML document.
    fn stray_text<E>(&self) -> ParseError<E> {
        let what = if self.root_done { "after" } else { "before" };
        self.invalid(format!(
            "text {what} the root element: this is not an XML document"
        ))
    }
}

/// Adds `s` to the innermost open element's text (and the capture's); false when no element
/// is open and `s` is not blank.
fn push_text(texts: &mut [(String, bool)], capture: &mut Option<Capture>, s: &str) -> bool {
    // XML's white space is ASCII; checked only where it matters (a leaf's text is kept whole).
    let blank = || s.bytes().all(|b| b.is_ascii_whitespace());
    let Some(top) = texts.last_mut() else {
        return blank();
    };
    if let Some(c) = capture {
        c.text.push_str(s);
    }
    // Indentation between children would otherwise pile up in every container.
    if !top.1 || !blank() {
        top.0.push_str(s);
    }
    true
}

/// Captured text → paragraphs: each block's whitespace collapsed, empty blocks dropped, a
/// lone list bullet joined to the text after it.
fn paragraphs_of(raw: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut bullet = false;
    for block in raw.split(BLOCK) {
        let line = block.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            continue;
        }
        if line == "-" {
            bullet = true;
            continue;
        }
        out.push(if bullet && !line.starts_with("- ") {
            format!("- {line}")
        } else {
            line
        });
        bullet = false;
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(xml: &str, roots: &'static [&'static str]) -> Result<Vec<String>, String> {
        let mut input = xml.as_bytes();
        let mut x = Xml::new(Format::Nessus, &mut input, roots);
        let mut out = Vec::new();
        loop {
            match x.next::<String>() {
                Ok(Ev::Start(s)) => {
                    if s.name == "p" {
                        x.capture(&["a"]);
                    }
                    out.push(format!("+{}", s.name));
                }
                Ok(Ev::End(e)) => out.push(format!("-{}={}", e.name, e.text.trim())),
                Ok(Ev::Eof) => return Ok(out),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn text_entities_and_empty_elements() {
        let ev = events(
            "<r>\n <x a='1'>a &amp; b&#x41;<![CDATA[<c>]]></x>\n <y/></r>",
            &["r"],
        )
        .unwrap();
        assert_eq!(ev, ["+r", "+x", "-x=a & bA<c>", "+y", "-y=", "-r="]);
    }

    #[test]
    fn captured_subtrees_become_paragraphs() {
        let ev = events(
            "<r><p>\n  One\n  line <a href='u'>link</a>.<p>Two <a href='v'/></p><l><ListItem>item</ListItem></l></p></r>",
            &["r"],
        )
        .unwrap();
        assert!(
            ev.contains(&"-p=One line link (u).\nTwo v\n- item".to_string()),
            "{ev:?}"
        );
    }

    #[test]
    fn foreign_truncated_and_garbage_documents_are_refused() {
        let e = events("<other/>", &["r"]).unwrap_err();
        assert!(e.contains("root element is <other>"), "{e}");
        let e = events("<r><x>text", &["r"]).unwrap_err();
        assert!(e.contains("ends inside <x>"), "{e}");
        let e = events("<r><x></r>", &["r"]).unwrap_err();
        assert!(e.contains("malformed XML"), "{e}");
        let e = events("\u{0}\u{7}garbage", &["r"]).unwrap_err();
        assert!(e.contains("not an XML document"), "{e}");
        let e = events("", &["r"]).unwrap_err();
        assert!(e.contains("empty or not XML"), "{e}");
        let e = events("<r/><r/>", &["r"]).unwrap_err();
        assert!(e.contains("after the root"), "{e}");
    }
}
