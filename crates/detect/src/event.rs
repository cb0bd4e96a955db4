//! Events as the engine reads them: every leaf value of a JSON event, named by the field the
//! rules know it as. Rules name fields (`Image`, `process.command_line`); events are nested
//! JSON (yunshou's ECS documents, winlogbeat, raw Windows `Event.System`/`Event.EventData`).
//! A [`Schema`] built from the loaded rules and the mapping turns each leaf path into a field
//! id once, so matching compares small integers and never walks JSON again.
//!
//! Lines of NDJSON are walked straight from their text with serde's visitor (no
//! `serde_json::Value` tree is built), borrowing every string that needs no unescaping.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A field the rules refer to.
pub type FieldId = u32;

/// A leaf no rule names (kept only for keyword searches).
pub const UNNAMED: FieldId = u32::MAX;

/// What kind of JSON value a leaf was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// A number (its text is kept as written).
    Num,
    /// `true`/`false`.
    Bool,
    /// `null`.
    Null,
}

/// One value of an event.
#[derive(Debug, Clone)]
pub struct Leaf<'a> {
    /// The rule field it answers to.
    pub field: FieldId,
    /// The value as text.
    pub text: Cow<'a, str>,
    /// Its lower-case form when that differs (`None`: `text` is already lower case), made
    /// on first use: most values are never compared case-insensitively.
    pub(crate) lower: std::cell::OnceCell<Option<String>>,
    /// Another field's copy of the same value (one path answering to several fields): a
    /// search of every value looks at it once, in the copy that is not an alias.
    pub(crate) alias: bool,
    /// The path's group in the schema: every leaf of one value shares it ([`UNNAMED`] for a
    /// leaf no rule names).
    pub group: u32,
    /// The JSON kind.
    pub kind: Kind,
}

impl Leaf<'_> {
    /// The value in lower case, for case-insensitive comparison.
    pub fn lower(&self) -> &str {
        self.lower
            .get_or_init(|| lowered(&self.text))
            .as_deref()
            .unwrap_or(&self.text)
    }
}

fn lowered(s: &str) -> Option<String> {
    if s.is_ascii() {
        s.bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| s.to_ascii_lowercase())
    } else if s.chars().all(|c| match c {
        'A'..='Z' => false,
        c if c.is_ascii() => true,
        c => caseless(c),
    }) {
        // Chinese text (asset names, owners, messages) is the common case: it is found
        // unchanged without `to_lowercase`'s table search per character and its copy.
        None
    } else {
        let l = s.to_lowercase();
        (l != s).then_some(l)
    }
}

/// Characters no case mapping changes, common in Chinese and East Asian text: CJK
/// punctuation and kana, ideographs, Hangul syllables, and the fullwidth forms that are not
/// letters (the test below checks every one against `char::to_lowercase`).
fn caseless(c: char) -> bool {
    matches!(
        c as u32,
        0x3000..=0x30FF
            | 0x3400..=0x9FFF
            | 0xAC00..=0xD7A3
            | 0xFF00..=0xFF20
            | 0xFF3B..=0xFF40
            | 0xFF5B..=0xFFEF
    )
}

/// Field names to ids, and the event paths that answer to each.
#[derive(Debug, Default, Clone)]
pub struct Schema {
    names: Vec<String>,
    by_name: FxHashMap<String, FieldId>,
    /// Event path → its group: the fields it answers to (its own name and any mapped Sigma
    /// names).
    paths: FxHashMap<String, u32>,
    groups: Vec<Vec<FieldId>>,
    /// Path prefixes whose children also answer to their bare name (`winlog.event_data.`).
    prefixes: Vec<String>,
    /// The first segment of every path and prefix (and `Event`, where raw Windows events
    /// keep their values): a document's other top-level keys hold nothing a rule names.
    roots: FxHashSet<String>,
    /// Keep unnamed leaves too (some rule searches keywords).
    pub keep_unnamed: bool,
}

impl Schema {
    /// The id of a field, registering it on first use.
    pub fn field(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.by_name.get(name) {
            return *id;
        }
        let id = self.names.len() as FieldId;
        self.names.push(name.to_string());
        self.by_name.insert(name.to_string(), id);
        self.alias(name, id);
        id
    }

    /// The id of an already registered field.
    pub fn lookup(&self, name: &str) -> Option<FieldId> {
        self.by_name.get(name).copied()
    }

