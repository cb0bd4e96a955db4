//! Nuclei JSON: one result per line (`-jsonl`, older `-json`), or a JSON array (`-je`). Both
//! the current field names (`template-id`, `matched-at`) and the pre-2.6 ones (`templateID`,
//! `matched`) are read. Lines are parsed one at a time.

use std::io::BufRead;

use serde::Deserialize;
use yunshou_model::finding::{normalise_cves, normalise_cwes, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean};
use crate::ParseError;

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "template-id", alias = "templateID")]
    template_id: String,
    #[serde(default)]
    info: Info,
    #[serde(rename = "type")]
    kind: Option<String>,
    host: Option<String>,
    #[serde(rename = "matched-at", alias = "matched")]
    matched_at: Option<String>,
    #[serde(rename = "matcher-name", alias = "matcher_name")]
    matcher_name: Option<String>,
    #[serde(rename = "extracted-results", alias = "extracted_results")]
    extracted: Option<Vec<String>>,
    ip: Option<String>,
    timestamp: Option<String>,
    #[serde(rename = "curl-command")]
    curl: Option<String>,
}

#[derive(Deserialize, Default)]
struct Info {
    name: Option<String>,
    severity: Option<String>,
    description: Option<String>,
    remediation: Option<String>,
    reference: Option<OneOrMany>,
    classification: Option<Classification>,
}

#[derive(Deserialize)]
struct Classification {
    #[serde(rename = "cve-id")]
    cve: Option<OneOrMany>,
    #[serde(rename = "cwe-id")]
    cwe: Option<OneOrMany>,
    #[serde(rename = "cvss-metrics")]
    cvss_metrics: Option<String>,
    #[serde(rename = "epss-score")]
    epss: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<Option<String>>),
}

impl OneOrMany {
    /// Old templates write references as one YAML-ish string: `- url\n- url`.
    fn items(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => s
                .lines()
                .flat_map(|l| fields::split_list(l.trim().trim_start_matches("- ")))
                .collect(),
            OneOrMany::Many(v) => v.into_iter().flatten().filter_map(|s| clean(&s)).collect(),
        }
    }
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let first = loop {
        let buf = input
            .fill_buf()
            .map_err(|e| out.invalid("byte 0", e.to_string()))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let c = buf[i];
                input.consume(i);
                break Some(c);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    };
    match first {
        None => Ok(()),
        Some(b'[') => {
            let hits: Vec<Hit> = super::read_json(input, out)?;
            for (i, h) in hits.into_iter().enumerate() {
                emit(h, out, || format!("[{i}]"))?;
            }
            Ok(())
        }
        Some(_) => {
            let mut line = String::new();
            let mut n = 0u64;
            loop {
                line.clear();
                n += 1;
                let read = input.read_line(&mut line).map_err(|e| {
                    out.invalid(format!("line {n}"), format!("not UTF-8 text: {e}"))
                })?;
                if read == 0 {
                    return Ok(());
                }
                let l = line.trim().trim_start_matches('\u{feff}');
                if l.is_empty() {
                    continue;
                }
                let de = &mut serde_json::Deserializer::from_str(l);
                let hit: Hit = serde_path_to_error::deserialize(de).map_err(|e| {
                    let inner = e.inner();
                    let what = if inner.is_eof() {
                        "the line ends inside its JSON object (truncated?)".to_string()
                    } else {
                        inner.to_string()
                    };
                    out.invalid(format!("line {n} column {}", inner.column()), what)
                })?;
                emit(hit, out, || format!("line {n}"))?;
            }
        }
    }
}

/// `scheme://host:port/path` or `host:port` → (scheme, host, port).
fn url_parts(s: &str) -> (Option<&str>, &str, Option<u16>) {
    let (scheme, rest) = match s.split_once("://") {
        Some((sc, r)) => (Some(sc), r),
        None => (None, s),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (v6, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, p.parse().ok()),
            _ => (authority, None),
        }
    };
    let port = port.or(match scheme {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    });
    (scheme, host, port)
}

fn emit<E>(h: Hit, out: &mut Out<E>, at: impl Fn() -> String) -> Result<(), ParseError<E>> {
    let word = h.info.severity.clone().unwrap_or_default();
    let severity = if word.eq_ignore_ascii_case("unknown") {
        Some(Severity::Info)
    } else {
        Severity::parse(&word)
    }
    .ok_or_else(|| {
        out.invalid(
            at(),
            format!("info.severity \"{word}\" is not one of info, low, medium, high, critical"),
        )
    })?;
    let place = h.matched_at.clone().or(h.host.clone()).unwrap_or_default();
    let (scheme, host, port) = url_parts(&place);
    let mut target = Target::default();
    if let Some(ip) = h.ip.as_deref().and_then(clean) {
        if !fields::is_ip(&ip) {
            return Err(out.invalid(at(), format!("ip \"{ip}\" is not an IP address")));
        }
        target.ip = Some(ip);
    }
    fields::place_host(&mut target, host);
    if let Some(hh) = h.host.as_deref() {
        fields::place_host(&mut target, url_parts(hh).1);
    }
    out.scanned(&target)?;
    let seen_at = match h.timestamp.as_deref().and_then(clean) {
        Some(t) => Some(fields::rfc3339(&t).map_err(|m| out.invalid(at(), m))?),
        None => None,
    };
    out.scan_time(seen_at.as_deref());

    let mut f = blank("nuclei");
    f.target = Target {
        port,
        protocol: port.map(|_| "tcp".to_string()),
        service: scheme
            .filter(|s| s.starts_with("http"))
            .map(str::to_ascii_lowercase),
        location: clean(&place),
        ..target
    };
    f.check_id = Some(match h.matcher_name.as_deref().and_then(clean) {
        Some(m) => format!("{}:{m}", h.template_id),
        None => h.template_id.clone(),
    });
    let name = h
        .info
        .name
        .as_deref()
        .and_then(clean)
        .unwrap_or_else(|| h.template_id.clone());
    f.title = match h.matcher_name.as_deref().and_then(clean) {
        Some(m) => format!("{name} ({m})"),
        None => name,
    };
    f.description = h.info.description.as_deref().and_then(clean);
    f.solution = h.info.remediation.as_deref().and_then(clean);
    f.evidence = h
        .extracted
        .filter(|e| !e.is_empty())
        .map(|e| e.join("\n"))
        .or(h.curl.as_deref().and_then(clean));
    if let Some(c) = h.info.classification {
        f.cves = normalise_cves(c.cve.map(OneOrMany::items).unwrap_or_default());
        f.cwes = normalise_cwes(c.cwe.map(OneOrMany::items).unwrap_or_default());
        f.cvss3 = fields::cvss3(c.cvss_metrics.as_deref().unwrap_or(""), "3.1")
            .map_err(|m| out.invalid(at(), m))?;
        f.epss = c.epss;
    }
    f.severity = severity;
    f.severity_raw = Some(word);
    f.references = h.info.reference.map(OneOrMany::items).unwrap_or_default();
    f.seen_at = seen_at;
    f.category = Some(
        if h.kind.as_deref() == Some("http") {
            "application"
        } else {
            "network"
        }
        .to_string(),
    );
    out.finding(f, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        assert_eq!(
            url_parts("https://a.example/x"),
            (Some("https"), "a.example", Some(443))
        );
        assert_eq!(url_parts("a.example:22"), (None, "a.example", Some(22)));
        assert_eq!(
            url_parts("http://[::1]:8080/"),
            (Some("http"), "::1", Some(8080))
        );
    }
}
