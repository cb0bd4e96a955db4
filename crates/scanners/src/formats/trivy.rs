//! Trivy JSON: the legacy form (an array of results, no artifact name) and schema 2
//! (`SchemaVersion: 2`, `ArtifactName`, `Results`). Vulnerabilities, failed
//! misconfigurations and secrets become findings.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::Deserialize;
use yunshou_model::finding::{normalise_cves, normalise_cwes, Package, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, meaningful};
use crate::ParseError;

#[derive(Deserialize)]
struct Report {
    #[serde(rename = "SchemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "ArtifactName")]
    artifact_name: Option<String>,
    #[serde(rename = "ArtifactType")]
    artifact_type: Option<String>,
    #[serde(rename = "CreatedAt")]
    created_at: Option<String>,
    #[serde(rename = "Metadata")]
    metadata: Option<Metadata>,
    #[serde(rename = "Results")]
    results: Option<Vec<TrivyResult>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "OS")]
    os: Option<Os>,
}

#[derive(Deserialize)]
struct Os {
    #[serde(rename = "Family")]
    family: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct TrivyResult {
    #[serde(rename = "Target")]
    target: String,
    #[serde(rename = "Class")]
    class: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "Vulnerabilities")]
    vulnerabilities: Option<Vec<Vuln>>,
    #[serde(rename = "Misconfigurations")]
    misconfigurations: Option<Vec<Misconfig>>,
    #[serde(rename = "Secrets")]
    secrets: Option<Vec<Secret>>,
}

#[derive(Deserialize)]
struct Vuln {
    #[serde(rename = "VulnerabilityID")]
    id: String,
    #[serde(rename = "PkgName")]
    pkg_name: String,
    #[serde(rename = "PkgPath")]
    pkg_path: Option<String>,
    #[serde(rename = "InstalledVersion")]
    installed: Option<String>,
    #[serde(rename = "FixedVersion")]
    fixed: Option<String>,
    #[serde(rename = "Title")]
    title: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "Severity")]
    severity: String,
    #[serde(rename = "SeveritySource")]
    severity_source: Option<String>,
    #[serde(rename = "CweIDs")]
    cwes: Option<Vec<String>>,
    #[serde(rename = "CVSS")]
    cvss: Option<BTreeMap<String, Cvss>>,
    #[serde(rename = "PrimaryURL")]
    primary_url: Option<String>,
    #[serde(rename = "References")]
    references: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Cvss {
    #[serde(rename = "V2Vector")]
    v2: Option<String>,
    #[serde(rename = "V3Vector")]
    v3: Option<String>,
    #[serde(rename = "V40Vector")]
    v40: Option<String>,
}

#[derive(Deserialize)]
struct Misconfig {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Title")]
    title: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Resolution")]
    resolution: Option<String>,
    #[serde(rename = "Severity")]
    severity: String,
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "References")]
    references: Option<Vec<String>>,
    #[serde(rename = "CauseMetadata")]
    cause: Option<Cause>,
}

#[derive(Deserialize)]
struct Cause {
    #[serde(rename = "StartLine")]
    start_line: Option<u64>,
}

#[derive(Deserialize)]
struct Secret {
    #[serde(rename = "RuleID")]
    rule_id: String,
    #[serde(rename = "Title")]
    title: Option<String>,
    #[serde(rename = "Severity")]
    severity: String,
    #[serde(rename = "StartLine")]
    start_line: Option<u64>,
    #[serde(rename = "Match")]
    matched: Option<String>,
}

/// Trivy's OS package types: their findings are about the system software of the image.
const OS_TYPES: &[&str] = &[
    "alpine",
    "alma",
    "amazon",
    "azurelinux",
    "bottlerocket",
    "cbl-mariner",
    "centos",
    "chainguard",
    "debian",
    "echo",
    "fedora",
    "opensuse",
    "opensuse-leap",
    "opensuse-tumbleweed",
    "oracle",
    "photon",
    "redhat",
    "rocky",
    "sles",
    "suse",
    "ubuntu",
    "wolfi",
];

