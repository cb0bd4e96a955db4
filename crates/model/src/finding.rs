//! Findings (clause I.3): weaknesses reported by scanners or recorded by people, as the
//! importers hand them over — before the ledger resolves which asset they concern.
//! Plain data and the identity rules deduplication relies on; no I/O.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Severity as the reporting tool graded it, normalised to five steps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational: nothing to fix (an open port, a banner).
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every step, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the stable name, or the words scanners use for it (case-insensitive:
    /// `informational`, `none`, `log`, `moderate`, `important`, `urgent`, `serious`).
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" | "information" | "none" | "log" | "note" => Severity::Info,
            "low" | "minimal" => Severity::Low,
            "medium" | "moderate" | "warning" => Severity::Medium,
            "high" | "important" | "serious" | "error" => Severity::High,
            "critical" | "urgent" => Severity::Critical,
            _ => return None,
        })
    }

    /// The CVSS qualitative rating of a base score (CVSS v3.1/v4.0 tables: 0 none, 0.1–3.9
    /// low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0 critical).
    pub fn from_cvss(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// A software package a finding is about (container images, SBOM scanners, host agents).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Package {
    /// Package name (`openssl`, `log4j-core`).
    pub name: String,
    /// The version found.
    #[serde(default)]
    pub installed_version: Option<String>,
    /// The first version that fixes it, when the tool knows.
    #[serde(default)]
    pub fixed_version: Option<String>,
}

/// Where a finding was found: what the ledger matches an asset by, and the place on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Target {
    /// IPv4 or IPv6 address.
    #[serde(default)]
    pub ip: Option<String>,
    /// Host name or FQDN.
    #[serde(default)]
    pub hostname: Option<String>,
    /// CPE 2.3 (or 2.2 URI) names the tool identified on the target.
    #[serde(default)]
    pub cpe: Vec<String>,
    /// Container image (`registry/name:tag`).
    #[serde(default)]
    pub image: Option<String>,
    /// Source repository or project (SARIF, SAST tools).
    #[serde(default)]
    pub repository: Option<String>,
    /// Operating system as reported.
    #[serde(default)]
    pub os: Option<String>,
    /// Port the finding is on.
    #[serde(default)]
    pub port: Option<u16>,
    /// `tcp` or `udp` (with `port`).
    #[serde(default)]
    pub protocol: Option<String>,
    /// Service name on the port (`https`, `ssh`).
    #[serde(default)]
    pub service: Option<String>,
    /// The package affected.
    #[serde(default)]
    pub package: Option<Package>,
    /// A finer place: URL (web scanners), `file:line` (SAST), a path.
    #[serde(default)]
    pub location: Option<String>,
}

impl Target {
    /// True when nothing identifies an asset (no IP, host name, image or repository).
    pub fn is_anonymous(&self) -> bool {
        self.ip.is_none()
            && self.hostname.is_none()
            && self.image.is_none()
            && self.repository.is_none()
    }

    /// The place on the asset: port, package or location — what makes two findings of one
    /// weakness on one asset different.
    pub fn place(&self) -> String {
        let mut place = String::new();
        if let Some(port) = self.port {
            place.push_str(&format!(
                "{}/{}",
                port,
                self.protocol.as_deref().unwrap_or("tcp")
            ));
        }
        if let Some(p) = &self.package {
            if !place.is_empty() {
                place.push(' ');
            }
            place.push_str(&p.name);
        }
        if let Some(l) = &self.location {
            if !place.is_empty() {
                place.push(' ');
            }
            place.push_str(l);
        }
        place
    }
}

/// What kind of weakness (I.3.a): the layers the specification names.
pub const CATEGORIES: [&str; 7] = [
    "physical",
    "network",
    "system_software",
    "middleware",
    "application",
    "technical_management",
    "organisational_management",
];

/// How a weakness was discovered (I.3.a).
pub const METHODS: [&str; 5] = [
    "scan",
    "questionnaire",
    "manual_review",
    "document_review",
    "penetration_test",
];

/// One weakness as reported by a tool or a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportedFinding {
    /// The reporting source: the importer's format name (`nessus`, `openvas`, …) or
    /// `manual` for the CSV template.
    pub source: String,
    /// The tool's own identifier of the check (Nessus plugin id, NVT OID, template id, rule
    /// id).
    #[serde(default)]
    pub check_id: Option<String>,
    /// Where it was found.
    pub target: Target,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// What the tool recommends.
    #[serde(default)]
    pub solution: Option<String>,
    /// What the tool saw (plugin output, matched response, code snippet).
    #[serde(default)]
    pub evidence: Option<String>,
    /// CVE ids, upper case, sorted, without duplicates.
    #[serde(default)]
    pub cves: Vec<String>,
    /// CWE ids as `CWE-79`, sorted, without duplicates.
    #[serde(default)]
    pub cwes: Vec<String>,
    /// CVSS v3.x vector as given (`CVSS:3.1/AV:N/…` or `CVSS:3.0/…`).
    #[serde(default)]
    pub cvss3: Option<String>,
    /// CVSS v4.0 vector (`CVSS:4.0/AV:N/…`).
    #[serde(default)]
    pub cvss4: Option<String>,
    /// CVSS v2 vector, kept for reference (not scored).
    #[serde(default)]
    pub cvss2: Option<String>,
    /// The tool's severity, normalised.
    pub severity: Severity,
    /// The tool's severity as written (`4`, `High`, `Urgent`), for the record.
    #[serde(default)]
    pub severity_raw: Option<String>,
    /// Reference URLs.
    #[serde(default)]
    pub references: Vec<String>,
    /// When the tool saw it (RFC 3339 UTC), when the report says.
    #[serde(default)]
    pub seen_at: Option<String>,
    /// The tool says an exploit is known or it is on a known-exploited list.
    #[serde(default)]
    pub known_exploited: bool,
    /// EPSS probability 0–1, when the report carries it.
    #[serde(default)]
    pub epss: Option<f64>,
    /// One of [`CATEGORIES`], when known.
    #[serde(default)]
    pub category: Option<String>,
    /// One of [`METHODS`]; importers of tool output set `scan`.
    #[serde(default)]
    pub method: Option<String>,
}

