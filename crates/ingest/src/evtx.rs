//! Windows event log files (`.evtx`): each record as one line of JSON for the `winlog` parser.
//!
//! EVTX is a chunked binary XML format with string and template tables shared inside each
//! chunk; the `evtx` crate reads it (the parser chainsaw and others build on). A record comes
//! out as `{"Event": {"System": {…}, "EventData": {…}}}`, XML attributes under
//! `#attributes`, which is what [`crate::normalise`] recognises.

use std::path::Path;

/// The first eight bytes of every EVTX file.
const MAGIC: &[u8; 8] = b"ElfFile\0";

/// One record as read: its JSON on one line, or why it could not be read.
pub type Record = Result<String, String>;

/// Whether `path` should be read as EVTX: it says so by its extension, or its content starts
/// with the EVTX signature (a log saved under another name).
pub fn is_evtx(path: &Path) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
    {
        return true;
    }
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| &head == MAGIC)
}

/// Reads every record of an EVTX file, in order. A record that cannot be decoded is an `Err`
/// in its place (so its position, from 1, is its record number in the file) rather than left
/// out: an import must be able to say what it did not take. The outer error is a file that
/// cannot be opened or is not EVTX at all.
pub fn read(path: &Path) -> Result<Vec<Record>, String> {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if &head != MAGIC {
        return Err(format!(
            "{}: not an EVTX file (no `ElfFile` signature)",
            path.display()
        ));
    }
    let parser = evtx::EvtxParser::from_path(path)
        .map_err(|e| format!("{}: not a readable EVTX file: {e}", path.display()))?;
    // The default pretty-prints; attributes stay inline under `#attributes`, the shape the
    // Sigma regression data and other tools' exports use.
    let settings = evtx::ParserSettings::new()
        .indent(false)
        .separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    Ok(parser
        .records_json_value()
        .map(|r| match r {
            Ok(rec) => serde_json::to_string(&rec.data).map_err(|e| e.to_string()),
            Err(e) => Err(one_line(&e.to_string())),
        })
        .collect())
}

/// Error texts from the binary XML decoder can span lines; a summary wants one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_evtx_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fake.evtx");
        std::fs::write(&p, b"<Event>not binary</Event>\n").unwrap();
        assert!(is_evtx(&p));
        let e = read(&p).unwrap_err();
        assert!(e.contains("not an EVTX file"), "{e}");
        let short = dir.path().join("short.evtx");
        std::fs::write(&short, b"Elf").unwrap();
        assert!(read(&short).is_err());
        // The signature alone, with no header behind it.
        let bare = dir.path().join("bare.log");
        std::fs::write(&bare, b"ElfFile\0").unwrap();
        assert!(is_evtx(&bare));
        let e = read(&bare).unwrap_err();
        assert!(e.contains("not a readable EVTX file"), "{e}");
        assert!(!is_evtx(&dir.path().join("missing.log")));
    }
}
