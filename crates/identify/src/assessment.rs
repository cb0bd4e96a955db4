//! A finding's assessment (I.3.b): its ratings ([`crate::vuln_grade::rate_finding`]: CVSS
//! by our calculators, GB/T 30279 grade, GB/T 20984 severity and exploitability) and the
//! risk they make with the asset's value and exposure ([`crate::risk::finding_risk`]) —
//! every input and step kept, so the console can show how the level was reached.

use crate::risk::{finding_risk, RiskMethod, RiskTables};
use crate::vuln_grade::rate;
use serde_json::json;
use yunshou_model::finding::{ReportedFinding, Severity};

/// What the ledger knows of the asset a finding is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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

/// Everything a finding's assessment depends on besides the tenant's method and tables:
/// equal inputs give an equal assessment, so an import of a scanner's report (the same check
/// on hundreds of hosts) assesses each combination once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AssessmentInputs {
    cvss4: Option<String>,
    cvss3: Option<String>,
    severity: Severity,
    known_exploited: bool,
    /// The EPSS score's bits (a float is not `Eq`).
    epss: Option<u64>,
    asset: AssetExposure,
}

impl AssessmentInputs {
    /// The inputs of `f` on an asset.
    pub fn of(f: &ReportedFinding, asset: AssetExposure) -> AssessmentInputs {
        AssessmentInputs {
            cvss4: f.cvss4.clone(),
            cvss3: f.cvss3.clone(),
            severity: f.severity,
            known_exploited: f.known_exploited,
            epss: f.epss.map(f64::to_bits),
            asset,
        }
    }
}

/// Assesses a reported finding on an asset with the tenant's method and tables.
pub fn assess_finding(
    f: &ReportedFinding,
    asset: AssetExposure,
    method: RiskMethod,
    tables: &RiskTables,
) -> FindingAssessment {
    assess(&AssessmentInputs::of(f, asset), method, tables)
}

/// Assesses a finding from its inputs alone.
pub fn assess(
    inputs: &AssessmentInputs,
    method: RiskMethod,
    tables: &RiskTables,
) -> FindingAssessment {
    let epss = inputs.epss.map(f64::from_bits);
    let rating = rate(
        inputs.cvss4.as_deref(),
        inputs.cvss3.as_deref(),
        inputs.severity,
        inputs.known_exploited,
        epss,
    );
    let asset = inputs.asset;
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
        "known_exploited": inputs.known_exploited,
        "epss": epss,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(title: &str, cvss3: &str) -> ReportedFinding {
        ReportedFinding {
            title: title.into(),
            description: Some(format!("{title}, described")),
            ..crate::vuln_grade::tests::finding(Some(cvss3), None, Severity::High)
        }
    }

    #[test]
    fn the_inputs_are_all_an_assessment_reads() {
        let v = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let (a, b) = (finding("one", v), finding("two", v));
        let exposure = AssetExposure {
            value: Some(4),
            internet_facing: true,
        };
        let tables = RiskTables::default();
        // Texts and titles are not inputs: the two findings share their assessment.
        assert_eq!(
            AssessmentInputs::of(&a, exposure),
            AssessmentInputs::of(&b, exposure)
        );
        let shared = assess(
            &AssessmentInputs::of(&a, exposure),
            RiskMethod::Matrix,
            &tables,
        );
        assert_eq!(
            assess_finding(&b, exposure, RiskMethod::Matrix, &tables),
            shared
        );
        // The asset's exposure, the vector and the EPSS score are.
        let hidden = AssetExposure::default();
        assert_ne!(
            AssessmentInputs::of(&a, exposure),
            AssessmentInputs::of(&a, hidden)
        );
        assert_ne!(
            assess_finding(&a, hidden, RiskMethod::Matrix, &tables),
            shared
        );
        let mut scored = a.clone();
        scored.epss = Some(0.97);
        assert_ne!(
            AssessmentInputs::of(&a, exposure),
            AssessmentInputs::of(&scored, exposure)
        );
        let weaker = finding("one", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N");
        assert!(
            assess_finding(&weaker, exposure, RiskMethod::Matrix, &tables).risk_level
                < shared.risk_level
        );
    }
}