impl ReportedFinding {
    /// The identity of the weakness on its asset, without the asset: what deduplication
    /// compares across scanners and runs. A finding with CVE ids is the CVE set at its place
    /// (port, package or location), whichever tool reported it; one without is the tool's
    /// check at its place, or — for manual findings — the title.
    pub fn identity(&self) -> String {
        let place = self.target.place();
        if !self.cves.is_empty() {
            format!("cve:{}@{}", self.cves.join(","), place)
        } else if let Some(check) = &self.check_id {
            format!("check:{}:{}@{}", self.source, check, place)
        } else {
            format!(
                "title:{}:{}@{}",
                self.source,
                self.title.trim().to_lowercase(),
                place
            )
        }
    }
}

/// A host or image a report says it scanned, findings or not: the scope a re-import closes
/// missing findings in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScannedTarget {
    /// The target as the report names it (port, package and location unset).
    pub target: Target,
}

/// One item of a report, in file order.
// A scanned target comes once per host and is moved once; boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReportItem {
    /// A target the report covered (sent before or after its findings, at least once).
    Scanned(ScannedTarget),
    /// A finding.
    Finding(Box<ReportedFinding>),
}

/// Normalises CVE ids: upper case, sorted, duplicates removed; anything not `CVE-YYYY-N…`
/// dropped.
pub fn normalise_cves<I: IntoIterator<Item = S>, S: AsRef<str>>(ids: I) -> Vec<String> {
    let mut out: Vec<String> = ids
        .into_iter()
        .map(|s| s.as_ref().trim().to_ascii_uppercase())
        .filter(|s| is_cve_id(s))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Normalises CWE ids to `CWE-N`: accepts `CWE-79`, `cwe-79`, `79`; sorted, deduplicated.
pub fn normalise_cwes<I: IntoIterator<Item = S>, S: AsRef<str>>(ids: I) -> Vec<String> {
    let mut nums: Vec<u32> = ids
        .into_iter()
        .filter_map(|s| {
            let s = s.as_ref().trim();
            let digits = s
                .strip_prefix("CWE-")
                .or_else(|| s.strip_prefix("cwe-"))
                .unwrap_or(s);
            digits.parse::<u32>().ok()
        })
        .collect();
    nums.sort_unstable();
    nums.dedup();
    nums.into_iter().map(|n| format!("CWE-{n}")).collect()
}

fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, num)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && num.len() >= 4
        && num.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(source: &str, cves: &[&str], port: Option<u16>) -> ReportedFinding {
        ReportedFinding {
            source: source.into(),
            check_id: Some("1".into()),
            target: Target {
                ip: Some("10.0.0.1".into()),
                port,
                ..Default::default()
            },
            title: "x".into(),
            description: None,
            solution: None,
            evidence: None,
            cves: normalise_cves(cves),
            cwes: vec![],
            cvss3: None,
            cvss4: None,
            cvss2: None,
            severity: Severity::High,
            severity_raw: None,
            references: vec![],
            seen_at: None,
            known_exploited: false,
            epss: None,
            category: None,
            method: None,
        }
    }

    #[test]
    fn the_same_cve_at_the_same_place_is_one_weakness_whoever_reports_it() {
        let a = finding("nessus", &["cve-2021-44228"], Some(443));
        let b = finding("openvas", &["CVE-2021-44228"], Some(443));
        assert_eq!(a.identity(), b.identity());
        assert_ne!(
            a.identity(),
            finding("openvas", &["CVE-2021-44228"], Some(8443)).identity()
        );
        // Without CVEs the check id is the tool's own, so tools do not merge.
        assert_ne!(
            finding("nessus", &[], None).identity(),
            finding("openvas", &[], None).identity()
        );
    }

    #[test]
    fn ids_are_normalised() {
        assert_eq!(
            normalise_cves([
                "cve-2020-1234",
                "CVE-2019-0001",
                "CVE-2020-1234",
                "CVE-20-1",
                "NOCVE"
            ]),
            vec!["CVE-2019-0001", "CVE-2020-1234"]
        );
        assert_eq!(
            normalise_cwes(["CWE-79", "79", "cwe-20", "x"]),
            vec!["CWE-20", "CWE-79"]
        );
        assert_eq!(Severity::parse("Urgent"), Some(Severity::Critical));
        assert_eq!(Severity::from_cvss(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss(0.0), Severity::Info);
    }
}