    /// The name of a field.
    pub fn name(&self, id: FieldId) -> &str {
        self.names
            .get(id as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Also read field `id` from the event path `path`.
    pub fn alias(&mut self, path: &str, id: FieldId) {
        self.add_root(path);
        let next = self.groups.len() as u32;
        let group = *self.paths.entry(path.to_string()).or_insert(next);
        if group == next {
            self.groups.push(vec![]);
        }
        let ids = &mut self.groups[group as usize];
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// The fields each path group answers to, by group (see [`Leaf::group`]).
    pub fn groups(&self) -> &[Vec<FieldId>] {
        &self.groups
    }

    /// Children of `prefix` also answer to their bare names.
    pub fn strip_prefix(&mut self, prefix: &str) {
        if !self.prefixes.iter().any(|p| p == prefix) {
            self.prefixes.push(prefix.to_string());
            self.add_root(prefix);
        }
    }

    fn add_root(&mut self, path: &str) {
        let first = first_segment(path);
        if !self.roots.contains(first) {
            self.roots.insert(first.to_string());
        }
    }

    /// Whether a top-level key of a document can hold a value worth flattening.
    fn walks(&self, key: &str) -> bool {
        self.keep_unnamed || key == "Event" || self.roots.contains(first_segment(key))
    }

    /// Number of registered fields.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no field is registered.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn group_of(&self, path: &str) -> Option<u32> {
        if let Some(g) = self.paths.get(path) {
            return Some(*g);
        }
        self.prefixes.iter().find_map(|p| {
            let rest = path.strip_prefix(p.as_str())?;
            self.paths.get(rest).copied()
        })
    }
}

fn first_segment(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// An event flattened for matching.
#[derive(Debug, Default)]
pub struct FlatEvent<'a> {
    /// Every kept value.
    pub leaves: Vec<Leaf<'a>>,
}

impl<'a> FlatEvent<'a> {
    /// The values of a field (leaves are kept sorted by field, so this is a binary search).
    pub fn values(&self, field: FieldId) -> impl Iterator<Item = &Leaf<'a>> {
        let start = self.leaves.partition_point(|l| l.field < field);
        self.leaves[start..]
            .iter()
            .take_while(move |l| l.field == field)
    }

    /// The first value of a field as text.
    pub fn first(&self, field: FieldId) -> Option<&str> {
        self.values(field).next().map(|l| l.text.as_ref())
    }

    /// Sized for a typical log line, so the walk rarely grows it (the path likewise).
    fn with_room() -> FlatEvent<'a> {
        FlatEvent {
            leaves: Vec::with_capacity(48),
        }
    }

    /// Flattens one JSON document given as text.
    pub fn from_json(schema: &Schema, text: &'a str) -> Result<FlatEvent<'a>, serde_json::Error> {
        let mut ev = FlatEvent::with_room();
        let mut de = serde_json::Deserializer::from_str(text);
        Walk {
            schema,
            path: String::with_capacity(96),
            depth: 0,
            out: &mut ev.leaves,
        }
        .deserialize(&mut de)?;
        de.end()?;
        ev.leaves.sort_by_key(|l| l.field);
        Ok(ev)
    }

    /// Flattens a parsed document.
    pub fn from_value(schema: &Schema, value: &'a serde_json::Value) -> FlatEvent<'a> {
        let mut ev = FlatEvent::with_room();
        let mut w = Walk {
            schema,
            path: String::with_capacity(96),
            depth: 0,
            out: &mut ev.leaves,
        };
        w.value(value);
        ev.leaves.sort_by_key(|l| l.field);
        ev
    }
}

/// The walk over one document: `path` is the dotted path of the current value.
struct Walk<'s, 'o, 'a> {
    schema: &'s Schema,
    path: String,
    depth: usize,
    out: &'o mut Vec<Leaf<'a>>,
}

/// Deeper nesting than this is not walked (a hostile document cannot recurse forever).
const MAX_DEPTH: usize = 64;

impl<'a> Walk<'_, '_, 'a> {
    fn leaf(&mut self, text: Cow<'a, str>, kind: Kind) {
        // Most leaves are not a raw Windows event's: the prefix is checked inline first.
        let name = if self.path.starts_with("Event.") {
            windows_name(&self.path)
        } else {
            None
        };
        let path = name.as_deref().unwrap_or(&self.path);
        let group = self.schema.group_of(path).or_else(|| {
            // Defender writes `Threat Name`; rules say `ThreatName`.
            (name.is_some() && path.contains(' '))
                .then(|| self.schema.group_of(&path.replace(' ', "")))
                .flatten()
        });
        match group {
            Some(group) => {
                let ids = &self.schema.groups[group as usize];
                let Some((last, rest)) = ids.split_last() else {
                    return;
                };
                for id in rest {
                    self.out.push(Leaf {
                        field: *id,
                        text: text.clone(),
                        lower: Default::default(),
                        alias: true,
                        group,
                        kind,
                    });
                }
                self.out.push(Leaf {
                    field: *last,
                    text,
                    lower: Default::default(),
                    alias: false,
                    group,
                    kind,
                });
            }
            None if self.schema.keep_unnamed => self.out.push(Leaf {
                field: UNNAMED,
                text,
                lower: Default::default(),
                alias: false,
                group: UNNAMED,
                kind,
            }),
            None => {}
        }
    }

