//! CVSS v3.0 and v3.1 (FIRST, *Common Vulnerability Scoring System v3.1: Specification
//! Document*, section 7 "CVSS v3.1 Equations"; v3.0 likewise, section 8).
//!
//! The two versions share metrics and weights and differ in two places only, both kept here:
//! v3.1's Roundup works on integers so that `4.000000000000001` rounds to 4.0 rather than 4.1
//! (v3.0 rounds up the float as it is), and v3.1 changed the modified impact for a changed
//! scope (`(MISS × 0.9731 − 0.02)^13` instead of `(MISS − 0.02)^15`). A 3.0 vector is scored
//! with the 3.0 rules, so our score agrees with what NVD published for it.

use std::fmt;
use std::str::FromStr;

use super::{
    metric_enum, parse_metrics, split_prefix, write_metric, AttackComplexity, AttackVector,
    CvssError, Impact, MetricDef, MetricValue, PrivilegesRequired, Requirement,
};

metric_enum! {
    /// User Interaction (UI, MUI) in v3.
    UserInteraction {
        /// None.
        None = "N",
        /// Required.
        Required = "R",
    }
}

metric_enum! {
    /// Scope (S, MS): whether a successful attack reaches beyond the vulnerable component.
    Scope {
        /// Unchanged.
        Unchanged = "U",
        /// Changed.
        Changed = "C",
    }
}

metric_enum! {
    /// Exploit Code Maturity (E), temporal.
    ExploitCodeMaturity {
        /// Unproven.
        Unproven = "U",
        /// Proof-of-concept.
        ProofOfConcept = "P",
        /// Functional.
        Functional = "F",
        /// High.
        High = "H",
    }
}

metric_enum! {
    /// Remediation Level (RL), temporal.
    RemediationLevel {
        /// Official fix.
        OfficialFix = "O",
        /// Temporary fix.
        TemporaryFix = "T",
        /// Workaround.
        Workaround = "W",
        /// Unavailable.
        Unavailable = "U",
    }
}

metric_enum! {
    /// Report Confidence (RC), temporal.
    ReportConfidence {
        /// Unknown.
        Unknown = "U",
        /// Reasonable.
        Reasonable = "R",
        /// Confirmed.
        Confirmed = "C",
    }
}

/// The metrics of v3.x in the specification's order (Table 15), which [`Cvss3`]'s `Display`
/// follows.
const DEFS: &[MetricDef] = &[
    def("AV", AttackVector::CODES, true),
    def("AC", AttackComplexity::CODES, true),
    def("PR", PrivilegesRequired::CODES, true),
    def("UI", UserInteraction::CODES, true),
    def("S", Scope::CODES, true),
    def("C", Impact::CODES, true),
    def("I", Impact::CODES, true),
    def("A", Impact::CODES, true),
    def("E", ExploitCodeMaturity::CODES, false),
    def("RL", RemediationLevel::CODES, false),
    def("RC", ReportConfidence::CODES, false),
    def("CR", Requirement::CODES, false),
    def("IR", Requirement::CODES, false),
    def("AR", Requirement::CODES, false),
    def("MAV", AttackVector::CODES, false),
    def("MAC", AttackComplexity::CODES, false),
    def("MPR", PrivilegesRequired::CODES, false),
    def("MUI", UserInteraction::CODES, false),
    def("MS", Scope::CODES, false),
    def("MC", Impact::CODES, false),
    def("MI", Impact::CODES, false),
    def("MA", Impact::CODES, false),
];

const fn def(key: &'static str, values: &'static [&'static str], base: bool) -> MetricDef {
    MetricDef { key, values, base }
}

/// A parsed CVSS v3.0 or v3.1 vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cvss3 {
    minor: u8,
    av: AttackVector,
    ac: AttackComplexity,
    pr: PrivilegesRequired,
    ui: UserInteraction,
    s: Scope,
    c: Impact,
    i: Impact,
    a: Impact,
    e: Option<ExploitCodeMaturity>,
    rl: Option<RemediationLevel>,
    rc: Option<ReportConfidence>,
    cr: Option<Requirement>,
    ir: Option<Requirement>,
    ar: Option<Requirement>,
    mav: Option<AttackVector>,
    mac: Option<AttackComplexity>,
    mpr: Option<PrivilegesRequired>,
    mui: Option<UserInteraction>,
    ms: Option<Scope>,
    mc: Option<Impact>,
    mi: Option<Impact>,
    ma: Option<Impact>,
}

