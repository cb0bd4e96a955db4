//! Wazuh 4.8+ vulnerability detection: documents of the `wazuh-states-vulnerabilities-*`
//! index, as an indexer search response (`hits.hits[]._source`), an array of hits, or an
//! array of the documents themselves.

use std::io::BufRead;

use serde::Deserialize;
use yunshou_model::finding::{normalise_cves, Package, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful};
use crate::ParseError;

#[derive(Deserialize)]
struct Search {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "_source")]
    source: Doc,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HitOrDoc {
    Hit(Hit),
    Doc(Doc),
}

#[derive(Deserialize)]
struct Doc {
    agent: Agent,
    #[serde(default)]
    host: Option<Host>,
    package: Option<Pkg>,
    vulnerability: Vuln,
}

#[derive(Deserialize)]
struct Agent {
    name: Option<String>,
    ip: Option<String>,
}

#[derive(Deserialize)]
struct Host {
    os: Option<HostOs>,
    ip: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct HostOs {
    full: Option<String>,
    name: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    version: Option<String>,
    path: Option<String>,
}

#[derive(Deserialize)]
struct Vuln {
    id: String,
    description: Option<String>,
    severity: Option<String>,
    score: Option<Score>,
    reference: Option<String>,
    detected_at: Option<String>,
    category: Option<String>,
}

#[derive(Deserialize)]
struct Score {
    base: Option<f64>,
    version: Option<String>,
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| out.invalid("byte 0", format!("not UTF-8 text: {e}")))?;
    let docs: Vec<Doc> = if text.trim_start().starts_with('[') {
        let many: Vec<HitOrDoc> = super::read_json(&mut text.as_bytes(), out)?;
        many.into_iter()
            .map(|x| match x {
                HitOrDoc::Hit(h) => h.source,
                HitOrDoc::Doc(d) => d,
            })
            .collect()
    } else {
        let search: Search = super::read_json(&mut text.as_bytes(), out)?;
        search.hits.hits.into_iter().map(|h| h.source).collect()
    };
    for (i, d) in docs.into_iter().enumerate() {
        let at = || format!("hits[{i}]._source");
        let ip = d.agent.ip.as_deref().and_then(clean).or_else(|| {
            match d.host.as_ref()?.ip.as_ref()? {
                serde_json::Value::String(s) => clean(s),
                serde_json::Value::Array(a) => a.iter().find_map(|v| v.as_str().and_then(clean)),
                _ => None,
            }
        });
        let os = d.host.as_ref().and_then(|h| h.os.as_ref()).and_then(|os| {
            os.full.as_deref().and_then(clean).or_else(|| {
                let parts: Vec<&str> = [os.name.as_deref(), os.version.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                clean(&parts.join(" "))
            })
        });
        let mut host = Target {
            hostname: d.agent.name.as_deref().and_then(clean),
            os,
            ..Default::default()
        };
        if let Some(ip) = ip {
            if !fields::is_ip(&ip) && ip != "any" {
                return Err(out.invalid(at(), format!("agent ip \"{ip}\" is not an IP address")));
            }
            if ip != "any" {
                host.ip = Some(ip);
            }
        }
        out.scanned(&host)?;

        let v = d.vulnerability;
        let word = v.severity.clone().unwrap_or_default();
        let base = v.score.as_ref().and_then(|s| s.base);
        let severity = match (Severity::parse(&word), base) {
            (Some(s), _) => s,
            (None, Some(b)) if (0.0..=10.0).contains(&b) => Severity::from_cvss(b),
            // Wazuh writes `-` while a CVE is still under evaluation.
            (None, None)
                if meaningful(&word).is_none() || word.eq_ignore_ascii_case("untriaged") =>
            {
                Severity::Info
            }
            _ => {
                return Err(out.invalid(
                    at(),
                    format!(
                        "vulnerability.severity \"{word}\" is not Critical, High, Medium or Low"
                    ),
                ))
            }
        };
        let seen_at = match v.detected_at.as_deref().and_then(clean) {
            Some(t) => Some(fields::rfc3339(&t).map_err(|m| out.invalid(at(), m))?),
            None => None,
        };
        out.scan_time(seen_at.as_deref());
        let pkg = d.package;
        let mut f = blank("wazuh");
        f.target = Target {
            package: pkg.as_ref().map(|p| Package {
                name: p.name.clone(),
                installed_version: p.version.as_deref().and_then(clean),
                fixed_version: None,
            }),
            location: pkg.as_ref().and_then(|p| p.path.as_deref()).and_then(clean),
            ..host
        };
        f.check_id = clean(&v.id);
        f.title = match &pkg {
            Some(p) => format!(
                "{} in {} {}",
                v.id,
                p.name,
                p.version.as_deref().unwrap_or("")
            )
            .trim()
            .to_string(),
            None => v.id.clone(),
        };
        f.description = v.description.as_deref().and_then(clean);
        f.cves = normalise_cves([&v.id]);
        f.severity = severity;
        f.severity_raw = Some(match (&v.severity, &v.score) {
            (
                Some(w),
                Some(Score {
                    base: Some(b),
                    version: Some(ver),
                }),
            ) => {
                format!("{w} (CVSS {ver} {b})")
            }
            (Some(w), _) => w.clone(),
            (None, _) => base.map(|b| b.to_string()).unwrap_or_default(),
        });
        f.references = v
            .reference
            .as_deref()
            .map(fields::split_list)
            .unwrap_or_default();
        f.seen_at = seen_at;
        f.category = Some(
            match v.category.as_deref() {
                Some(c) if c.eq_ignore_ascii_case("packages") || c.eq_ignore_ascii_case("os") => {
                    "system_software"
                }
                Some(_) => "application",
                None => "system_software",
            }
            .to_string(),
        );
        out.finding(f, at)?;
    }
    Ok(())
}
