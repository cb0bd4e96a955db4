//! nmap XML (`-oX`): every open port is an informational finding, and the `vulners` script's
//! CVEs are findings of their own. A host's findings are sent when the host ends, because its
//! OS guess comes after its ports.

use std::io::BufRead;

use yunshou_model::finding::{ReportedFinding, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean};
use crate::xml::{Ev, Xml};
use crate::{Format, ParseError};

#[derive(Default)]
struct Host {
    up: bool,
    target: Target,
    os_cpes: Vec<String>,
    seen_at: Option<String>,
    findings: Vec<ReportedFinding>,
}

#[derive(Default)]
struct Port {
    port: Option<u16>,
    protocol: String,
    open: bool,
    service: Option<String>,
    product: Vec<String>,
    cpes: Vec<String>,
    scripts: Vec<String>,
    vulns: Vec<Vuln>,
    /// Output of a vulners script without tables (older script versions).
    vulners_text: Option<String>,
    /// The `elem`s of the vulners table being read.
    entry: Vec<(String, String)>,
}

struct Vuln {
    id: String,
    cvss: Option<String>,
    exploit: bool,
    cpe: Option<String>,
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut xml = Xml::new(Format::NmapXml, input, &["nmaprun"]);
    let mut scan_start: Option<String> = None;
    let mut host: Option<Host> = None;
    let mut port: Option<Port> = None;
    let mut script: Option<String> = None;
    let mut elem_key: Option<String> = None;
    let mut table_cpe: Option<String> = None;
    loop {
        match xml.next()? {
            Ev::Eof => return Ok(()),
            Ev::Start(s) => match s.name.as_str() {
                "nmaprun" => {
                    if let Some(t) = s.attr("start") {
                        let t = fields::unix(t).map_err(|m| xml.invalid(m))?;
                        out.scan_time(Some(&t));
                        scan_start = Some(t);
                    }
                }
                "host" if xml.at(&["nmaprun", "host"]) => {
                    let seen = match s.attr("endtime").or(s.attr("starttime")) {
                        Some(t) => Some(fields::unix(t).map_err(|m| xml.invalid(m))?),
                        None => scan_start.clone(),
                    };
                    host = Some(Host {
                        seen_at: seen,
                        ..Default::default()
                    });
                }
                "status" if xml.at(&["host", "status"]) => {
                    if let Some(h) = host.as_mut() {
                        h.up = s.attr("state") == Some("up");
                    }
                }
                "address" if xml.at(&["host", "address"]) => {
                    if let Some(h) = host.as_mut() {
                        let kind = s.attr("addrtype").unwrap_or("ipv4");
                        if (kind == "ipv4" || kind == "ipv6") && h.target.ip.is_none() {
                            h.target.ip = s.attr("addr").and_then(clean);
                        }
                    }
                }
                "hostname" if xml.at(&["hostnames", "hostname"]) => {
                    if let Some(h) = host.as_mut() {
                        // The name the user asked for beats the reverse lookup.
                        if h.target.hostname.is_none() || s.attr("type") == Some("user") {
                            h.target.hostname = s.attr("name").and_then(clean);
                        }
                    }
                }
                "port" if xml.at(&["ports", "port"]) => {
                    let p =
                        fields::port(s.attr("portid").unwrap_or("")).map_err(|m| xml.invalid(m))?;
                    port = Some(Port {
                        port: p,
                        protocol: s.attr("protocol").unwrap_or("tcp").to_ascii_lowercase(),
                        ..Default::default()
                    });
                }
                "state" if xml.at(&["port", "state"]) => {
                    if let Some(p) = port.as_mut() {
                        p.open = s.attr("state") == Some("open");
                    }
                }
                "service" if xml.at(&["port", "service"]) => {
                    if let Some(p) = port.as_mut() {
                        p.service = s.attr("name").and_then(clean);
                        p.product = ["product", "version", "extrainfo"]
                            .iter()
                            .filter_map(|k| s.attr(k).and_then(clean))
                            .collect();
                        if let Some(extra) = p.product.get_mut(2) {
                            *extra = format!("({extra})");
                        }
                    }
                }
                "script" if xml.at(&["port", "script"]) => {
                    let id = s.attr("id").unwrap_or("").to_string();
                    if let Some(p) = port.as_mut() {
                        if id == "vulners" {
                            p.vulners_text = s.attr("output").map(str::to_string);
                        } else if let Some(o) = s.attr("output").and_then(clean) {
                            p.scripts.push(format!("{id}: {o}"));
                        }
                    }
                    script = Some(id);
                }
                "table" if script.as_deref() == Some("vulners") => {
                    if let Some(k) = s.attr("key") {
                        table_cpe = Some(k.to_string());
                    }
                    if let Some(p) = port.as_mut() {
                        p.entry.clear();
                    }
                }
                "elem" if script.as_deref() == Some("vulners") => {
                    elem_key = s.attr("key").map(str::to_string);
                }
                "osmatch" if xml.at(&["os", "osmatch"]) => {
                    if let Some(h) = host.as_mut() {
                        if h.target.os.is_none() {
                            h.target.os = s.attr("name").and_then(clean);
                        }
                    }
                }
                _ => {}
            },
            Ev::End(e) => match e.name.as_str() {
                "elem" if script.as_deref() == Some("vulners") => {
                    if let (Some(p), Some(k)) = (port.as_mut(), elem_key.take()) {
                        p.entry.push((k, e.text.trim().to_string()));
                    }
                }
                "table" if script.as_deref() == Some("vulners") => {
                    if let Some(p) = port.as_mut() {
                        let get = |k: &str| {
                            p.entry
                                .iter()
                                .find(|(key, _)| key == k)
                                .map(|(_, v)| v.clone())
                        };
                        if let Some(id) = get("id") {
                            let kind = get("type").unwrap_or_default();
                            if kind.eq_ignore_ascii_case("cve") || id.starts_with("CVE-") {
                                p.vulns.push(Vuln {
                                    id,
                                    cvss: get("cvss"),
                                    exploit: get("is_exploit").as_deref() == Some("true"),
                                    cpe: table_cpe.clone(),
                                });
                            }
                        }
                        p.entry.clear();
                    }
                }
                "script" if xml.at(&["port"]) => script = None,
                "cpe" if xml.at(&["port", "service"]) => {
                    if let Some(p) = port.as_mut() {
                        p.cpes.extend(clean(&e.text));
                    }
                }
                "cpe" if xml.at(&["osmatch", "osclass"]) => {
                    if let Some(h) = host.as_mut() {
                        if let Some(c) = clean(&e.text) {
                            if !h.os_cpes.contains(&c) {
                                h.os_cpes.push(c);
                            }
                        }
                    }
                }
                "port" if xml.at(&["ports"]) => {
                    if let (Some(h), Some(p)) = (host.as_mut(), port.take()) {
                        port_findings(h, p).map_err(|m| xml.invalid(m))?;
                    }
                }
                "host" if xml.at(&["nmaprun"]) => {
                    if let Some(h) = host.take() {
                        finish_host(h, out, &xml)?;
                    }
                }
                _ => {}
            },
        }
    }
}

