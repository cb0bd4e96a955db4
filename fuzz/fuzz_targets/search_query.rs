//! The search language a user types: parsing and translating to an index query (regexes for
//! wildcards, CIDR ranges, times) never panic, whatever the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunshou_eventstore::query::{message_analyzer, parse, Translator};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(node) = parse(text) {
        let (_, fields) = yunshou_eventstore::schema::schema();
        let mut t = Translator {
            fields: &fields,
            text: message_analyzer(),
        };
        let _ = t.query(&node);
    }
});