impl Cvss3 {
    /// Parses `CVSS:3.0/…` or `CVSS:3.1/…`: the eight base metrics are mandatory, temporal and
    /// environmental ones optional, in any order; unknown or repeated metrics are refused.
    pub fn parse(vector: &str) -> Result<Cvss3, CvssError> {
        let (version, body) = split_prefix(vector)?;
        let minor = match version {
            "3.0" => 0,
            "3.1" => 1,
            other => return Err(CvssError::UnsupportedVersion(other.to_string())),
        };
        let m = parse_metrics(version, body, DEFS)?;
        let base = |key: &str| CvssError::MissingBase(key.to_string());
        Ok(Cvss3 {
            minor,
            av: m.get("AV").ok_or_else(|| base("AV"))?,
            ac: m.get("AC").ok_or_else(|| base("AC"))?,
            pr: m.get("PR").ok_or_else(|| base("PR"))?,
            ui: m.get("UI").ok_or_else(|| base("UI"))?,
            s: m.get("S").ok_or_else(|| base("S"))?,
            c: m.get("C").ok_or_else(|| base("C"))?,
            i: m.get("I").ok_or_else(|| base("I"))?,
            a: m.get("A").ok_or_else(|| base("A"))?,
            e: m.get("E"),
            rl: m.get("RL"),
            rc: m.get("RC"),
            cr: m.get("CR"),
            ir: m.get("IR"),
            ar: m.get("AR"),
            mav: m.get("MAV"),
            mac: m.get("MAC"),
            mpr: m.get("MPR"),
            mui: m.get("MUI"),
            ms: m.get("MS"),
            mc: m.get("MC"),
            mi: m.get("MI"),
            ma: m.get("MA"),
        })
    }