fn port_findings(h: &mut Host, mut p: Port) -> Result<(), String> {
    if !p.open {
        return Ok(());
    }
    let Some(number) = p.port else { return Ok(()) };
    let proto = p.protocol.clone();
    let target = Target {
        cpe: p.cpes.clone(),
        port: Some(number),
        protocol: Some(proto.clone()),
        service: p.service.clone(),
        ..Default::default()
    };
    let product = (!p.product.is_empty()).then(|| p.product.join(" "));
    // Product and version name the software; the extra info would only clutter titles.
    let software = (!p.product.is_empty()).then(|| {
        p.product
            .iter()
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut f = blank("nmap");
    f.target = target.clone();
    f.check_id = Some(format!("port:{number}/{proto}"));
    f.title = match &p.service {
        Some(s) => format!("Open port {number}/{proto} ({s})"),
        None => format!("Open port {number}/{proto}"),
    };
    let mut desc = vec![format!("Port {number}/{proto} is open.")];
    if let Some(s) = &p.service {
        desc.push(format!("Service: {s}"));
    }
    if let Some(pr) = &product {
        desc.push(format!("Product: {pr}"));
    }
    f.description = Some(desc.join("\n"));
    f.evidence = (!p.scripts.is_empty()).then(|| p.scripts.join("\n"));
    f.severity = Severity::Info;
    f.seen_at = h.seen_at.clone();
    f.category = Some("network".to_string());
    h.findings.push(f);

    if p.vulns.is_empty() {
        if let Some(text) = p.vulners_text.take() {
            p.vulns = vulners_lines(&text);
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for v in p.vulns {
        let Some(cve) = yunshou_model::finding::normalise_cves([&v.id]).pop() else {
            continue;
        };
        if seen.contains(&cve) {
            continue;
        }
        seen.push(cve.clone());
        let severity = match v.cvss.as_deref() {
            Some(s) => fields::cvss_severity(s)?.unwrap_or(Severity::Info),
            None => Severity::Info,
        };
        let mut f = blank("nmap");
        f.target = target.clone();
        f.check_id = Some(format!("vulners:{cve}"));
        f.title = match &software {
            Some(pr) => format!("{cve} in {pr}"),
            None => format!("{cve} on port {number}/{proto}"),
        };
        f.description = Some(format!(
            "The vulners script lists {cve}{} for {}.",
            v.cvss
                .as_deref()
                .map(|s| format!(" (CVSS {s})"))
                .unwrap_or_default(),
            v.cpe
                .as_deref()
                .or(product.as_deref())
                .unwrap_or("the service")
        ));
        f.references = vec![format!("https://vulners.com/cve/{cve}")];
        f.cves = vec![cve];
        f.severity = severity;
        f.severity_raw = v.cvss;
        f.known_exploited = v.exploit;
        f.seen_at = h.seen_at.clone();
        f.category = Some("system_software".to_string());
        h.findings.push(f);
    }
    Ok(())
}

/// `\tCVE-2018-15919\t5.0\thttps://vulners.com/cve/CVE-2018-15919\t*EXPLOIT*` lines.
fn vulners_lines(text: &str) -> Vec<Vuln> {
    let mut cpe = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [c] if c.starts_with("cpe:") => cpe = Some(c.trim_end_matches(':').to_string()),
            [id, score, rest @ ..] if id.starts_with("CVE-") => out.push(Vuln {
                id: id.to_string(),
                cvss: Some(score.to_string()),
                exploit: rest.contains(&"*EXPLOIT*"),
                cpe: cpe.clone(),
            }),
            _ => {}
        }
    }
    out
}

fn finish_host<E>(h: Host, out: &mut Out<E>, xml: &Xml) -> Result<(), ParseError<E>> {
    let name = h
        .target
        .ip
        .clone()
        .or(h.target.hostname.clone())
        .unwrap_or_default();
    if !h.up {
        // A host that was down says nothing about its findings; keeping it out of the
        // scope stops a re-import from closing them.
        out.skip(format!("nmap host {name}: not up"));
        return Ok(());
    }
    if h.target.is_anonymous() {
        return Err(xml.invalid("a host has no IP address or host name"));
    }
    let host_target = Target {
        cpe: h.os_cpes.clone(),
        ..h.target.clone()
    };
    out.scanned(&host_target)?;
    for mut f in h.findings {
        f.target = Target {
            ip: h.target.ip.clone(),
            hostname: h.target.hostname.clone(),
            os: h.target.os.clone(),
            ..f.target
        };
        out.finding(f, || xml.position())?;
    }
    Ok(())
}
