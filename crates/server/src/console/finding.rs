//! One finding in the console (I.3.a–b): where it is, what the tools said, its CVSS and
//! GB/T 30279 grades, and its GB/T 20984 risk computed step by step; its work order, and a
//! form to register it in the risk register.

use super::findings::VulnView;
use super::{page, Console, ConsoleError, Layout};
use crate::extract::IdPath;
use crate::i18n::{I18n, Lang};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use yunshou_identify::vuln_grade::{Gb30279Grade, Lang as GradeLang};
use yunshou_model::Permission;
use yunshou_store::findings::Finding;
use yunshou_store::threats::Threat;

/// A finding's stored risk assessment (`Finding.risk`), every field optional so that an
/// older or partial document still shows what it has.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RiskDetail {
    cvss_vector: Option<String>,
    cvss_score: Option<f64>,
    gb30279: Option<Gb30279Grade>,
    severity_level: Option<u8>,
    exploitability: Option<u8>,
    asset_value: Option<u8>,
    internet_facing: Option<bool>,
    reasons: Vec<String>,
    method: Option<String>,
    table: Option<String>,
    threat: Option<u8>,
    vulnerability: Option<u8>,
    asset_value_used: Option<u8>,
    likelihood: Option<f64>,
    loss: Option<f64>,
    value: Option<f64>,
    level: Option<u8>,
    steps: Vec<String>,
    explanation: Vec<String>,
}

/// The GB/T 30279 indicators and ratings behind a grade: (label, value) rows.
fn grade_rows(t: &I18n, g: &Gb30279Grade) -> Vec<(&'static str, String)> {
    let lang = match t.lang {
        Lang::Zh => GradeLang::Zh,
        Lang::En => GradeLang::En,
    };
    vec![
        (t.get("gb.access_path"), g.access_path.label(lang).into()),
        (t.get("gb.trigger"), g.trigger.label(lang).into()),
        (t.get("gb.privileges"), g.privileges.label(lang).into()),
        (t.get("gb.interaction"), g.interaction.label(lang).into()),
        (
            t.get("gb.exploitability"),
            format!(
                "{} ({}/8)",
                g.exploitability.label(lang),
                g.exploitability_points
            ),
        ),
        (
            t.get("gb.confidentiality"),
            g.confidentiality.label(lang).into(),
        ),
        (t.get("gb.integrity"), g.integrity.label(lang).into()),
        (t.get("gb.availability"), g.availability.label(lang).into()),
        (
            t.get("gb.impact"),
            format!("{} ({}/6)", g.impact.label(lang), g.impact_points),
        ),
        (t.get("gb.level"), g.level.label(lang).into()),
    ]
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    l: Layout,
    f: Finding,
    risk: RiskDetail,
    grade: Vec<(&'static str, String)>,
    raw_risk: String,
    /// Threats to register a risk with (only for `RiskManage`).
    threats: Vec<Threat>,
    can_register: bool,
}

impl VulnView for FindingPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl FindingPage {
    fn method(&self) -> &'static str {
        match self.risk.method.as_deref() {
            Some("multiplication") => self.l.t.get("vset.method.multiplication"),
            _ => self.l.t.get("vset.method.matrix"),
        }
    }
    /// `T=4 V=3 A=3 → L=3 F=3 R=9`.
    fn inputs(&self) -> String {
        let r = &self.risk;
        let n = |v: Option<u8>| v.map(|v| v.to_string()).unwrap_or_else(|| "?".into());
        let x = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_else(|| "?".into());
        format!(
            "T={} V={} A={} → L={} F={} R={}",
            n(r.threat),
            n(r.vulnerability),
            n(r.asset_value_used),
            x(r.likelihood),
            x(r.loss),
            x(r.value)
        )
    }
    /// Port/protocol, service.
    fn port(&self) -> String {
        let t = &self.f.target;
        match (t.port, &t.service) {
            (Some(p), Some(s)) => format!("{p}/{} ({s})", t.protocol.as_deref().unwrap_or("tcp")),
            (Some(p), None) => format!("{p}/{}", t.protocol.as_deref().unwrap_or("tcp")),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        }
    }
    fn package(&self) -> String {
        let Some(p) = &self.f.target.package else {
            return String::new();
        };
        let mut s = p.name.clone();
        if let Some(v) = &p.installed_version {
            s.push_str(&format!(" {v}"));
        }
        if let Some(v) = &p.fixed_version {
            s.push_str(&format!(" → {v}"));
        }
        s
    }
    /// Only web links become links; anything else in the references is shown as text.
    fn is_link(&self, r: &str) -> bool {
        r.starts_with("https://") || r.starts_with("http://")
    }
    fn yes_no(&self, b: &bool) -> &'static str {
        self.l.t.get(if *b { "common.yes" } else { "common.no" })
    }
}

/// `GET /findings/{id}`: everything known of a finding.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let f = state.store.finding(&scope, &id).await?;
    let risk: RiskDetail = serde_json::from_value(f.risk.clone()).unwrap_or_default();
    let grade = risk
        .gb30279
        .as_ref()
        .map(|g| grade_rows(&l.t, g))
        .unwrap_or_default();
    let raw_risk = serde_json::to_string_pretty(&f.risk).unwrap_or_default();
    let can_register = l.p.can(Permission::RiskManage);
    let threats = if can_register {
        state.store.threats(&scope).await?
    } else {
        vec![]
    };
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        FindingPage {
            l,
            f,
            risk,
            grade,
            raw_risk,
            threats,
            can_register,
        }
        .render()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_assessment_reads_with_its_grade() {
        let doc = serde_json::json!({
            "cvss_score": 9.8, "level": 5, "method": "matrix", "table": "GB/T 20984-2022 附录 E",
            "steps": ["L = matrix_L(T=5, V=5) = 5"], "explanation": ["T from exploitability"],
            "reasons": [], "gb30279": {
                "access_path": "network", "trigger": "low", "privileges": "none",
                "interaction": "not_required", "confidentiality": "severe", "integrity": "severe",
                "availability": "severe", "exploitability_points": 8, "exploitability": "high",
                "impact_points": 6, "impact": "high", "level": "critical"
            }
        });
        let r: RiskDetail = serde_json::from_value(doc).unwrap();
        let g = r.gb30279.as_ref().unwrap();
        let rows = grade_rows(&I18n { lang: Lang::Zh }, g);
        assert!(rows.iter().any(|(_, v)| v == "超危"), "{rows:?}");
        assert!(rows.iter().any(|(_, v)| v == "高 (8/8)"), "{rows:?}");
        assert_eq!(r.steps.len(), 1);
        // A document of another shape still opens the page.
        let r: RiskDetail =
            serde_json::from_value(serde_json::json!({"level": "high"})).unwrap_or_default();
        assert!(r.level.is_none());
    }
}
