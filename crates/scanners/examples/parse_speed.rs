//! Parse speed and peak memory of one import, without storing anything:
//!
//! ```text
//! cargo run --release -p yunshou-scanners --example parse_speed -- FILE [FORMAT]
//! ```
//!
//! The sink only counts, so the figures are the parser's own. Peak memory is the process's
//! high-water mark (Linux `VmHWM`).

use std::io::{BufReader, Read};
use std::time::Instant;

use yunshou_scanners::{parse, sniff, Format};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: parse_speed FILE [FORMAT]")?;
    let format = match args.next() {
        Some(name) => Format::parse(&name).ok_or("unknown format")?,
        None => {
            let mut head = vec![0; 64 * 1024];
            let n = std::fs::File::open(&path)?.read(&mut head)?;
            sniff(&path, &head[..n]).ok_or("format not recognised")?
        }
    };
    let bytes = std::fs::metadata(&path)?.len();
    let mut input = BufReader::with_capacity(64 * 1024, std::fs::File::open(&path)?);
    let started = Instant::now();
    let mut items = 0u64;
    let summary = parse(format, &mut input, &mut |_| {
        items += 1;
        Ok::<(), std::convert::Infallible>(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{format}: {} findings, {} targets, {} items in {secs:.2} s ({:.0} findings/s, {:.1} MB/s); peak memory {}",
        summary.findings,
        summary.targets,
        items,
        summary.findings as f64 / secs,
        bytes as f64 / secs / 1e6,
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
    Ok(())
}

fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_string())
}
