//! Qualys asset data report (`ASSET_DATA_REPORT`): hosts with their detections
//! (`HOST_LIST/HOST/VULN_INFO_LIST/VULN_INFO`), then the knowledge base of every QID named
//! (`GLOSSARY/VULN_DETAILS_LIST/VULN_DETAILS`), then hosts scanned without results
//! (`APPENDICES/NO_RESULTS`).
//!
//! The glossary comes last, so detections are held — host index, QID, port, result text,
//! times — until it has been read; glossary text is stored once per QID, not per finding.

use std::collections::HashMap;
use std::io::BufRead;
use std::net::Ipv4Addr;

use yunshou_model::finding::{normalise_cves, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful, paragraphs};
use crate::xml::{Ev, Xml};
use crate::{Format, ParseError};

/// Addresses of one NO_RESULTS range sent as scanned at most; a /16 is plenty for a report.
const MAX_RANGE: u32 = 65_536;

#[derive(Default)]
struct Detection {
    host: usize,
    at: u64,
    qid: String,
    kind: String,
    port: Option<u16>,
    protocol: Option<String>,
    service: Option<String>,
    fqdn: Option<String>,
    result: Option<String>,
    last_found: Option<String>,
    status: Option<String>,
}

#[derive(Default)]
struct Details {
    title: String,
    severity: Option<u8>,
    category: String,
    threat: Option<String>,
    impact: Option<String>,
    solution: Option<String>,
    cvss2: Option<String>,
    cvss3: Option<String>,
    cvss3_version: Option<String>,
    cves: Vec<String>,
    refs: Vec<String>,
    exploited: bool,
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut xml = Xml::new(Format::QualysXml, input, &["ASSET_DATA_REPORT"]);
    let mut hosts: Vec<Target> = Vec::new();
    let mut host: Option<Target> = None;
    let mut det: Option<Detection> = None;
    let mut held: Vec<Detection> = Vec::new();
    let mut glossary: HashMap<String, Details> = HashMap::new();
    let mut details: Option<(String, Details)> = None;
    let mut range_start: Option<String> = None;
    loop {
        match xml.next()? {
            Ev::Eof => return Ok(()),
            Ev::Start(s) => match s.name.as_str() {
                "HOST" if xml.at(&["HOST_LIST", "HOST"]) => host = Some(Target::default()),
                "VULN_INFO_LIST" => announce(&mut host, &mut hosts, out, &xml)?,
                "VULN_INFO" if !hosts.is_empty() => {
                    det = Some(Detection {
                        host: hosts.len() - 1,
                        at: 0,
                        ..Default::default()
                    })
                }
                "VULN_DETAILS" => {
                    let id = s
                        .attr("id")
                        .unwrap_or("")
                        .trim_start_matches("qid_")
                        .to_string();
                    details = Some((id, Details::default()));
                }
                "EXPLT" | "MW_INFO" => {
                    if let Some((_, d)) = details.as_mut() {
                        d.exploited = true;
                    }
                }
                _ => {}
            },
            Ev::End(e) => {
                let text = e.text.as_str();
                let parent = xml.parent().to_string();
                if let Some(d) = det.as_mut() {
                    if parent == "VULN_INFO" {
                        match e.name.as_str() {
                            "QID" => d.qid = text.trim().into(),
                            "TYPE" => d.kind = text.trim().into(),
                            "PORT" => d.port = fields::port(text).map_err(|m| xml.invalid(m))?,
                            "PROTOCOL" => d.protocol = clean(text).map(|p| p.to_ascii_lowercase()),
                            "SERVICE" => d.service = clean(text),
                            "FQDN" => d.fqdn = clean(text),
                            "RESULT" => d.result = clean(text),
                            "LAST_FOUND" => {
                                if let Some(t) = meaningful(text) {
                                    d.last_found =
                                        Some(fields::rfc3339(&t).map_err(|m| xml.invalid(m))?);
                                }
                            }
                            "VULN_STATUS" => d.status = clean(text),
                            _ => {}
                        }
                        continue;
                    }
                    if e.name == "VULN_INFO" {
                        let mut d = det.take().unwrap_or_default();
                        if d.qid.is_empty() {
                            return Err(xml.invalid("a VULN_INFO has no QID"));
                        }
                        d.at = xml.offset();
                        out.scan_time(d.last_found.as_deref());
                        held.push(d);
                        continue;
                    }
                }
                if let Some(h) = host.as_mut() {
                    if parent == "HOST" {
                        match e.name.as_str() {
                            "IP" => fields::place_address(h, text),
                            "DNS" => h.hostname = clean(text).or(h.hostname.take()),
                            "NETBIOS" if h.hostname.is_none() => h.hostname = clean(text),
                            "OPERATING_SYSTEM" => h.os = clean(text),
                            _ => {}
                        }
                        continue;
                    }
                }
                if let Some((_, d)) = details.as_mut() {
                    match (e.name.as_str(), parent.as_str()) {
                        ("TITLE", "VULN_DETAILS") => d.title = text.trim().into(),
                        ("SEVERITY", "VULN_DETAILS") => {
                            d.severity = Some(
                                text.trim()
                                    .parse::<u8>()
                                    .ok()
                                    .filter(|s| (1..=5).contains(s))
                                    .ok_or_else(|| {
                                        xml.invalid(format!(
                                            "SEVERITY \"{}\" is not 1–5",
                                            text.trim()
                                        ))
                                    })?,
                            )
                        }
                        ("CATEGORY", "VULN_DETAILS") => d.category = text.trim().into(),
                        ("THREAT", "VULN_DETAILS") => {
                            d.threat = meaningful(&fields::html_to_text(text))
                        }
                        ("IMPACT", "VULN_DETAILS") => {
                            d.impact = meaningful(&fields::html_to_text(text))
                        }
                        ("SOLUTION", "VULN_DETAILS") => {
                            d.solution = meaningful(&fields::html_to_text(text))
                        }
                        // `9.3 (AV:N/…)`; a bare score (older reports) carries no vector.
                        ("CVSS_BASE", "CVSS_SCORE") if text.contains('(') => {
                            d.cvss2 = fields::cvss2(text).map_err(|m| xml.invalid(m))?
                        }
                        ("CVSS3_BASE", "CVSS3_SCORE") => d.cvss3 = clean(text),
                        ("CVSS3_VERSION", _) => d.cvss3_version = clean(text),
                        ("ID", "CVE_ID") => d.cves.push(text.trim().into()),
                        ("URL", "VENDOR_REFERENCE") => d.refs.extend(clean(text)),
                        ("VULN_DETAILS", _) => {
                            let (id, mut d) = details.take().unwrap_or_default();
                            if let Some(raw) = d.cvss3.take() {
                                // Qualys writes `9.0 (AV:N/…)` without the version prefix.
                                if raw.contains('(') {
                                    let version = d.cvss3_version.as_deref().unwrap_or("3.1");
                                    d.cvss3 =
                                        fields::cvss3(&raw, version).map_err(|m| xml.invalid(m))?;
                                }
                            }
                            glossary.insert(id, d);
                        }
                        _ => {}
                    }
                    continue;
                }
                match e.name.as_str() {
                    "HOST" if xml.at(&["HOST_LIST"]) => announce(&mut host, &mut hosts, out, &xml)?,
                    "IP" if xml.within("NO_RESULTS") && parent == "IP_LIST" => {
                        no_results(text, text, out, &xml)?
                    }
                    "START" if xml.within("NO_RESULTS") => range_start = clean(text),
                    "END" if xml.within("NO_RESULTS") => {
                        let start = range_start.take().unwrap_or_default();
                        no_results(&start, text, out, &xml)?;
                    }
                    "ASSET_DATA_REPORT" => {
                        for d in std::mem::take(&mut held) {
                            emit(d, &hosts, &glossary, out)?;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

fn announce<E>(
    host: &mut Option<Target>,
    hosts: &mut Vec<Target>,
    out: &mut Out<E>,
    xml: &Xml,
) -> Result<(), ParseError<E>> {
    if let Some(h) = host.take() {
        if h.is_anonymous() {
            return Err(xml.invalid("a HOST has neither an IP nor a DNS name"));
        }
        out.scanned(&h)?;
        hosts.push(h);
    }
    Ok(())
}

/// Hosts the scan reached without finding anything: in scope all the same.
fn no_results<E>(start: &str, end: &str, out: &mut Out<E>, xml: &Xml) -> Result<(), ParseError<E>> {
    let (Ok(a), Ok(b)) = (
        start.trim().parse::<Ipv4Addr>(),
        end.trim().parse::<Ipv4Addr>(),
    ) else {
        if fields::is_ip(start) && start.trim() == end.trim() {
            return out.scanned(&Target {
                ip: clean(start),
                ..Default::default()
            });
        }
        return Err(xml.invalid(format!("\"{start}\"–\"{end}\" is not an IP range")));
    };
    let (a, b) = (u32::from(a), u32::from(b));
    if b < a {
        return Err(xml.invalid(format!("IP range {start}–{end} runs backwards")));
    }
    if b - a >= MAX_RANGE {
        out.skip(format!(
            "Qualys hosts without results {start}–{end}: range too large to list"
        ));
        return Ok(());
    }
    for n in a..=b {
        out.scanned(&Target {
            ip: Some(Ipv4Addr::from(n).to_string()),
            ..Default::default()
        })?;
    }
    Ok(())
}

fn emit<E>(
    d: Detection,
    hosts: &[Target],
    glossary: &HashMap<String, Details>,
    out: &mut Out<E>,
) -> Result<(), ParseError<E>> {
    let host = &hosts[d.host];
    let Some(k) = glossary.get(&d.qid) else {
        out.skip(format!(
            "Qualys QID {}: not in the report's glossary",
            d.qid
        ));
        return Ok(());
    };
    if d.status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("fixed"))
    {
        out.skip(format!("Qualys QID {} ({}): fixed", d.qid, k.title));
        return Ok(());
    }
    let Some(level) = k.severity else {
        return Err(out.invalid(
            format!("VULN_DETAILS of QID {}", d.qid),
            "the glossary entry has no SEVERITY",
        ));
    };
    // Information gathered (Ig) is never a weakness, whatever its level; confirmed (Vuln)
    // and potential (Practice) detections keep Qualys' five levels.
    let severity = if d.kind.eq_ignore_ascii_case("ig") {
        Severity::Info
    } else {
        Severity::ALL[usize::from(level - 1)]
    };
    let mut f = blank("qualys");
    f.target = Target {
        port: d.port,
        protocol: d.port.and(d.protocol),
        service: d.service,
        // A virtual host name on the address: the place, not the asset's name.
        location: d.fqdn,
        ..host.clone()
    };
    f.check_id = Some(d.qid.clone());
    f.title = k.title.clone();
    let impact = k.impact.as_deref().map(|i| format!("Impact: {i}"));
    f.description = paragraphs([k.threat.as_deref(), impact.as_deref()]);
    f.solution = k.solution.clone();
    f.evidence = d.result;
    f.cves = normalise_cves(&k.cves);
    f.cvss3 = k.cvss3.clone();
    f.cvss2 = k.cvss2.clone();
    f.severity = severity;
    f.severity_raw = Some(format!("{level} ({})", d.kind));
    f.references = k.refs.clone();
    f.seen_at = d.last_found;
    f.known_exploited = k.exploited;
    f.category = Some(fields::category_for(&[&k.category]).to_string());
    let at = d.at;
    out.finding(f, || format!("VULN_INFO at byte {at}"))
}
