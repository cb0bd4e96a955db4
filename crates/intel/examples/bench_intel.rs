//! Indicator-set benchmark: build time, memory, and `match_event` throughput.
//!
//! `cargo run --release -p yunshou-intel --example bench_intel -- 1000000`
//!
//! Generates N mixed indicators deterministically (IPv4, IPv6, CIDR, domains,
//! URLs, SHA-256; four feeds, some with expiry), streams them into an
//! `IndicatorSetBuilder`, then matches ~1M ECS events (network, DNS, web and
//! file events; about 1 in 100 carries a listed value) on one thread.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use yunshou_intel::{Indicator, IndicatorKind, IndicatorSetBuilder};

/// SplitMix64: deterministic, no dependency.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn ipv4(r: u64) -> String {
    let a = (r as u32) | 0x0100_0000; // never 0.x.x.x
    std::net::Ipv4Addr::from(a).to_string()
}

const WORDS: [&str; 8] = [
    "cdn", "mail", "update", "secure", "login", "api", "static", "portal",
];
const TLDS: [&str; 6] = ["com", "net", "org", "cn", "ru", "example"];

fn domain(r: u64) -> String {
    let w = WORDS[(r % 8) as usize];
    let t = TLDS[((r >> 3) % 6) as usize];
    format!("{w}-{:x}.{t}", r >> 16)
}

/// Indicator `i`, the same on every run.
fn indicator(i: u64, sources: &[Arc<str>]) -> Indicator {
    let r = mix(i);
    let (kind, value) = match i % 20 {
        0..=7 => (IndicatorKind::Ipv4, ipv4(r)),
        8 => (
            IndicatorKind::Ipv6,
            format!("2001:db8:{:x}:{:x}::1", r & 0xffff, (r >> 16) & 0xffff),
        ),
        9 => (
            IndicatorKind::Cidr,
            format!(
                "{}/{}",
                ipv4(r),
                [24, 26, 28, 29, 30][(r >> 40) as usize % 5]
            ),
        ),
        10..=14 => (IndicatorKind::Domain, domain(r)),
        15..=16 => (
            IndicatorKind::Url,
            format!("http://{}/{:x}/gate.php", domain(r), r >> 20),
        ),
        _ => (
            IndicatorKind::Sha256,
            format!(
                "{:016x}{:016x}{:016x}{:016x}",
                r,
                mix(r),
                mix(r + 1),
                mix(r + 2)
            ),
        ),
    };
    let mut ind = Indicator::new(
        kind,
        &value,
        sources[(r >> 60) as usize % sources.len()].clone(),
    )
    .expect("generated values are valid");
    ind.confidence = Some([30, 60, 90][(r >> 50) as usize % 3]);
    if r % 4 == 0 {
        ind.valid_until = Some(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap());
    }
    ind.labels = vec!["malicious-activity".into()];
    ind
}