    /// `3.0` or `3.1`.
    pub fn version(&self) -> &'static str {
        if self.minor == 0 {
            "3.0"
        } else {
            "3.1"
        }
    }

    /// Attack Vector (AV).
    pub fn attack_vector(&self) -> AttackVector {
        self.av
    }
    /// Attack Complexity (AC).
    pub fn attack_complexity(&self) -> AttackComplexity {
        self.ac
    }
    /// Privileges Required (PR).
    pub fn privileges_required(&self) -> PrivilegesRequired {
        self.pr
    }
    /// User Interaction (UI).
    pub fn user_interaction(&self) -> UserInteraction {
        self.ui
    }
    /// Scope (S).
    pub fn scope(&self) -> Scope {
        self.s
    }
    /// Confidentiality impact (C).
    pub fn confidentiality(&self) -> Impact {
        self.c
    }
    /// Integrity impact (I).
    pub fn integrity(&self) -> Impact {
        self.i
    }
    /// Availability impact (A).
    pub fn availability(&self) -> Impact {
        self.a
    }
    /// Exploit Code Maturity (E), when given.
    pub fn exploit_code_maturity(&self) -> Option<ExploitCodeMaturity> {
        self.e
    }
    /// Remediation Level (RL), when given.
    pub fn remediation_level(&self) -> Option<RemediationLevel> {
        self.rl
    }
    /// Report Confidence (RC), when given.
    pub fn report_confidence(&self) -> Option<ReportConfidence> {
        self.rc
    }

    /// True when any temporal metric is given.
    pub fn has_temporal(&self) -> bool {
        self.e.is_some() || self.rl.is_some() || self.rc.is_some()
    }

    /// True when any environmental metric is given.
    pub fn has_environmental(&self) -> bool {
        self.cr.is_some()
            || self.ir.is_some()
            || self.ar.is_some()
            || self.mav.is_some()
            || self.mac.is_some()
            || self.mpr.is_some()
            || self.mui.is_some()
            || self.ms.is_some()
            || self.mc.is_some()
            || self.mi.is_some()
            || self.ma.is_some()
    }

    /// The spec's Roundup: the smallest number with one decimal that is at least the input.
    fn roundup(&self, x: f64) -> f64 {
        if self.minor == 0 {
            // v3.0 as published: a plain ceiling, float errors included (NVD's 3.0 scores
            // were computed this way).
            (x * 10.0).ceil() / 10.0
        } else {
            // v3.1 Appendix A: round to five decimals as an integer first, so float noise
            // below 0.00001 cannot push a score up by 0.1.
            let int_input = (x * 100_000.0).round() as i64;
            if int_input % 10_000 == 0 {
                int_input as f64 / 100_000.0
            } else {
                ((int_input / 10_000) + 1) as f64 / 10.0
            }
        }
    }

    /// The unrounded Impact sub-score of the base metrics.
    fn impact_raw(&self) -> f64 {
        let iss = 1.0 - ((1.0 - cia(self.c)) * (1.0 - cia(self.i)) * (1.0 - cia(self.a)));
        match self.s {
            Scope::Unchanged => 6.42 * iss,
            Scope::Changed => 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15),
        }
    }

    /// The unrounded Exploitability sub-score of the base metrics.
    fn exploitability_raw(&self) -> f64 {
        8.22 * av(self.av) * ac(self.ac) * pr(self.pr, self.s) * ui(self.ui)
    }

    /// The Impact sub-score, rounded to one decimal as NVD and the FIRST calculator show it;
    /// 0.0 where the formula goes negative (scope changed and no impact).
    pub fn impact_subscore(&self) -> f64 {
        round1(self.impact_raw().max(0.0))
    }

    /// The Exploitability sub-score, rounded to one decimal.
    pub fn exploitability_subscore(&self) -> f64 {
        round1(self.exploitability_raw())
    }

    /// The base score, 0.0–10.0.
    pub fn base_score(&self) -> f64 {
        let impact = self.impact_raw();
        if impact <= 0.0 {
            return 0.0;
        }
        let exploitability = self.exploitability_raw();
        match self.s {
            Scope::Unchanged => self.roundup((impact + exploitability).min(10.0)),
            Scope::Changed => self.roundup((1.08 * (impact + exploitability)).min(10.0)),
        }
    }

    /// E × RL × RC (1 for metrics not given).
    fn temporal_factor(&self) -> f64 {
        let e = match self.e {
            None | Some(ExploitCodeMaturity::High) => 1.0,
            Some(ExploitCodeMaturity::Functional) => 0.97,
            Some(ExploitCodeMaturity::ProofOfConcept) => 0.94,
            Some(ExploitCodeMaturity::Unproven) => 0.91,
        };
        let rl = match self.rl {
            None | Some(RemediationLevel::Unavailable) => 1.0,
            Some(RemediationLevel::Workaround) => 0.97,
            Some(RemediationLevel::TemporaryFix) => 0.96,
            Some(RemediationLevel::OfficialFix) => 0.95,
        };
        let rc = match self.rc {
            None | Some(ReportConfidence::Confirmed) => 1.0,
            Some(ReportConfidence::Reasonable) => 0.96,
            Some(ReportConfidence::Unknown) => 0.92,
        };
        e * rl * rc
    }

    /// The temporal score, when any temporal metric is given.
    pub fn temporal_score(&self) -> Option<f64> {
        self.has_temporal()
            .then(|| self.roundup(self.base_score() * self.temporal_factor()))
    }

    /// The environmental score (which includes the temporal metrics), when any environmental
    /// metric is given. Modified metrics not given take the base metric's value.
    pub fn environmental_score(&self) -> Option<f64> {
        if !self.has_environmental() {
            return None;
        }
        let req = |r: Option<Requirement>| match r {
            None | Some(Requirement::Medium) => 1.0,
            Some(Requirement::High) => 1.5,
            Some(Requirement::Low) => 0.5,
        };
        let ms = self.ms.unwrap_or(self.s);
        let mc = cia(self.mc.unwrap_or(self.c));
        let mi = cia(self.mi.unwrap_or(self.i));
        let ma = cia(self.ma.unwrap_or(self.a));
        let miss = (1.0
            - ((1.0 - mc * req(self.cr)) * (1.0 - mi * req(self.ir)) * (1.0 - ma * req(self.ar))))
        .min(0.915);
        let modified_impact = match ms {
            Scope::Unchanged => 6.42 * miss,
            Scope::Changed if self.minor == 0 => {
                7.52 * (miss - 0.029) - 3.25 * (miss - 0.02).powi(15)
            }
            Scope::Changed => 7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powi(13),
        };
        if modified_impact <= 0.0 {
            return Some(0.0);
        }
        let modified_exploitability = 8.22
            * av(self.mav.unwrap_or(self.av))
            * ac(self.mac.unwrap_or(self.ac))
            * pr(self.mpr.unwrap_or(self.pr), ms)
            * ui(self.mui.unwrap_or(self.ui));
        let sum = modified_impact + modified_exploitability;
        let capped = match ms {
            Scope::Unchanged => sum.min(10.0),
            Scope::Changed => (1.08 * sum).min(10.0),
        };
        Some(self.roundup(self.roundup(capped) * self.temporal_factor()))
    }

    /// The most specific score present: environmental, else temporal, else base.
    pub fn score(&self) -> f64 {
        self.environmental_score()
            .or_else(|| self.temporal_score())
            .unwrap_or_else(|| self.base_score())
    }
}

