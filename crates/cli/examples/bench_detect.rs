//! Streaming detection benchmark (issue #5): what the pipeline's detector costs per event on
//! one core, with every SigmaHQ fixture rule and yunshou's pack loaded and a million
//! intelligence indicators for the tenant — intel matching, flattening, rule evaluation,
//! correlation, and recording the alerts in the store.
//!
//! `cargo run --release -p yunshou --example bench_detect -- SIGMA_DIR [EVENTS] [INDICATORS]`
//! (scripts/bench-detect runs it pinned to one core). With `BENCH_ALERTS_BY_RULE` set it
//! also lists the alerts by rule, to compare two builds' detections.

use std::sync::Arc;
use std::time::Instant;
use yunshou_ingest::Detector;
use yunshou_model::Actor;
use yunshou_server::detection::{RuleBook, RuleSources, StreamDetector};
use yunshou_server::intel::IntelBook;
use yunshou_store::Store;

// The allocator the yunshou binary runs the pipeline with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// A plain-CSV feed of `n` indicators: addresses, networks, domains, URLs and hashes.
fn feed(n: usize) -> String {
    let mut out = String::from("value,type,confidence\n");
    for i in 0..n {
        let x = (i as u64).wrapping_mul(2_654_435_761);
        match i % 5 {
            0 | 1 => out.push_str(&format!(
                "{}.{}.{}.{},ip,80\n",
                11 + x % 200,
                (x >> 8) % 256,
                (x >> 16) % 256,
                (x >> 24) % 256
            )),
            2 => out.push_str(&format!("bad-{x:x}.example,domain,70\n")),
            3 => out.push_str(&format!("http://c2-{x:x}.example/gate.php,url,60\n")),
            _ => out.push_str(&format!(
                "{:064x},sha256,90\n",
                u128::from(x) << 64 | u128::from(x)
            )),
        }
    }
    out
}

/// Records the pipeline's indexer takes at a time: a syslog receiver's batch
/// (`crates/ingest/src/syslog.rs`).
const PIPELINE_BATCH: usize = 512;