/// Event `e`; every 100th carries the value of a listed indicator.
fn event(e: u64, n: u64, sources: &[Arc<str>]) -> Value {
    let r = mix(e ^ 0xABCD_EF01);
    let base = |extra: Value| {
        let mut v = json!({
            "@timestamp": "2025-06-01T00:00:00Z",
            "event": {"kind": "event", "dataset": "bench"},
            "host": {"name": "web-01"},
            "source": {"ip": ipv4(r), "port": 40000 + (r % 20000)},
            "destination": {"ip": ipv4(mix(r)), "port": 443},
            "message": "benchmark event",
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut v, extra) {
            a.extend(b);
        }
        v
    };
    if e % 100 == 0 {
        // A hit: reuse an indicator's value in the field its kind belongs to.
        let ind = indicator(r % n, sources);
        return match ind.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                base(json!({"destination": {"ip": ind.value}}))
            }
            IndicatorKind::Cidr => {
                let net = ind.value.split('/').next().unwrap_or_default().to_owned();
                base(json!({"destination": {"ip": net}}))
            }
            IndicatorKind::Domain => {
                base(json!({"dns": {"question": {"name": format!("www.{}", ind.value)}}}))
            }
            IndicatorKind::Url => base(json!({"url": {"original": ind.value}})),
            _ => base(json!({"file": {"hash": {"sha256": ind.value}}})),
        };
    }
    match r % 10 {
        0..=4 => base(json!({})),
        5..=6 => {
            base(json!({"dns": {"question": {"name": format!("www.{}", domain(mix(r + 7)))}}}))
        }
        7..=8 => base(json!({
            "url": {"original": format!("https://{}/index.html?q={}", domain(mix(r + 9)), r % 1000),
                    "domain": domain(mix(r + 9))}
        })),
        _ => base(
            json!({"file": {"hash": {"sha256": format!("{:016x}{:016x}{:016x}{:016x}", r, r, r, r)}}}),
        ),
    }
}

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let events: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let sources: Vec<Arc<str>> = ["abuse-feed", "circl-osint", "vendor-stix", "internal"]
        .into_iter()
        .map(Arc::from)
        .collect();
    let rss0 = status("VmRSS:");

    let t = Instant::now();
    let mut b = IndicatorSetBuilder::new();
    for i in 0..n {
        b.insert(&indicator(i, &sources)).expect("insert");
    }
    let set = b.build();
    let build = t.elapsed();
    let (hwm_build, rss_set) = (status("VmHWM:"), status("VmRSS:"));

    let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap() + Duration::seconds(1);

    // Cold: 10,000 distinct events cycled. A million `Value`s would cost more
    // memory than the set; 10k (~40 MB of small allocations) are already far
    // out of cache, unlike an event the pipeline has just parsed.
    let pool: Vec<Value> = (0..events.min(10_000))
        .map(|e| event(e, n, &sources))
        .collect();
    let t = Instant::now();
    let (mut hits, mut hit_events) = (0usize, 0usize);
    for e in 0..events {
        let h = set.match_event(&pool[(e % pool.len() as u64) as usize], now);
        hit_events += usize::from(!h.is_empty());
        hits += h.len();
    }
    let cold = t.elapsed();
    drop(pool);

    // Hot: as in the pipeline, the event is in cache (a pool of 500) but its
    // addresses and DNS name are fresh each time (cold in the indicator
    // tables). Rewriting them is timed on its own and subtracted.
    let mut pool: Vec<Value> = (0..500).map(|e| event(e, n, &sources)).collect();
    let refresh = |ev: &mut Value, e: u64| {
        let hit_event = e % 500 % 100 == 0;
        let r = mix(e ^ 0x1234_5678);
        ev["source"]["ip"] = Value::String(ipv4(r));
        if !hit_event {
            ev["destination"]["ip"] = Value::String(ipv4(mix(r)));
            if let Some(name) = ev.pointer_mut("/dns/question/name") {
                *name = Value::String(format!("www.{}", domain(mix(r + 7))));
            }
        }
    };
    let t = Instant::now();
    for e in 0..events {
        refresh(&mut pool[(e % 500) as usize], e);
    }
    let rewrite = t.elapsed();
    let t = Instant::now();
    let mut hot_hits = 0usize;
    for e in 0..events {
        let ev = &mut pool[(e % 500) as usize];
        refresh(ev, e);
        hot_hits += set.match_event(ev, now).len();
    }
    let hot = t.elapsed().saturating_sub(rewrite);

    // Raw exact-IPv4 probes, for comparison with the per-event figure.
    let t = Instant::now();
    let mut found = 0usize;
    for i in 0..events {
        let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::from(mix(i ^ 0x5555) as u32));
        found += set.lookup(&yunshou_intel::Observable::Ip(ip), now).count();
    }
    let ip_lookups = t.elapsed();

    let mb = |kb: u64| kb as f64 / 1024.0;
    println!("| measure | value |");
    println!("|---|---|");
    println!("| indicators | {n} ({} entries) |", set.len());
    println!("| build time | {:.2} s |", build.as_secs_f64());
    println!(
        "| set heap (estimate) | {:.1} MB |",
        set.heap_bytes() as f64 / 1_048_576.0
    );
    println!("| RSS before build | {:.1} MB |", mb(rss0));
    println!("| RSS after build | {:.1} MB |", mb(rss_set));
    println!(
        "| peak RSS during build (VmHWM) | {:.1} MB |",
        mb(hwm_build)
    );
    println!(
        "| peak RSS overall (VmHWM, incl. event pool) | {:.1} MB |",
        mb(status("VmHWM:"))
    );
    println!(
        "| match_event, event in cache, fresh values | {events} events in {:.2} s = {:.0} events/s ({hot_hits} hits) |",
        hot.as_secs_f64(),
        events as f64 / hot.as_secs_f64()
    );
    println!(
        "| match_event, events out of cache (10k pool) | {events} events in {:.2} s = {:.0} events/s |",
        cold.as_secs_f64(),
        events as f64 / cold.as_secs_f64()
    );
    println!("| events with hits / hits (10k pool) | {hit_events} / {hits} |");
    println!(
        "| IP lookups (all CIDR lengths probed) | {:.0} /s ({found} found) |",
        events as f64 / ip_lookups.as_secs_f64()
    );
}
