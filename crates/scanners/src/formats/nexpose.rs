//! Nexpose / InsightVM XML export 2.0 (`NexposeReport`): scans, then nodes with their tests
//! (on the node, or on an endpoint's service), then `VulnerabilityDefinitions`.
//!
//! Definitions come last, so vulnerable tests are held (node index, test id, endpoint, proof
//! text) until they have been read; definition text is stored once per vulnerability.

use std::collections::HashMap;
use std::io::BufRead;

use yunshou_model::finding::{normalise_cves, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful};
use crate::xml::{Ev, Xml};
use crate::{Format, ParseError};

/// Elements that flow inside a paragraph rather than break it.
const INLINE: &[&str] = &["URLLink"];

#[derive(Default)]
struct Test {
    node: usize,
    at: u64,
    id: String,
    status: String,
    scan_id: Option<String>,
    port: Option<u16>,
    protocol: Option<String>,
    service: Option<String>,
    proof: Option<String>,
}

#[derive(Default)]
struct Def {
    id: String,
    title: String,
    severity: f64,
    severity_raw: String,
    cvss2: Option<String>,
    cvss3: Option<String>,
    description: Option<String>,
    solution: Option<String>,
    cves: Vec<String>,
    refs: Vec<String>,
    tags: Vec<String>,
    exploited: bool,
}

