//! Prints what importing a report would send: `cargo run -p yunshou-scanners --example dump --
//! FILE [FORMAT]` (the format is sniffed when not given). One JSON finding a line, scanned
//! targets marked `scanned`, then the summary.

use std::io::{BufReader, Read};

use yunshou_scanners::{parse, sniff, Format, ReportItem};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: dump FILE [FORMAT]")?;
    let format = match args.next() {
        Some(name) => Format::parse(&name).ok_or("unknown format")?,
        None => {
            let mut head = vec![0; 64 * 1024];
            let n = std::fs::File::open(&path)?.read(&mut head)?;
            sniff(&path, &head[..n]).ok_or("format not recognised")?
        }
    };
    let mut input = BufReader::new(std::fs::File::open(&path)?);
    let summary = parse(format, &mut input, &mut |item| {
        match item {
            ReportItem::Scanned(t) => println!("scanned {}", serde_json::to_string(&t)?),
            ReportItem::Finding(f) => println!("{}", serde_json::to_string(&f)?),
        }
        Ok::<(), serde_json::Error>(())
    })?;
    eprintln!("{format}: {summary:?}");
    Ok(())
}
