//! Diagnostics for the prefilter: over an NDJSON file, how many rules each event is routed
//! to, how many the literal prefilter lets through, and how many match.
//!
//! `cargo run --release -p yunshou-detect --example candidates -- RULES_DIR MAPPING EVENTS`

use std::io::BufRead;
use yunshou_detect::{sigma, Engine, FlatEvent, Mapping};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rules, mapping, events] = &args[..] else {
        eprintln!("usage: candidates RULES_DIR MAPPING EVENTS");
        std::process::exit(2);
    };
    let loaded = sigma::load_dir(std::path::Path::new(rules)).expect("rules");
    let mut map = Mapping::default();
    map.add_file(std::path::Path::new(mapping))
        .expect("mapping");
    let engine = Engine::build(loaded, &map);
    let (mut n, mut cands, mut hits) = (0u64, 0u64, 0u64);
    let mut per_rule = vec![(0u64, 0u64); engine.rules().len()];
    for line in std::io::BufReader::new(std::fs::File::open(events).expect("events")).lines() {
        let line = line.expect("line");
        let ev = FlatEvent::from_json(engine.schema(), &line).expect("json");
        let c = engine.candidates(&ev);
        let m = engine.evaluate(&ev);
        for r in &c {
            per_rule[*r as usize].0 += 1;
        }
        for r in &m {
            per_rule[*r as usize].1 += 1;
        }
        n += 1;
        cands += c.len() as u64;
        hits += m.len() as u64;
    }
    println!(
        "events {n}: candidates/event {:.1}, matches/event {:.2}",
        cands as f64 / n as f64,
        hits as f64 / n as f64
    );
    let mut worst: Vec<(usize, (u64, u64))> = per_rule.into_iter().enumerate().collect();
    worst.sort_by_key(|(_, (c, m))| std::cmp::Reverse(c - m));
    for (i, (c, m)) in worst.into_iter().take(15) {
        let r = &engine.rules()[i].rule;
        println!("{c:>8} candidates {m:>7} matches  {}  {}", r.id, r.title);
    }
}
