//! Finding and reading the CJK font that every report is set in.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};

use crate::Error;

/// Environment variable naming a font file to use instead of the well-known paths.
pub const FONT_ENV: &str = "YUNSHOU_PDF_FONT";

/// Characters a font must have glyphs for to count as a CJK font.
const PROBE: &str = "中文报告";

/// Well-known places of CJK fonts, in order of preference. wqy-microhei comes first: it is small
/// (TrueType, 5 MB) and in Debian main; Noto/Source Han are CFF and larger but look better.
const WELL_KNOWN: &[&str] = &[
    // Debian / Ubuntu
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    // RHEL / Fedora / openEuler
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-serif-cjk-fonts/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans-cn/SourceHanSansCN-Regular.otf",
    "/usr/share/fonts/adobe-source-han-sans-cn-fonts/SourceHanSansCN-Regular.otf",
    "/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/google-droid/DroidSansFallbackFull.ttf",
    // Alpine
    "/usr/share/fonts/wenquanyi/wqy-zenhei.ttc",
    "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto/NotoSansSC-Regular.otf",
    // Arch and hand installs of Source Han
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
];

/// A font (TrueType, OpenType/CFF or one face of a collection) held in memory.
#[derive(Clone)]
pub struct Font {
    data: Arc<Vec<u8>>,
    index: u32,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl Font {
    /// Reads a font from bytes: a TTF, an OTF or a TTC/OTC, whose face `index` is used.
    pub fn from_bytes(data: Vec<u8>, index: u32) -> Result<Font, Error> {
        let font = Font {
            data: Arc::new(data),
            index,
            path: None,
        };
        let face = font.face()?;
        if !face.charmap().has_map() {
            return Err(Error::Font("the font has no Unicode cmap".into()));
        }
        Ok(font)
    }

    /// Finds a CJK font: `explicit` first, then the file named by `YUNSHOU_PDF_FONT`, then
    /// well-known Debian, RHEL and Alpine paths (wqy-microhei, wqy-zenhei, Noto Sans/Serif
    /// CJK, AR PL, Droid Sans Fallback, Source Han Sans).
    ///
    /// A font named explicitly or by the variable must load and cover CJK, or this fails: a
    /// wrong setting should be reported, not worked around. In a collection the Simplified
    /// Chinese face is chosen when the faces' names tell it (Noto CJK), else the first.
    pub fn find_cjk(explicit: Option<&Path>) -> Result<Font, Error> {
        if let Some(path) = explicit {
            return Font::load_cjk(path);
        }
        if let Some(path) = std::env::var_os(FONT_ENV).filter(|v| !v.is_empty()) {
            return Font::load_cjk(Path::new(&path));
        }
        let mut looked = Vec::new();
        for candidate in WELL_KNOWN {
            let path = Path::new(candidate);
            if !path.is_file() {
                looked.push(format!("{candidate} (absent)"));
                continue;
            }
            match Font::load_cjk(path) {
                Ok(font) => return Ok(font),
                Err(e) => looked.push(format!("{candidate} ({e})")),
            }
        }
        Err(Error::NoCjkFont { looked })
    }

    /// The file the font was read from, if it came from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The face index within a collection (0 for a single font).
    pub fn index(&self) -> u32 {
        self.index
    }

    fn load_cjk(path: &Path) -> Result<Font, Error> {
        let data = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let index = simplified_chinese_face(&data);
        let mut font = Font::from_bytes(data, index)?;
        font.path = Some(path.to_owned());
        let missing = font.missing(PROBE);
        if !missing.is_empty() {
            return Err(Error::NotCjk {
                path: path.to_owned(),
                missing,
            });
        }
        Ok(font)
    }

    /// The characters of `text` the font has no glyph for.
    pub fn missing(&self, text: &str) -> String {
        match self.face() {
            Ok(face) => {
                let cmap = face.charmap();
                text.chars().filter(|&c| cmap.map(c).is_none()).collect()
            }
            Err(_) => text.to_owned(),
        }
    }

    pub(crate) fn face(&self) -> Result<FontRef<'_>, Error> {
        FontRef::from_index(&self.data, self.index)
            .map_err(|e| Error::Font(format!("cannot read face {}: {e}", self.index)))
    }

    pub(crate) fn to_krilla(&self) -> Result<krilla::text::Font, Error> {
        krilla::text::Font::new(self.data.clone().into(), self.index)
            .ok_or_else(|| Error::Font("the PDF writer cannot read the font".into()))
    }
}

/// In a collection, the index of the face whose family name marks Simplified Chinese.
fn simplified_chinese_face(data: &[u8]) -> u32 {
    (0..64)
        .map_while(|i| FontRef::from_index(data, i).ok().map(|f| (i, f)))
        .find(|(_, face)| {
            let name: String = face
                .localized_strings(StringId::FAMILY_NAME)
                .english_or_first()
                .map(|s| s.chars().collect())
                .unwrap_or_default();
            name.ends_with(" SC") || name.contains(" SC ") || name.ends_with(" CN")
        })
        .map_or(0, |(i, _)| i)
}

/// Glyph ids and advances of one face, cached per character: layout and drawing ask for the
/// same characters many times.
pub(crate) struct Glyphs<'a> {
    charmap: Charmap<'a>,
    metrics: GlyphMetrics<'a>,
    units_per_em: f32,
    /// Drawn for characters the font lacks: the font's □ (white square), else .notdef.
    stand_in: u32,
    cache: RefCell<HashMap<char, Glyph>>,
}

/// How one character is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Glyph {
    pub(crate) id: u32,
    /// Advance in em.
    pub(crate) advance: f32,
    /// Whether the font has the character (else `id` is the stand-in box).
    pub(crate) present: bool,
}

impl<'a> Glyphs<'a> {
    pub(crate) fn new(face: &FontRef<'a>) -> Self {
        let units_per_em = face
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        let charmap = face.charmap();
        // Why not .notdef itself: krilla leaves glyph 0 out of the ToUnicode map, so the
        // first missing character would not extract. Any real glyph gets a mapping for its
        // first use and ActualText for other characters drawn with it.
        let stand_in = charmap.map('□').map_or(0, |g| g.to_u32());
        Glyphs {
            charmap,
            metrics: face.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: if units_per_em == 0 {
                1000.0
            } else {
                f32::from(units_per_em)
            },
            stand_in,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// How `c` is drawn: its glyph, or the stand-in box when the font lacks it.
    pub(crate) fn glyph(&self, c: char) -> Glyph {
        if let Some(&hit) = self.cache.borrow().get(&c) {
            return hit;
        }
        let found = self.charmap.map(c);
        let id = found.map_or(self.stand_in, |g| g.to_u32());
        let advance = self
            .metrics
            .advance_width(skrifa::GlyphId::new(id))
            .unwrap_or(0.0)
            / self.units_per_em;
        let hit = Glyph {
            id,
            advance,
            present: found.is_some(),
        };
        self.cache.borrow_mut().insert(c, hit);
        hit
    }
}

impl crate::layout::Measure for Glyphs<'_> {
    fn advance(&self, c: char) -> f32 {
        self.glyph(c).advance
    }

    fn has(&self, c: char) -> bool {
        self.glyph(c).present
    }
}
