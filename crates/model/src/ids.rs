//! Identifiers: UUIDv7 rendered as text, so they sort by creation time in every SQL engine.

/// A new time-ordered identifier.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when `s` is a well-formed identifier (any UUID in hyphenated form).
pub fn is_valid_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a));
        assert!(a < b, "UUIDv7 text sorts by creation time");
        assert!(!is_valid_id("not-an-id"));
        assert!(!is_valid_id("../../etc/passwd"));
    }
}