    /// Starts a key's segment of the path (the key is written next) and returns where the
    /// path is cut back to after its value.
    fn open_segment(&mut self) -> usize {
        let mark = self.path.len();
        if mark > 0 {
            self.path.push('.');
        }
        mark
    }

    fn value(&mut self, v: &'a serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Null => self.leaf(Cow::Borrowed(""), Kind::Null),
            Value::Bool(b) => {
                self.leaf(Cow::Borrowed(if *b { "true" } else { "false" }), Kind::Bool)
            }
            Value::Number(n) => self.leaf(Cow::Owned(n.to_string()), Kind::Num),
            Value::String(s) => self.leaf(Cow::Borrowed(s), Kind::Str),
            Value::Array(a) if self.depth < MAX_DEPTH => {
                self.depth += 1;
                a.iter().for_each(|x| self.value(x));
                self.depth -= 1;
            }
            Value::Object(m) if self.depth < MAX_DEPTH => {
                let top = self.depth == 0;
                self.depth += 1;
                for (k, x) in m {
                    if top && !self.schema.walks(k) {
                        continue;
                    }
                    let mark = self.open_segment();
                    self.path.push_str(k);
                    self.value(x);
                    self.path.truncate(mark);
                }
                self.depth -= 1;
            }
            _ => {}
        }
    }
}

/// The name Sigma's Windows rules use for a leaf of a raw Windows event as the `evtx`
/// crate renders it: `Event.EventData.Image` → `Image`, `Event.System.EventID` → `EventID`,
/// `Event.System.Provider.#attributes.Name` → `Provider_Name`,
/// `Event.UserData.<Element>.Param` → `Param`; `None` for any other path.
pub fn windows_name(path: &str) -> Option<String> {
    let rest = path.strip_prefix("Event.")?;
    let (section, rest) = rest.split_once('.')?;
    let rest = rest.strip_suffix(".#text").unwrap_or(rest);
    match section {
        "System" => match rest.split_once(".#attributes.") {
            Some((element, attr)) if !element.contains('.') => Some(format!("{element}_{attr}")),
            None if !rest.contains('.') => Some(rest.to_string()),
            _ => None,
        },
        "EventData" | "UserData" => {
            if rest.contains("#attributes") {
                return None;
            }
            rest.rsplit('.').next().map(str::to_string)
        }
        _ => None,
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(mut self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(&mut self)
    }
}

impl<'de> DeserializeSeed<'de> for &mut Walk<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Walk<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(Cow::Borrowed(if v { "true" } else { "false" }), Kind::Bool);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.leaf(Cow::Owned(v.to_string()), Kind::Num);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.leaf(Cow::Owned(v.to_string()), Kind::Num);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.leaf(Cow::Owned(v.to_string()), Kind::Num);
        Ok(())
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.leaf(Cow::Borrowed(v), Kind::Str);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.leaf(Cow::Owned(v.to_string()), Kind::Str);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.leaf(Cow::Borrowed(""), Kind::Null);
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.leaf(Cow::Borrowed(""), Kind::Null);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom("nested too deeply"));
        }
        self.depth += 1;
        while seq.next_element_seed(&mut *self)?.is_some() {}
        self.depth -= 1;
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom("nested too deeply"));
        }
        let top = self.depth == 0;
        self.depth += 1;
        loop {
            let mark = self.open_segment();
            if map.next_key_seed(KeyOnto(&mut self.path))?.is_none() {
                self.path.truncate(mark);
                break;
            }
            // At the top the path was empty: it now holds just the key.
            if top && !self.schema.walks(&self.path) {
                self.path.truncate(mark);
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(&mut *self)?;
            self.path.truncate(mark);
        }
        self.depth -= 1;
        Ok(())
    }
}

/// A map key written straight onto the walk's path: keys are many, and reading each into a
/// `String` of its own (what `Cow<str>` deserialises to) cost an allocation apiece.
struct KeyOnto<'p>(&'p mut String);

