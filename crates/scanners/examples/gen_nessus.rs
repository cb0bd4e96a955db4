//! Writes a large `.nessus` file for the import benchmark:
//!
//! ```text
//! cargo run --release -p yunshou-scanners --example gen_nessus -- N OUT.nessus [SAMPLE.nessus]
//! ```
//!
//! N ReportItems over about N/20 hosts in 10.x addresses, shaped like the sample (by default
//! `shared/fixtures/scanners/nessus/nessus_with_cvssv3.nessus`): its Policy once, each host's
//! HostProperties modelled on the sample's, and its ReportItems cycled verbatim — plugin ids,
//! CVEs, CVSS vectors and outputs included. The output depends only on N and the sample.

use std::fs;
use std::io::{BufWriter, Write};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/scanners/nessus/nessus_with_cvssv3.nessus"
);

/// Items per host, on average: a typical credentialed scan of a server.
const ITEMS_PER_HOST: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: gen_nessus N OUT.nessus [SAMPLE.nessus]";
    let n: usize = args.next().ok_or(usage)?.parse()?;
    let out_path = args.next().ok_or(usage)?;
    let sample_path = args.next().unwrap_or_else(|| SAMPLE.to_string());
    let sample = fs::read_to_string(&sample_path)?;

    let policy = between(&sample, "<Policy>", "</Policy>").ok_or("the sample has no <Policy>")?;
    let items = blocks(&sample, "<ReportItem ", "</ReportItem>");
    if items.is_empty() {
        return Err("the sample has no ReportItem".into());
    }

    let hosts = n.div_ceil(ITEMS_PER_HOST).max(1);
    let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&out_path)?);
    writeln!(out, "<?xml version=\"1.0\" ?>")?;
    writeln!(out, "<NessusClientData_v2>")?;
    writeln!(out, "<Policy>{policy}</Policy>")?;
    writeln!(
        out,
        "<Report name=\"bench {n}\" xmlns:cm=\"http://www.nessus.org/cm\">"
    )?;
    let start = 1_648_042_311u64;
    let mut k = 0usize;
    for h in 0..hosts {
        // Items spread evenly: host h gets items [h·n/hosts, (h+1)·n/hosts).
        let count = (h + 1) * n / hosts - h * n / hosts;
        let ip = format!(
            "10.{}.{}.{}",
            20 + (h >> 16) % 200,
            (h >> 8) & 0xff,
            (h & 0xff) + 1
        );
        let began = start + (h as u64) * 37;
        let ended = began + 1_800 + (h as u64 % 600);
        writeln!(out, "<ReportHost name=\"{ip}\"><HostProperties>")?;
        writeln!(out, "<tag name=\"HOST_END_TIMESTAMP\">{ended}</tag>")?;
        writeln!(out, "<tag name=\"operating-system\">{}</tag>", os(h))?;
        writeln!(
            out,
            "<tag name=\"cpe-0\">cpe:/o:linux:linux_kernel -&gt; Linux Kernel</tag>"
        )?;
        writeln!(
            out,
            "<tag name=\"host-fqdn\">host-{h:05}.gov-cloud.example</tag>"
        )?;
        writeln!(out, "<tag name=\"host-ip\">{ip}</tag>")?;
        writeln!(out, "<tag name=\"HOST_START_TIMESTAMP\">{began}</tag>")?;
        writeln!(out, "</HostProperties>")?;
        for _ in 0..count {
            out.write_all(items[k % items.len()].as_bytes())?;
            out.write_all(b"\n")?;
            k += 1;
        }
        writeln!(out, "</ReportHost>")?;
    }
    writeln!(out, "</Report>")?;
    writeln!(out, "</NessusClientData_v2>")?;
    out.flush()?;
    eprintln!("{out_path}: {n} ReportItems on {hosts} hosts");
    Ok(())
}

fn os(h: usize) -> &'static str {
    [
        "Linux Kernel 5.15 on Ubuntu 22.04",
        "Microsoft Windows Server 2019",
        "CentOS Linux 7",
    ][h % 3]
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = a + s[a..].find(close)?;
    Some(&s[a..b])
}

/// Every `open … close` block, verbatim.
fn blocks<'a>(s: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find(open) {
        let Some(len) = rest[a..].find(close) else {
            break;
        };
        let end = a + len + close.len();
        out.push(&rest[a..end]);
        rest = &rest[end..];
    }
    out
}