fn severity(word: &str) -> Result<Severity, String> {
    if word.eq_ignore_ascii_case("unknown") {
        return Ok(Severity::Info);
    }
    Severity::parse(word).ok_or_else(|| {
        format!("Severity \"{word}\" is not one of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN")
    })
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| out.invalid("byte 0", format!("not UTF-8 text: {e}")))?;
    let legacy = text
        .trim_start()
        .trim_start_matches('\u{feff}')
        .starts_with('[');
    let report: Report = if legacy {
        Report {
            schema_version: None,
            artifact_name: None,
            artifact_type: None,
            created_at: None,
            metadata: None,
            results: Some(super::read_json(&mut text.as_bytes(), out)?),
        }
    } else {
        super::read_json(&mut text.as_bytes(), out)?
    };
    if !legacy && report.schema_version.is_none() && report.results.is_none() {
        return Err(out.invalid(
            "line 1",
            "neither SchemaVersion nor Results: this is not a Trivy report",
        ));
    }
    let seen_at = match report.created_at.as_deref().and_then(meaningful) {
        Some(t) => Some(fields::rfc3339(&t).map_err(|m| out.invalid("CreatedAt", m))?),
        None => None,
    };
    out.scan_time(seen_at.as_deref());
    let results = report.results.unwrap_or_default();
    let prefix = if legacy { "" } else { "Results" };

    let mut base = Target::default();
    match (
        report.artifact_type.as_deref(),
        report.artifact_name.and_then(|n| clean(&n)),
    ) {
        (Some("repository"), Some(name)) => base.repository = Some(name),
        (None | Some("container_image"), Some(name)) => base.image = Some(name),
        // A file system or VM scan names a path on an asset the caller knows.
        _ => {}
    }
    base.os = report
        .metadata
        .and_then(|m| m.os)
        .map(|os| {
            [os.family, os.name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| !s.is_empty())
        .or_else(|| {
            // Legacy: `debian (debian 10.8)`.
            results.iter().find(|r| is_os(r)).and_then(|r| {
                let (_, inner) = r.target.split_once('(')?;
                clean(inner.trim_end_matches(')'))
            })
        });
    out.scanned(&base)?;

    for (i, r) in results.into_iter().enumerate() {
        let os_pkgs = is_os(&r);
        let category = if os_pkgs {
            "system_software"
        } else {
            "application"
        };
        for (j, v) in r
            .vulnerabilities
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = || format!("{prefix}[{i}].Vulnerabilities[{j}]");
            let mut f = blank("trivy");
            f.severity = severity(&v.severity).map_err(|m| out.invalid(at(), m))?;
            f.severity_raw = Some(v.severity.clone());
            // NVD's vectors first, then those of the source Trivy took the severity from.
            let cvss = v.cvss.unwrap_or_default();
            let mut sources: Vec<&String> = cvss.keys().collect();
            sources.sort_by_key(|k| {
                (
                    k.as_str() != "nvd",
                    Some(k.as_str()) != v.severity_source.as_deref(),
                )
            });
            for s in sources {
                let c = &cvss[s];
                if f.cvss3.is_none() {
                    f.cvss3 = fields::cvss3(c.v3.as_deref().unwrap_or(""), "3.1")
                        .map_err(|m| out.invalid(at(), m))?;
                }
                if f.cvss2.is_none() {
                    f.cvss2 = fields::cvss2(c.v2.as_deref().unwrap_or(""))
                        .map_err(|m| out.invalid(at(), m))?;
                }
                if f.cvss4.is_none() {
                    f.cvss4 = fields::cvss4(c.v40.as_deref().unwrap_or(""))
                        .map_err(|m| out.invalid(at(), m))?;
                }
            }
            f.target = Target {
                package: Some(Package {
                    name: v.pkg_name.clone(),
                    installed_version: v.installed.as_deref().and_then(clean),
                    fixed_version: v.fixed.as_deref().and_then(clean),
                }),
                location: if os_pkgs {
                    None
                } else {
                    v.pkg_path
                        .as_deref()
                        .and_then(clean)
                        .or_else(|| clean(&r.target))
                },
                ..base.clone()
            };
            f.check_id = clean(&v.id);
            f.title = match v.title.as_deref().and_then(clean) {
                Some(t) => format!("{}: {t}", v.id),
                None => format!(
                    "{} in {} {}",
                    v.id,
                    v.pkg_name,
                    v.installed.as_deref().unwrap_or("")
                )
                .trim()
                .to_string(),
            };
            f.description = v.description.as_deref().and_then(clean);
            f.solution = v
                .fixed
                .as_deref()
                .and_then(clean)
                .map(|fx| format!("Upgrade {} to {fx}.", v.pkg_name));
            f.cves = normalise_cves([&v.id]);
            f.cwes = normalise_cwes(v.cwes.unwrap_or_default());
            f.references = v
                .primary_url
                .into_iter()
                .chain(v.references.unwrap_or_default())
                .collect();
            f.references.dedup();
            f.seen_at = seen_at.clone();
            f.category = Some(category.to_string());
            out.finding(f, at)?;
        }
        for (j, m) in r
            .misconfigurations
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = || format!("{prefix}[{i}].Misconfigurations[{j}]");
            if m.status
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("fail"))
            {
                continue;
            }
            let mut f = blank("trivy");
            f.severity = severity(&m.severity).map_err(|e| out.invalid(at(), e))?;
            f.severity_raw = Some(m.severity.clone());
            f.target = Target {
                location: Some(match m.cause.and_then(|c| c.start_line) {
                    Some(l) => format!("{}:{l}", r.target),
                    None => r.target.clone(),
                }),
                ..base.clone()
            };
            f.title = match m.title.as_deref().and_then(clean) {
                Some(t) => format!("{}: {t}", m.id),
                None => m.id.clone(),
            };
            f.check_id = clean(&m.id);
            f.description = m.description.as_deref().and_then(clean);
            f.evidence = m.message.as_deref().and_then(clean);
            f.solution = m.resolution.as_deref().and_then(clean);
            f.references = m.references.unwrap_or_default();
            f.seen_at = seen_at.clone();
            f.category = Some("system_software".to_string());
            out.finding(f, at)?;
        }
        for (j, s) in r.secrets.unwrap_or_default().into_iter().enumerate() {
            let at = || format!("{prefix}[{i}].Secrets[{j}]");
            let mut f = blank("trivy");
            f.severity = severity(&s.severity).map_err(|e| out.invalid(at(), e))?;
            f.severity_raw = Some(s.severity.clone());
            f.target = Target {
                location: Some(match s.start_line {
                    Some(l) => format!("{}:{l}", r.target),
                    None => r.target.clone(),
                }),
                ..base.clone()
            };
            f.title = s
                .title
                .clone()
                .unwrap_or_else(|| format!("Secret {}", s.rule_id));
            f.check_id = clean(&s.rule_id);
            f.evidence = s.matched.as_deref().and_then(clean);
            f.seen_at = seen_at.clone();
            f.category = Some("application".to_string());
            out.finding(f, at)?;
        }
    }
    Ok(())
}

fn is_os(r: &TrivyResult) -> bool {
    match r.class.as_deref() {
        Some(c) => c == "os-pkgs",
        None => r.kind.as_deref().is_some_and(|t| OS_TYPES.contains(&t)),
    }
}