impl<'de> DeserializeSeed<'de> for KeyOnto<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyOnto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_flat_and_windows_shapes() {
        let mut s = Schema::default();
        let image = s.field("Image");
        let provider = s.field("Provider_Name");
        let user = s.field("User");
        let ip = s.field("source.ip");
        s.alias("user.name", user);
        s.strip_prefix("winlog.event_data.");
        let raw = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1},"EventData":{"Image":"C:\\Windows\\CMD.exe"}}}"##;
        let ev = FlatEvent::from_json(&s, raw).unwrap();
        assert_eq!(ev.first(image), Some("C:\\Windows\\CMD.exe"));
        assert_eq!(
            ev.values(image).next().unwrap().lower(),
            "c:\\windows\\cmd.exe"
        );
        assert_eq!(ev.first(provider), Some("Microsoft-Windows-Sysmon"));
        let ecs = r#"{"user":{"name":"Root"},"source":{"ip":["10.0.0.1","10.0.0.2"]},"winlog":{"event_data":{"Image":"x"}},"other":1}"#;
        let ev = FlatEvent::from_json(&s, ecs).unwrap();
        assert_eq!(ev.first(user), Some("Root"));
        assert_eq!(ev.values(ip).count(), 2);
        assert_eq!(ev.first(image), Some("x"));
        assert_eq!(ev.leaves.len(), 4, "unnamed leaves are dropped");
        let value: serde_json::Value = serde_json::from_str(ecs).unwrap();
        assert_eq!(FlatEvent::from_value(&s, &value).leaves.len(), 4);
        s.keep_unnamed = true;
        assert_eq!(FlatEvent::from_json(&s, ecs).unwrap().leaves.len(), 5);
        assert!(FlatEvent::from_json(&s, "{\"a\": ").is_err());
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(FlatEvent::from_json(&s, &deep).is_err());
    }

    #[test]
    fn keys_escaped_skipped_and_nested_leave_the_path_as_it_was() {
        let mut s = Schema::default();
        let ip = s.field("source.ip");
        let user = s.field("user.name");
        // An escaped key (`\u0073ource` is `source`) is read unborrowed; a skipped top-level
        // key, an empty key and a nested object before the named ones must leave no trace
        // on the path.
        let text = r#"{"skip":{"a":{"b":1}},"":{"x":1},"\u0073ource":{"port":22,"ip":"10.0.0.9"},"user":{"name":"ops","id":{"n":1}},"source":{"ip":"10.0.0.8"}}"#;
        let ev = FlatEvent::from_json(&s, text).unwrap();
        let texts =
            |ev: &FlatEvent, f| ev.values(f).map(|l| l.text.to_string()).collect::<Vec<_>>();
        assert_eq!(texts(&ev, ip), ["10.0.0.9", "10.0.0.8"]);
        assert_eq!(texts(&ev, user), ["ops"]);
        // A key that is not text is no JSON object.
        assert!(FlatEvent::from_json(&s, r#"{1:"a"}"#).is_err());
    }

    #[test]
    fn leaves_sort_by_field_in_document_order() {
        let mut s = Schema::default();
        let a = s.field("a");
        let b = s.field("b");
        let ev =
            FlatEvent::from_json(&s, r#"{"b":["1","2"],"a":"x","c":{"b":"no"},"b2":0}"#).unwrap();
        let got: Vec<(FieldId, &str)> = ev
            .leaves
            .iter()
            .map(|l| (l.field, l.text.as_ref()))
            .collect();
        assert_eq!(got, vec![(a, "x"), (b, "1"), (b, "2")]);
        let mut s = s.clone();
        s.alias("c.b", b);
        let ev = FlatEvent::from_json(&s, r#"{"c":{"b":"0"},"b":["1","2"],"a":"x"}"#).unwrap();
        let texts: Vec<&str> = ev.values(b).map(|l| l.text.as_ref()).collect();
        assert_eq!(texts, vec!["0", "1", "2"]);
        assert_eq!(ev.first(a), Some("x"));
    }

    #[test]
    fn caseless_characters_have_no_lower_case_of_their_own() {
        let changed: Vec<char> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| caseless(*c))
            .filter(|c| !c.to_lowercase().eq([*c]))
            .collect();
        assert_eq!(changed, vec![], "caseless characters that lowering changes");
        assert_eq!(lowered("政务服务门户（二期）"), None);
        assert_eq!(lowered("张三 zhang"), None);
        assert_eq!(lowered("张三 Zhang").as_deref(), Some("张三 zhang"));
        assert_eq!(lowered("ＡＢＣ报表").as_deref(), Some("ａｂｃ报表"));
        assert_eq!(lowered("ΣΊΣΥΦΟΣ").as_deref(), Some("σίσυφος"));
    }

    #[test]
    fn windows_names() {
        assert_eq!(
            windows_name("Event.System.EventID").as_deref(),
            Some("EventID")
        );
        assert_eq!(
            windows_name("Event.System.Security.#attributes.UserID").as_deref(),
            Some("Security_UserID")
        );
        assert_eq!(
            windows_name("Event.UserData.EventXML.Param1").as_deref(),
            Some("Param1")
        );
        assert_eq!(
            windows_name("Event.EventData.Data.#text").as_deref(),
            Some("Data")
        );
        assert_eq!(windows_name("winlog.event_id"), None);
    }
}