/// Events after which the busy routes' own automata are built (they are built on the same
/// pinned core, from the 256th event of a route): the rate after it is the sustained one.
const WARM_UP: usize = 50_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sigma = std::path::PathBuf::from(args.first().expect("SIGMA_DIR"));
    let events: usize = args.get(1).map_or(200_000, |s| s.parse().expect("EVENTS"));
    let indicators: usize = args
        .get(2)
        .map_or(1_000_000, |s| s.parse().expect("INDICATORS"));

    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path()).await?);
    store.bootstrap(Some(yunshou_demo::DEMO_PASSWORD)).await?;
    yunshou_demo::seed(&store).await?;
    let days = yunshou_demo::event_days(&store, chrono::Utc::now()).await?;
    let (tenant, lines) = days.into_iter().next().expect("a demo organisation");
    let now = chrono::Utc::now();
    let docs: Vec<(
        chrono::DateTime<chrono::Utc>,
        serde_json::Map<String, serde_json::Value>,
    )> = lines
        .iter()
        .map(|l| {
            let (t, mut d) = yunshou_ingest::normalise::parse(l, "auto", now);
            // What the pipeline's indexer adds before the detector sees an event
            // (crates/ingest/src/pipeline.rs): the raw line is one more value to search.
            let event = d
                .entry("event")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(ev) = event.as_object_mut() {
                ev.insert("original".into(), l.clone().into());
                ev.insert("ingested".into(), now.to_rfc3339().into());
                ev.entry("dataset").or_insert_with(|| "raw".into());
                ev.insert("module".into(), "syslog".into());
            }
            (t.unwrap_or(now), d)
        })
        .collect();

    let started = Instant::now();
    let dirs = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
        "rules-dfir",
    ]
    .iter()
    .map(|d| sigma.join(d))
    .filter(|d| d.is_dir())
    .collect();
    let book = Arc::new(RuleBook::load(&RuleSources {
        dirs,
        no_builtin: false,
    })?);
    let rules_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (_, scope) = store.operator_scope(yunshou_demo::CUSTOMERS[0].0).await?;
    let csv = feed(indicators);
    store
        .save_intel_feed(
            &scope,
            "bench",
            "csv",
            csv.as_bytes(),
            indicators as i64,
            0,
            &Actor::cli(),
        )
        .await?;
    drop(csv);
    let intel = Arc::new(IntelBook::default());
    intel.rebuild(&store).await?;
    let intel_secs = started.elapsed().as_secs_f64();
    let loaded = intel.count(&tenant);

    let detector = Arc::new(StreamDetector::new(book.clone(), intel, store.clone()).await?);
    // A live stream runs forward in time: the day's events in time order, replayed as one
    // organisation's stream of 1,000 events a second (event times 1 ms apart).
    let mut docs = docs;
    docs.sort_by_key(|(t, _)| *t);
    let start = docs[0].0;
    // The indexer parses each record just before inspecting it, so the detector reads a
    // document that is still in the cache: each batch of documents is made, unclocked, just
    // before it is inspected. With BENCH_COLD set every document is made before the run
    // (how the benchmark ran until the eleventh stop): the detector then reads documents
    // long evicted from the caches, which the pipeline never does.
    let cold = std::env::var_os("BENCH_COLD").is_some();
    let doc_at = move |i: usize| {
        let t = start + chrono::Duration::milliseconds(i as i64);
        (t, docs[i % docs.len()].1.clone())
    };
    let mut made_before = cold.then(|| (0..events).map(&doc_at).collect::<Vec<_>>().into_iter());
    let d = detector.clone();
    let t = tenant.clone();
    let secs = tokio::task::spawn_blocking(move || {
        let mut secs = 0.0;
        let mut recording = 0.0;
        let mut warm = None;
        // The pipeline inspects a batch of records, hands the documents on to the event
        // store and frees them: the clock runs over each batch's inspection (and the
        // detections' recording), not over making or freeing the documents.
        let mut i = 0;
        while i < events {
            let n = PIPELINE_BATCH.min(events - i);
            let batch: Vec<_> = match made_before.as_mut() {
                Some(made) => made.by_ref().take(n).collect(),
                None => (i..i + n).map(&doc_at).collect(),
            };
            let mut inspected = Vec::with_capacity(n);
            let started = Instant::now();
            for (time, mut doc) in batch {
                d.inspect(&t, i as u64 + 1, time, &mut doc);
                inspected.push(doc);
                // The indexer flushes detections twice a second; at this rate, every 50k
                // events.
                if i % 50_000 == 49_999 {
                    let t = Instant::now();
                    d.flush().expect("detections recorded");
                    recording += t.elapsed().as_secs_f64();
                }
                i += 1;
                if i == WARM_UP {
                    warm = Some(secs + started.elapsed().as_secs_f64());
                }
            }
            secs += started.elapsed().as_secs_f64();
            drop(inspected);
        }
        let t = Instant::now();
        d.flush().expect("detections recorded");
        let last = t.elapsed().as_secs_f64();
        recording += last;
        secs += last;
        (secs, recording, warm)
    })
    .await?;
    let (secs, recording, warm) = secs;
    let (_, alerts) = store
        .alerts(
            &scope,
            &Default::default(),
            yunshou_store::Page {
                limit: 1,
                offset: 0,
            },
        )
        .await?;
    println!(
        "rules {} + correlations {} (load {rules_secs:.1} s); indicators {loaded} (build {intel_secs:.1} s)",
        book.engine.stats.rules, book.engine.stats.correlations
    );
    println!(
        "events {events}: {secs:.2} s ({recording:.2} s of it recording alerts), {:.0} events/s on one core; alerts {alerts}; peak RSS {} MiB",
        events as f64 / secs,
        peak_rss_mib()
    );
    if let Some(warm) = warm.filter(|_| events > WARM_UP) {
        println!(
            "after the first {WARM_UP} events (routes' automata built): {:.0} events/s",
            (events - WARM_UP) as f64 / (secs - warm)
        );
    }
    // Two builds compared rule by rule: did a change lose or add a detection?
    if std::env::var_os("BENCH_ALERTS_BY_RULE").is_some() {
        let (all, _) = store
            .alerts(
                &scope,
                &Default::default(),
                yunshou_store::Page {
                    limit: alerts,
                    offset: 0,
                },
            )
            .await?;
        let mut by_rule = std::collections::BTreeMap::<_, (usize, i64)>::new();
        for a in &all {
            let e = by_rule
                .entry((a.rule_id.clone(), a.title.clone()))
                .or_default();
            e.0 += 1;
            e.1 += a.count;
        }
        for ((id, title), (alerts, count)) in by_rule {
            println!("{alerts:5} alerts {count:7} matches  {id}  {title}");
        }
    }
    Ok(())
}
