//! A finding's assessment (I.3.b): its ratings ([`crate::vuln_grade::rate_finding`]: CVSS
//! by our calculators, GB/T 30279 grade, GB/T 20984 severity and exploitability) and the
//! risk they make with the asset's value and exposure ([`crate::risk::finding_risk`]) —
//! every input and step kept, so the console can show how the level was reached.

use crate::risk::{finding_risk, RiskMethod, RiskTables};
use crate::vuln_grade::rate_finding;
use serde_json::json;
use yunshou_model::finding::ReportedFinding;

/// What the ledger knows of the asset a finding is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssetExposure {
    /// Asset value 1–5, when valued.
    pub value: Option<u8>,
    /// Reachable from the internet.
    pub internet_facing: bool,
}

/// A finding's assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingAssessment {
    /// Score of the most specific vector that parses (v4.0 before v3.x).
    pub cvss_score: Option<f64>,
    /// GB/T 20984 risk level 1–5.
    pub risk_level: u8,
    /// The risk value R.
    pub risk_value: f64,
    /// Sort key of the prioritised queue (higher first).
    pub priority: i64,
    /// Ratings, inputs, the method and table, each step.
    pub detail: serde_json::Value,
}

/// Assesses a reported finding on an asset with the tenant's method and tables.
pub fn assess_finding(
    f: &ReportedFinding,
    asset: AssetExposure,
    method: RiskMethod,
    tables: &RiskTables,
) -> FindingAssessment {
    let rating = rate_finding(f);
    let input = rating.risk_input(
        asset.value.filter(|v| (1..=5).contains(v)),
        asset.internet_facing,
    );
    // The inputs are 1–5 by construction; tables were validated when saved. Should a
    // stored table be broken, fall back to the shipped one rather than lose the finding.
    let risk = finding_risk(&input, method, tables)
        .or_else(|_| finding_risk(&input, method, &RiskTables::default()))
        .expect("the default tables are valid");
    let detail = json!({
        "cvss_vector": rating.cvss_vector,
        "cvss_score": rating.cvss_score,
        "gb30279": rating.gb30279,
        "severity_level": rating.severity_level,
        "exploitability": rating.exploitability,
        "asset_value": asset.value,
        "internet_facing": asset.internet_facing,
        "known_exploited": f.known_exploited,
        "epss": f.epss,
        "reasons": rating.reasons,
        "method": risk.result.method,
        "table": risk.result.table,
        "threat": risk.result.threat,
        "vulnerability": risk.result.vulnerability,
        "asset_value_used": risk.result.asset_value,
        "likelihood": risk.result.likelihood,
        "loss": risk.result.loss,
        "value": risk.result.value,
        "level": risk.result.level,
        "steps": risk.result.steps,
        "explanation": risk.explanation,
    });
    FindingAssessment {
        cvss_score: rating.cvss_score,
        risk_level: risk.result.level,
        risk_value: risk.result.value,
        priority: i64::from(risk.priority_score),
        detail,
    }
}
