//! OpenVAS / Greenbone XML (GMP report export): `report/report/results/result`, then the
//! per-host section `report/report/host` after all results.

use std::collections::HashMap;
use std::io::BufRead;

use yunshou_model::finding::{normalise_cves, normalise_cwes, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful, paragraphs};
use crate::xml::{Ev, Xml};
use crate::{Format, ParseError};

#[derive(Default)]
struct Res {
    name: String,
    host: String,
    hostname: Option<String>,
    port: String,
    oid: String,
    nvt_name: String,
    family: String,
    tags: String,
    nvt_solution: Option<String>,
    cves: Vec<String>,
    cwes: Vec<String>,
    urls: Vec<String>,
    cvss3: Option<String>,
    cvss4: Option<String>,
    cvss2: Option<String>,
    threat: String,
    severity: String,
    description: Option<String>,
    severity_type: Option<String>,
}

#[derive(Default)]
struct HostSection {
    ip: String,
    hostname: Option<String>,
    os: Option<String>,
    cpes: Vec<String>,
    detail_name: String,
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut xml = Xml::new(
        Format::OpenvasXml,
        input,
        &["report", "get_reports_response"],
    );
    let mut res: Option<Res> = None;
    let mut host: Option<HostSection> = None;
    let mut scan_start: Option<String> = None;
    // Host names the results give, for the host section (which has only the address).
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut announced: Vec<String> = Vec::new();
    loop {
        match xml.next()? {
            Ev::Eof => break,
            Ev::Start(s) => {
                if let Some(r) = res.as_mut() {
                    match s.name.as_str() {
                        "ref" if xml.at(&["refs", "ref"]) => {
                            let id = s.attr("id").unwrap_or("").trim().to_string();
                            match s.attr("type").unwrap_or("").to_ascii_lowercase().as_str() {
                                "cve" => r.cves.push(id),
                                "cwe" => r.cwes.push(id),
                                "url" => r.urls.push(id),
                                _ => {}
                            }
                        }
                        "severity" if xml.at(&["severities", "severity"]) => {
                            r.severity_type = s.attr("type").map(str::to_string);
                        }
                        "nvt" => r.oid = s.attr("oid").unwrap_or("").trim().to_string(),
                        _ => {}
                    }
                } else if s.name == "result"
                    && xml.at(&["results", "result"])
                    && !xml.within("delta")
                {
                    res = Some(Res::default());
                } else if s.name == "host" && xml.at(&["report", "host"]) {
                    host = Some(HostSection::default());
                }
            }
            Ev::End(e) => {
                let text = e.text.as_str();
                if let Some(r) = res.as_mut() {
                    if e.name == "result" && xml.at(&["results"]) {
                        let r = res.take().unwrap_or_default();
                        names
                            .entry(r.host.clone())
                            .or_insert_with(|| r.hostname.clone());
                        emit(r, scan_start.as_deref(), out, &xml)?;
                        continue;
                    }
                    let inside = |p: &str| xml.parent() == p;
                    match e.name.as_str() {
                        "name" if inside("result") => r.name = text.trim().into(),
                        "host" if inside("result") => r.host = text.trim().into(),
                        "hostname" if inside("host") => r.hostname = clean(text),
                        "port" if inside("result") => r.port = text.trim().into(),
                        "threat" if inside("result") => r.threat = text.trim().into(),
                        "severity" if inside("result") => r.severity = text.trim().into(),
                        "description" if inside("result") => r.description = fields::text(text),
                        "name" if inside("nvt") => r.nvt_name = text.trim().into(),
                        "family" if inside("nvt") => r.family = text.trim().into(),
                        "tags" if inside("nvt") => r.tags = text.to_string(),
                        "solution" if inside("nvt") => r.nvt_solution = fields::prose(text),
                        // Older GMP: `<cve>CVE-a, CVE-b</cve>` instead of refs.
                        "cve" if inside("nvt") => r.cves.extend(fields::split_list(text)),
                        "value" if inside("severity") && xml.within("severities") => {
                            vector(r, r.severity_type.clone().as_deref(), text)
                                .map_err(|m| xml.invalid(m))?;
                        }
                        _ => {}
                    }
                    continue;
                }
                if let Some(h) = host.as_mut() {
                    let inside = |p: &str| xml.parent() == p;
                    match e.name.as_str() {
                        "ip" if inside("host") => h.ip = text.trim().into(),
                        "name" if inside("detail") => h.detail_name = text.trim().into(),
                        "value" if inside("detail") => match h.detail_name.as_str() {
                            "hostname" if h.hostname.is_none() => h.hostname = clean(text),
                            "best_os_txt" => h.os = clean(text),
                            "best_os_cpe" => h.cpes.extend(clean(text)),
                            _ => {}
                        },
                        "host" if xml.at(&["report"]) => {
                            let h = host.take().unwrap_or_default();
                            let hostname = h
                                .hostname
                                .clone()
                                .or_else(|| names.get(&h.ip).cloned().flatten());
                            let mut t = Target {
                                hostname,
                                os: h.os,
                                cpe: h.cpes,
                                ..Default::default()
                            };
                            fields::place_address(&mut t, &h.ip);
                            if t.is_anonymous() {
                                return Err(xml.invalid("a report host has no ip"));
                            }
                            announced.push(h.ip);
                            out.scanned(&t)?;
                        }
                        _ => {}
                    }
                    continue;
                }
                if xml.at(&["report"]) {
                    match e.name.as_str() {
                        "scan_start" => {
                            if let Some(t) = meaningful(text) {
                                let t = fields::rfc3339(&t).map_err(|m| xml.invalid(m))?;
                                out.scan_time(Some(&t));
                                scan_start = Some(t);
                            }
                        }
                        "timestamp" if scan_start.is_none() => {
                            if let Some(t) = meaningful(text) {
                                scan_start = Some(fields::rfc3339(&t).map_err(|m| xml.invalid(m))?);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    // A filtered export may leave hosts out of the host section; their results still say
    // they were scanned.
    let mut rest: Vec<(String, Option<String>)> = names
        .into_iter()
        .filter(|(ip, _)| !announced.contains(ip))
        .collect();
    rest.sort();
    for (ip, hostname) in rest {
        let mut t = Target {
            hostname,
            ..Default::default()
        };
        fields::place_address(&mut t, &ip);
        out.scanned(&t)?;
    }
    Ok(())
}

/// Files a vector by its type (`cvss_base_v2`, `cvss_base_v3`, `cvss_base_v4`) or prefix.
fn vector(r: &mut Res, kind: Option<&str>, v: &str) -> Result<(), String> {
    let v = v.trim();
    let kind = kind.unwrap_or("");
    if v.starts_with("CVSS:4") || kind.ends_with("v4") {
        r.cvss4 = fields::cvss4(v)?;
    } else if v.starts_with("CVSS:3") || kind.ends_with("v3") {
        r.cvss3 = fields::cvss3(v, "3.1")?;
    } else if !v.is_empty() {
        r.cvss2 = fields::cvss2(v)?;
    }
    Ok(())
}

/// NVT tags: `summary=…|insight=…|solution=…`. Values may hold `|`, so a field starts only
/// where `|` is followed by a lower-case key and `=`.
fn tags(s: &str) -> Vec<(&str, &str)> {
    let mut starts = vec![0];
    for (i, _) in s.match_indices('|') {
        let rest = &s[i + 1..];
        let key_len = rest
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(rest.len());
        if key_len > 0 && rest[key_len..].starts_with('=') {
            starts.push(i + 1);
        }
    }
    starts.push(s.len() + 1);
    starts
        .windows(2)
        .filter_map(|w| {
            let field = &s[w[0]..w[1] - 1];
            field.split_once('=')
        })
        .collect()
}

fn emit<E>(
    mut r: Res,
    scan_start: Option<&str>,
    out: &mut Out<E>,
    xml: &Xml,
) -> Result<(), ParseError<E>> {
    let raw_tags = std::mem::take(&mut r.tags);
    let tags = tags(&raw_tags);
    let tag = |k: &str| tags.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if let Some(v) = tag("cvss_base_vector") {
        vector(&mut r, None, v).map_err(|m| xml.invalid(m))?;
    }
    // GMP scores: −1 false positive, −2 debug, −3 error; the threat says the same in words.
    let score = fields::score(r.severity.trim_start_matches('-'));
    if r.severity.starts_with('-') || r.threat.eq_ignore_ascii_case("false positive") {
        out.skip(format!(
            "OpenVAS result \"{}\" on {}: {}",
            r.nvt_name,
            r.host,
            if r.threat.is_empty() {
                "negative severity (false positive, debug or error)"
            } else {
                r.threat.as_str()
            }
        ));
        return Ok(());
    }
    let (severity, raw) = match (score, clean(&r.severity)) {
        (Some(_), Some(raw)) => (
            fields::cvss_severity(&raw).map_err(|m| xml.invalid(m))?,
            raw,
        ),
        _ => (
            Severity::parse(&r.threat).or(r
                .threat
                .eq_ignore_ascii_case("debug")
                .then_some(Severity::Info)),
            r.threat.clone(),
        ),
    };
    let Some(severity) = severity else {
        return Err(xml.invalid(format!(
            "result \"{}\" has no severity score or threat level it can be read by (\"{}\")",
            r.nvt_name, r.threat
        )));
    };
    let (port, protocol) = fields::port_proto(&r.port);
    let mut f = blank("openvas");
    let mut t = Target {
        hostname: r.hostname,
        port,
        protocol,
        ..Default::default()
    };
    fields::place_address(&mut t, &r.host);
    f.target = t;
    f.check_id = clean(&r.oid);
    // The NVT's name is canonical; a result's own name is a copy some exports anonymise.
    f.title = if r.nvt_name.is_empty() {
        r.name
    } else {
        r.nvt_name
    };
    let labelled = |label: &str, k: &str| {
        tag(k)
            .and_then(fields::prose)
            .map(|v| format!("{label}: {v}"))
    };
    let insight = labelled("Insight", "insight");
    let impact = labelled("Impact", "impact");
    let affected = labelled("Affected", "affected");
    let summary = tag("summary").and_then(fields::prose);
    f.description = paragraphs([
        summary.as_deref(),
        insight.as_deref(),
        impact.as_deref(),
        affected.as_deref(),
    ]);
    f.solution = r
        .nvt_solution
        .or_else(|| tag("solution").and_then(fields::prose));
    f.evidence = r.description;
    f.cves = normalise_cves(&r.cves);
    f.cwes = normalise_cwes(&r.cwes);
    f.cvss3 = r.cvss3;
    f.cvss4 = r.cvss4;
    f.cvss2 = r.cvss2;
    f.severity = severity;
    f.severity_raw = Some(raw);
    f.references = r.urls;
    f.seen_at = scan_start.map(str::to_string);
    f.category = Some(fields::category_for(&[&r.family]).to_string());
    out.finding(f, || xml.position())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_only_at_keys() {
        let t = tags("summary=a|b|insight=|qodType=x=y|solution_type=VendorFix");
        assert_eq!(
            t,
            [
                ("summary", "a|b"),
                ("insight", ""),
                ("qodType", "x=y"),
                ("solution_type", "VendorFix")
            ]
        );
    }
}
