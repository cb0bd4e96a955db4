//! OpenVAS / Greenbone "CSV Results" export: one result a row, columns by name.

use std::io::BufRead;

use yunshou_model::finding::{normalise_cves, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful, paragraphs};
use crate::ParseError;

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| out.invalid("line 1", format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(ip_col), Some(name_col)) = (col("IP"), col("NVT Name")) else {
        return Err(out.invalid(
            "line 1",
            "the header row lacks the IP and NVT Name columns of an OpenVAS CSV export",
        ));
    };
    let cols = Cols {
        ip: ip_col,
        name: name_col,
        hostname: col("Hostname"),
        port: col("Port"),
        proto: col("Port Protocol"),
        cvss: col("CVSS"),
        severity: col("Severity"),
        summary: col("Summary"),
        result: col("Specific Result"),
        oid: col("NVT OID"),
        cves: col("CVEs"),
        timestamp: col("Timestamp"),
        impact: col("Impact"),
        solution: col("Solution"),
        affected: col("Affected Software/OS"),
        insight: col("Vulnerability Insight"),
        refs: col("Other References"),
        epss: col("EPSS Score"),
    };
    let mut record = csv::StringRecord::new();
    loop {
        let at = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(at);
                return Err(out.invalid(format!("line {line}"), e.to_string()));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(at);
        row(&cols, &record, out).map_err(|e| match e {
            Bad::Reason(r) => out.invalid(format!("line {line}"), r),
            Bad::Sink(e) => e,
        })?;
    }
}

struct Cols {
    ip: usize,
    name: usize,
    hostname: Option<usize>,
    port: Option<usize>,
    proto: Option<usize>,
    cvss: Option<usize>,
    severity: Option<usize>,
    summary: Option<usize>,
    result: Option<usize>,
    oid: Option<usize>,
    cves: Option<usize>,
    timestamp: Option<usize>,
    impact: Option<usize>,
    solution: Option<usize>,
    affected: Option<usize>,
    insight: Option<usize>,
    refs: Option<usize>,
    epss: Option<usize>,
}

enum Bad<E> {
    Reason(String),
    Sink(ParseError<E>),
}

impl<E> From<String> for Bad<E> {
    fn from(r: String) -> Self {
        Bad::Reason(r)
    }
}

fn row<E>(c: &Cols, rec: &csv::StringRecord, out: &mut Out<E>) -> Result<(), Bad<E>> {
    let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim();
    let ip = get(Some(c.ip));
    let mut target = Target {
        hostname: clean(get(c.hostname)),
        ..Default::default()
    };
    fields::place_address(&mut target, ip);
    if target.is_anonymous() {
        return Err("the IP cell is empty".to_string().into());
    }
    out.scanned(&target).map_err(Bad::Sink)?;

    let severity_word = get(c.severity);
    if severity_word.eq_ignore_ascii_case("false positive") {
        out.skip(format!(
            "OpenVAS result \"{}\" on {ip}: false positive",
            get(Some(c.name))
        ));
        return Ok(());
    }
    let (severity, raw) = match fields::cvss_severity(get(c.cvss))? {
        Some(s) => (Some(s), get(c.cvss).to_string()),
        None => (Severity::parse(severity_word), severity_word.to_string()),
    };
    let Some(severity) = severity else {
        return Err(
            format!("neither CVSS nor Severity (\"{severity_word}\") gives a severity").into(),
        );
    };
    let seen_at = match meaningful(get(c.timestamp)) {
        Some(t) => Some(fields::rfc3339(&t)?),
        None => None,
    };
    out.scan_time(seen_at.as_deref());
    let port = fields::port(get(c.port))?;
    let mut f = blank("openvas");
    f.target = Target {
        port,
        protocol: port
            .and(clean(get(c.proto)))
            .map(|p| p.to_ascii_lowercase()),
        ..target
    };
    f.check_id = clean(get(c.oid));
    f.title = get(Some(c.name)).to_string();
    let labelled =
        |label: &str, i: Option<usize>| meaningful(get(i)).map(|v| format!("{label}: {v}"));
    let insight = labelled("Insight", c.insight);
    let impact = labelled("Impact", c.impact);
    let affected = labelled("Affected", c.affected);
    f.description = paragraphs([
        meaningful(get(c.summary)).as_deref(),
        insight.as_deref(),
        impact.as_deref(),
        affected.as_deref(),
    ]);
    f.solution = meaningful(get(c.solution));
    f.evidence = clean(get(c.result));
    f.cves = normalise_cves(fields::split_list(get(c.cves)));
    f.severity = severity;
    f.severity_raw = Some(raw);
    f.references = fields::split_list(get(c.refs))
        .into_iter()
        .filter(|r| r.starts_with("http"))
        .collect();
    f.seen_at = seen_at;
    f.epss = match meaningful(get(c.epss)) {
        Some(e) => Some(
            e.parse::<f64>()
                .map_err(|_| format!("EPSS Score \"{e}\" is not a number"))?,
        ),
        None => None,
    };
    f.category = Some(fields::category_for(&[&f.title]).to_string());
    out.finding(f, String::new).map_err(|e| match e {
        ParseError::Invalid { reason, .. } => Bad::Reason(reason),
        e => Bad::Sink(e),
    })
}
