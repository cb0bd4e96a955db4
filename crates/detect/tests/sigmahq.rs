//! Every rule of the SigmaHQ collection in `../shared/fixtures/sigma` loads, or is reported
//! with its file and reason — never skipped in silence.

use std::path::Path;
use yunshou_detect::sigma::load_dir;

#[test]
fn the_sigmahq_rules_load_or_say_why() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigma");
    let mut total = 0;
    for dir in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
        "rules-dfir",
    ] {
        let loaded = load_dir(&root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for e in &loaded.errors {
            eprintln!("{}#{}: {}", e.file.display(), e.document, e.reason);
        }
        assert!(
            loaded.errors.is_empty(),
            "{dir}: {} documents not loaded",
            loaded.errors.len()
        );
        assert!(loaded
            .rules
            .iter()
            .all(|r| !r.id.is_empty() && !r.conditions.is_empty()));
        total += loaded.rules.len();
    }
    assert!(total > 3000, "{total} rules");
}