fn av(v: AttackVector) -> f64 {
    match v {
        AttackVector::Network => 0.85,
        AttackVector::Adjacent => 0.62,
        AttackVector::Local => 0.55,
        AttackVector::Physical => 0.2,
    }
}

fn ac(v: AttackComplexity) -> f64 {
    match v {
        AttackComplexity::Low => 0.77,
        AttackComplexity::High => 0.44,
    }
}

/// Privileges weigh more when the scope changes: the attacker's privileges on the vulnerable
/// component matter less if the impact lands elsewhere.
fn pr(v: PrivilegesRequired, scope: Scope) -> f64 {
    match (v, scope) {
        (PrivilegesRequired::None, _) => 0.85,
        (PrivilegesRequired::Low, Scope::Unchanged) => 0.62,
        (PrivilegesRequired::Low, Scope::Changed) => 0.68,
        (PrivilegesRequired::High, Scope::Unchanged) => 0.27,
        (PrivilegesRequired::High, Scope::Changed) => 0.5,
    }
}

fn ui(v: UserInteraction) -> f64 {
    match v {
        UserInteraction::None => 0.85,
        UserInteraction::Required => 0.62,
    }
}

fn cia(v: Impact) -> f64 {
    match v {
        Impact::High => 0.56,
        Impact::Low => 0.22,
        Impact::None => 0.0,
    }
}

/// Half-up rounding to one decimal, for display of sub-scores.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl FromStr for Cvss3 {
    type Err = CvssError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvss3::parse(s)
    }
}

impl fmt::Display for Cvss3 {
    /// The normalised vector: the specification's order, metrics not defined left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CVSS:{}", self.version())?;
        write_metric(f, "AV", Some(self.av))?;
        write_metric(f, "AC", Some(self.ac))?;
        write_metric(f, "PR", Some(self.pr))?;
        write_metric(f, "UI", Some(self.ui))?;
        write_metric(f, "S", Some(self.s))?;
        write_metric(f, "C", Some(self.c))?;
        write_metric(f, "I", Some(self.i))?;
        write_metric(f, "A", Some(self.a))?;
        write_metric(f, "E", self.e)?;
        write_metric(f, "RL", self.rl)?;
        write_metric(f, "RC", self.rc)?;
        write_metric(f, "CR", self.cr)?;
        write_metric(f, "IR", self.ir)?;
        write_metric(f, "AR", self.ar)?;
        write_metric(f, "MAV", self.mav)?;
        write_metric(f, "MAC", self.mac)?;
        write_metric(f, "MPR", self.mpr)?;
        write_metric(f, "MUI", self.mui)?;
        write_metric(f, "MS", self.ms)?;
        write_metric(f, "MC", self.mc)?;
        write_metric(f, "MI", self.mi)?;
        write_metric(f, "MA", self.ma)
    }
}