#[derive(Default)]
struct Endpoint {
    port: Option<u16>,
    protocol: Option<String>,
    service: Option<String>,
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut xml = Xml::new(Format::NexposeXml, input, &["NexposeReport"]);
    let mut scans: HashMap<String, String> = HashMap::new();
    let mut last_scan_end: Option<String> = None;
    let mut nodes: Vec<Target> = Vec::new();
    let mut endpoint: Option<Endpoint> = None;
    let mut test: Option<Test> = None;
    let mut held: Vec<Test> = Vec::new();
    let mut defs: HashMap<String, Def> = HashMap::new();
    let mut def: Option<Def> = None;
    let mut reference: Option<String> = None;
    loop {
        match xml.next()? {
            Ev::Eof => return Ok(()),
            Ev::Start(s) => match s.name.as_str() {
                "scan" if xml.at(&["scans", "scan"]) => {
                    let start = s.attr("startTime").map(fields::compact).transpose();
                    let end = s.attr("endTime").map(fields::compact).transpose();
                    let (start, end) = (
                        start.map_err(|m| xml.invalid(m))?,
                        end.map_err(|m| xml.invalid(m))?,
                    );
                    out.scan_time(start.as_deref());
                    if let Some(end) = end.or(start) {
                        if last_scan_end.as_deref().is_none_or(|l| *l < *end) {
                            last_scan_end = Some(end.clone());
                        }
                        scans.insert(s.attr("id").unwrap_or("").to_string(), end);
                    }
                }
                "node" if xml.at(&["nodes", "node"]) => {
                    let mut t = Target::default();
                    fields::place_address(&mut t, s.attr("address").unwrap_or(""));
                    if t.is_anonymous() {
                        return Err(xml.invalid("a node has no address"));
                    }
                    nodes.push(t);
                }
                "os" if xml.at(&["node", "fingerprints", "os"]) => {
                    if let Some(n) = nodes.last_mut() {
                        if n.os.is_none() {
                            let parts: Vec<&str> = ["product", "version"]
                                .iter()
                                .filter_map(|k| s.attr(k))
                                .filter(|v| !v.trim().is_empty())
                                .collect();
                            n.os = clean(&parts.join(" "));
                        }
                    }
                }
                "endpoint" if xml.at(&["endpoints", "endpoint"]) => {
                    endpoint = Some(Endpoint {
                        port: fields::port(s.attr("port").unwrap_or(""))
                            .map_err(|m| xml.invalid(m))?,
                        protocol: s
                            .attr("protocol")
                            .and_then(clean)
                            .map(|p| p.to_ascii_lowercase()),
                        service: None,
                    });
                }
                "service" if xml.at(&["endpoint", "services", "service"]) => {
                    if let Some(ep) = endpoint.as_mut() {
                        ep.service = s
                            .attr("name")
                            .and_then(clean)
                            .map(|n| n.to_ascii_lowercase());
                    }
                }
                "test" if xml.at(&["tests", "test"]) && xml.within("node") => {
                    let status = s.attr("status").unwrap_or("").to_string();
                    if status.starts_with("vulnerable") && !nodes.is_empty() {
                        let ep = endpoint.as_ref().filter(|_| xml.within("endpoint"));
                        test = Some(Test {
                            node: nodes.len() - 1,
                            id: s.attr("id").unwrap_or("").trim().to_string(),
                            status,
                            scan_id: s.attr("scan-id").map(str::to_string),
                            port: ep.and_then(|e| e.port),
                            protocol: ep.and_then(|e| e.port.and(e.protocol.clone())),
                            service: ep.and_then(|e| e.service.clone()),
                            ..Default::default()
                        });
                        xml.capture(INLINE);
                    }
                }
                "vulnerability" if xml.at(&["VulnerabilityDefinitions", "vulnerability"]) => {
                    let raw = s.attr("severity").unwrap_or("").trim().to_string();
                    let severity = raw
                        .parse::<f64>()
                        .ok()
                        .filter(|v| (0.0..=10.0).contains(v))
                        .ok_or_else(|| {
                            xml.invalid(format!("vulnerability severity \"{raw}\" is not 0–10"))
                        })?;
                    let cvss2 = fields::cvss2(s.attr("cvssVector").unwrap_or(""))
                        .map_err(|m| xml.invalid(m))?;
                    let cvss3 = fields::cvss3(s.attr("cvssV3Vector").unwrap_or(""), "3.0")
                        .map_err(|m| xml.invalid(m))?;
                    def = Some(Def {
                        id: s.attr("id").unwrap_or("").trim().to_string(),
                        title: s.attr("title").unwrap_or("").trim().to_string(),
                        severity,
                        severity_raw: raw,
                        cvss2,
                        cvss3,
                        ..Default::default()
                    });
                }
                "description" | "solution" if xml.at(&["vulnerability", s.name.as_str()]) => {
                    xml.capture(INLINE);
                }
                "reference" if def.is_some() => {
                    reference = s.attr("source").map(str::to_ascii_uppercase)
                }
                "exploit" if xml.at(&["exploits", "exploit"]) => {
                    if let Some(d) = def.as_mut() {
                        d.exploited = true;
                    }
                }
                _ => {}
            },
            Ev::End(e) => {
                let text = e.text.as_str();
                match e.name.as_str() {
                    "test" if test.is_some() && xml.at(&["tests"]) => {
                        let mut t = test.take().unwrap_or_default();
                        t.proof = clean(text);
                        t.at = xml.offset();
                        held.push(t);
                    }
                    "name" if xml.at(&["node", "names"]) => {
                        if let Some(n) = nodes.last_mut() {
                            if n.hostname.is_none() {
                                n.hostname = clean(text);
                            }
                        }
                    }
                    "node" if xml.at(&["nodes"]) => {
                        if let Some(n) = nodes.last() {
                            let n = n.clone();
                            out.scanned(&n)?;
                        }
                    }
                    "endpoint" => endpoint = None,
                    "description" if xml.at(&["vulnerability"]) => {
                        if let Some(d) = def.as_mut() {
                            d.description = clean(text);
                        }
                    }
                    "solution" if xml.at(&["vulnerability"]) => {
                        if let Some(d) = def.as_mut() {
                            d.solution = clean(text);
                        }
                    }
                    "reference" => {
                        if let Some(d) = def.as_mut() {
                            match reference.take().as_deref() {
                                Some("CVE") => d.cves.push(text.trim().to_string()),
                                Some("URL") => d.refs.extend(clean(text)),
                                _ => {}
                            }
                        }
                    }
                    "tag" if xml.at(&["vulnerability", "tags"]) => {
                        if let Some(d) = def.as_mut() {
                            d.tags.extend(clean(text));
                        }
                    }
                    "name" if xml.within("malware") => {
                        if let Some(d) = def.as_mut() {
                            d.exploited |= meaningful(text).is_some();
                        }
                    }
                    "vulnerability" if xml.at(&["VulnerabilityDefinitions"]) => {
                        if let Some(d) = def.take() {
                            defs.insert(d.id.to_ascii_lowercase(), d);
                        }
                    }
                    "NexposeReport" => {
                        for t in std::mem::take(&mut held) {
                            emit(t, &nodes, &defs, &scans, last_scan_end.as_deref(), out)?;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

fn emit<E>(
    t: Test,
    nodes: &[Target],
    defs: &HashMap<String, Def>,
    scans: &HashMap<String, String>,
    last_scan_end: Option<&str>,
    out: &mut Out<E>,
) -> Result<(), ParseError<E>> {
    let Some(d) = defs.get(&t.id.to_ascii_lowercase()) else {
        out.skip(format!(
            "Nexpose test {}: no vulnerability definition in the report",
            t.id
        ));
        return Ok(());
    };
    let mut f = blank("nexpose");
    f.target = Target {
        port: t.port,
        protocol: t.protocol,
        service: t.service,
        ..nodes[t.node].clone()
    };
    f.check_id = Some(d.id.clone());
    f.title = if d.title.is_empty() {
        d.id.clone()
    } else {
        d.title.clone()
    };
    f.description = d.description.clone();
    f.solution = d.solution.clone();
    // How Nexpose knows: verified by exploit, by version, or potential.
    f.evidence = Some(match t.proof {
        Some(p) => format!("Test status: {}\n{p}", t.status),
        None => format!("Test status: {}", t.status),
    });
    f.cves = normalise_cves(&d.cves);
    f.cvss2 = d.cvss2.clone();
    f.cvss3 = d.cvss3.clone();
    // Nexpose grades 0–10 on the CVSS scale's bands.
    f.severity = Severity::from_cvss(d.severity);
    f.severity_raw = Some(d.severity_raw.clone());
    f.references = d.refs.clone();
    f.seen_at = t
        .scan_id
        .as_ref()
        .and_then(|id| scans.get(id).cloned())
        .or(last_scan_end.map(str::to_string));
    f.known_exploited = d.exploited;
    let tags: Vec<&str> = d.tags.iter().map(String::as_str).collect();
    f.category = Some(fields::category_for(&tags).to_string());
    let at = t.at;
    out.finding(f, || format!("test at byte {at}"))
}
