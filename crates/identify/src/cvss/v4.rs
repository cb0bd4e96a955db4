//! CVSS v4.0 (FIRST, *Common Vulnerability Scoring System v4.0: Specification Document*).
//!
//! v4.0 has no formula of weights: vectors are grouped into MacroVectors by six equivalence
//! sets (EQ1–EQ6), experts scored the highest-severity vector of each MacroVector (the
//! normative table in `v4_table.rs`), and a vector's score is its MacroVector's score less the
//! mean, over the equivalence sets, of how far the vector lies below that highest-severity
//! vector, as a proportion of the drop to the next lower MacroVector. One score covers base,
//! threat and environmental metrics; [`Cvss4::nomenclature`] says which were used.

use std::fmt;
use std::str::FromStr;

use super::v4_table::{
    eq3_eq6_depth, eq3_eq6_max, EQ1_DEPTH, EQ1_MAX, EQ2_DEPTH, EQ2_MAX, EQ4_DEPTH, EQ4_MAX,
    MACROVECTOR_SCORES,
};
use super::{
    metric_enum, parse_metrics, split_prefix, write_metric, AttackComplexity, AttackVector,
    CvssError, Impact, MetricDef, MetricValue, PrivilegesRequired, Requirement,
};

metric_enum! {
    /// Attack Requirements (AT, MAT): deployment conditions the attack depends on.
    AttackRequirements {
        /// None.
        None = "N",
        /// Present.
        Present = "P",
    }
}

metric_enum! {
    /// User Interaction (UI, MUI) in v4.
    UserInteraction {
        /// None.
        None = "N",
        /// Passive: the user does nothing unusual.
        Passive = "P",
        /// Active: the user must take deliberate steps.
        Active = "A",
    }
}

metric_enum! {
    /// Exploit Maturity (E), the threat metric.
    ExploitMaturity {
        /// Attacked: attacks reported or exploit tools available.
        Attacked = "A",
        /// Proof-of-concept published.
        ProofOfConcept = "P",
        /// Unreported.
        Unreported = "U",
    }
}

metric_enum! {
    /// Modified subsequent-system integrity or availability impact (MSI, MSA), which adds
    /// Safety to the impact values.
    SubsequentImpact {
        /// Safety: the impact endangers human safety.
        Safety = "S",
        /// High.
        High = "H",
        /// Low.
        Low = "L",
        /// None.
        None = "N",
    }
}

const fn def(key: &'static str, values: &'static [&'static str], base: bool) -> MetricDef {
    MetricDef { key, values, base }
}

/// The metrics of v4.0 in the specification's order, which `Display` follows.
const DEFS: &[MetricDef] = &[
    def("AV", AttackVector::CODES, true),
    def("AC", AttackComplexity::CODES, true),
    def("AT", AttackRequirements::CODES, true),
    def("PR", PrivilegesRequired::CODES, true),
    def("UI", UserInteraction::CODES, true),
    def("VC", Impact::CODES, true),
    def("VI", Impact::CODES, true),
    def("VA", Impact::CODES, true),
    def("SC", Impact::CODES, true),
    def("SI", Impact::CODES, true),
    def("SA", Impact::CODES, true),
    def("E", ExploitMaturity::CODES, false),
    def("CR", Requirement::CODES, false),
    def("IR", Requirement::CODES, false),
    def("AR", Requirement::CODES, false),
    def("MAV", AttackVector::CODES, false),
    def("MAC", AttackComplexity::CODES, false),
    def("MAT", AttackRequirements::CODES, false),
    def("MPR", PrivilegesRequired::CODES, false),
    def("MUI", UserInteraction::CODES, false),
    def("MVC", Impact::CODES, false),
    def("MVI", Impact::CODES, false),
    def("MVA", Impact::CODES, false),
    def("MSC", Impact::CODES, false),
    def("MSI", SubsequentImpact::CODES, false),
    def("MSA", SubsequentImpact::CODES, false),
    // Supplemental metrics: informative, never scored.
    def("S", &["N", "P"], false),
    def("AU", &["N", "Y"], false),
    def("R", &["A", "U", "I"], false),
    def("V", &["D", "C"], false),
    def("RE", &["L", "M", "H"], false),
    def("U", &["Clear", "Green", "Amber", "Red"], false),
];

const SUPPLEMENTAL: [&str; 6] = ["S", "AU", "R", "V", "RE", "U"];

/// A parsed CVSS v4.0 vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cvss4 {
    av: AttackVector,
    ac: AttackComplexity,
    at: AttackRequirements,
    pr: PrivilegesRequired,
    ui: UserInteraction,
    vc: Impact,
    vi: Impact,
    va: Impact,
    sc: Impact,
    si: Impact,
    sa: Impact,
    e: Option<ExploitMaturity>,
    cr: Option<Requirement>,
    ir: Option<Requirement>,
    ar: Option<Requirement>,
    mav: Option<AttackVector>,
    mac: Option<AttackComplexity>,
    mat: Option<AttackRequirements>,
    mpr: Option<PrivilegesRequired>,
    mui: Option<UserInteraction>,
    mvc: Option<Impact>,
    mvi: Option<Impact>,
    mva: Option<Impact>,
    msc: Option<Impact>,
    msi: Option<SubsequentImpact>,
    msa: Option<SubsequentImpact>,
    supplemental: Vec<(&'static str, &'static str)>,
}

impl Cvss4 {
    /// Parses `CVSS:4.0/…`: the eleven base metrics are mandatory; threat, environmental and
    /// supplemental metrics optional; unknown or repeated metrics are refused.
    pub fn parse(vector: &str) -> Result<Cvss4, CvssError> {
        let (version, body) = split_prefix(vector)?;
        if version != "4.0" {
            return Err(CvssError::UnsupportedVersion(version.to_string()));
        }
        let m = parse_metrics(version, body, DEFS)?;
        let base = |key: &str| CvssError::MissingBase(key.to_string());
        Ok(Cvss4 {
            av: m.get("AV").ok_or_else(|| base("AV"))?,
            ac: m.get("AC").ok_or_else(|| base("AC"))?,
            at: m.get("AT").ok_or_else(|| base("AT"))?,
            pr: m.get("PR").ok_or_else(|| base("PR"))?,
            ui: m.get("UI").ok_or_else(|| base("UI"))?,
            vc: m.get("VC").ok_or_else(|| base("VC"))?,
            vi: m.get("VI").ok_or_else(|| base("VI"))?,
            va: m.get("VA").ok_or_else(|| base("VA"))?,
            sc: m.get("SC").ok_or_else(|| base("SC"))?,
            si: m.get("SI").ok_or_else(|| base("SI"))?,
            sa: m.get("SA").ok_or_else(|| base("SA"))?,
            e: m.get("E"),
            cr: m.get("CR"),
            ir: m.get("IR"),
            ar: m.get("AR"),
            mav: m.get("MAV"),
            mac: m.get("MAC"),
            mat: m.get("MAT"),
            mpr: m.get("MPR"),
            mui: m.get("MUI"),
            mvc: m.get("MVC"),
            mvi: m.get("MVI"),
            mva: m.get("MVA"),
            msc: m.get("MSC"),
            msi: m.get("MSI"),
            msa: m.get("MSA"),
            supplemental: SUPPLEMENTAL
                .iter()
                .filter_map(|k| m.raw(k).map(|v| (*k, v)))
                .collect(),
        })
    }

    /// Attack Vector (AV).
    pub fn attack_vector(&self) -> AttackVector {
        self.av
    }
    /// Attack Complexity (AC).
    pub fn attack_complexity(&self) -> AttackComplexity {
        self.ac
    }
    /// Attack Requirements (AT).
    pub fn attack_requirements(&self) -> AttackRequirements {
        self.at
    }
    /// Privileges Required (PR).
    pub fn privileges_required(&self) -> PrivilegesRequired {
        self.pr
    }
    /// User Interaction (UI).
    pub fn user_interaction(&self) -> UserInteraction {
        self.ui
    }
    /// Vulnerable-system impact `(VC, VI, VA)`.
    pub fn vulnerable_impact(&self) -> (Impact, Impact, Impact) {
        (self.vc, self.vi, self.va)
    }
    /// Subsequent-system impact `(SC, SI, SA)`.
    pub fn subsequent_impact(&self) -> (Impact, Impact, Impact) {
        (self.sc, self.si, self.sa)
    }
    /// Exploit Maturity (E), when given.
    pub fn exploit_maturity(&self) -> Option<ExploitMaturity> {
        self.e
    }
    /// The supplemental metrics given, as `(metric, value)` in the specification's order
    /// (Safety, Automatable, Recovery, Value Density, Vulnerability Response Effort, Provider
    /// Urgency). They inform but do not change the score.
    pub fn supplemental(&self) -> &[(&'static str, &'static str)] {
        &self.supplemental
    }

    /// True when the threat metric is given.
    pub fn has_threat(&self) -> bool {
        self.e.is_some()
    }

    /// True when any environmental metric is given.
    pub fn has_environmental(&self) -> bool {
        self.cr.is_some()
            || self.ir.is_some()
            || self.ar.is_some()
            || self.mav.is_some()
            || self.mac.is_some()
            || self.mat.is_some()
            || self.mpr.is_some()
            || self.mui.is_some()
            || self.mvc.is_some()
            || self.mvi.is_some()
            || self.mva.is_some()
            || self.msc.is_some()
            || self.msi.is_some()
            || self.msa.is_some()
    }

    /// Which metric groups the score reflects: `CVSS-B` (base), `CVSS-BT` (with threat),
    /// `CVSS-BE` (with environmental) or `CVSS-BTE`.
    pub fn nomenclature(&self) -> &'static str {
        match (self.has_threat(), self.has_environmental()) {
            (false, false) => "CVSS-B",
            (true, false) => "CVSS-BT",
            (false, true) => "CVSS-BE",
            (true, true) => "CVSS-BTE",
        }
    }

    /// The severity positions that scoring uses: modified metrics replace base ones, and the
    /// metrics not defined take the worst case the specification prescribes (E → Attacked,
    /// CR/IR/AR → High).
    fn positions(&self) -> Positions {
        let sub = |modified: Option<SubsequentImpact>, base: Impact| match modified {
            Some(SubsequentImpact::Safety) => 0,
            Some(SubsequentImpact::High) => 1,
            Some(SubsequentImpact::Low) => 2,
            Some(SubsequentImpact::None) => 3,
            None => impact(base) + 1,
        };
        Positions {
            av: match self.mav.unwrap_or(self.av) {
                AttackVector::Network => 0,
                AttackVector::Adjacent => 1,
                AttackVector::Local => 2,
                AttackVector::Physical => 3,
            },
            pr: match self.mpr.unwrap_or(self.pr) {
                PrivilegesRequired::None => 0,
                PrivilegesRequired::Low => 1,
                PrivilegesRequired::High => 2,
            },
            ui: match self.mui.unwrap_or(self.ui) {
                UserInteraction::None => 0,
                UserInteraction::Passive => 1,
                UserInteraction::Active => 2,
            },
            ac: match self.mac.unwrap_or(self.ac) {
                AttackComplexity::Low => 0,
                AttackComplexity::High => 1,
            },
            at: match self.mat.unwrap_or(self.at) {
                AttackRequirements::None => 0,
                AttackRequirements::Present => 1,
            },
            vc: impact(self.mvc.unwrap_or(self.vc)),
            vi: impact(self.mvi.unwrap_or(self.vi)),
            va: impact(self.mva.unwrap_or(self.va)),
            // SC has no Safety value, so its positions start at 1 (H) like SI and SA's.
            sc: impact(self.msc.unwrap_or(self.sc)) + 1,
            si: sub(self.msi, self.si),
            sa: sub(self.msa, self.sa),
            cr: requirement(self.cr),
            ir: requirement(self.ir),
            ar: requirement(self.ar),
            e: match self.e {
                None | Some(ExploitMaturity::Attacked) => 0,
                Some(ExploitMaturity::ProofOfConcept) => 1,
                Some(ExploitMaturity::Unreported) => 2,
            },
        }
    }

    /// The MacroVector: the six equivalence-set levels EQ1…EQ6 as digits (`"002201"`).
    pub fn macro_vector(&self) -> String {
        self.positions()
            .macro_vector()
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect()
    }

    /// The CVSS v4.0 score, 0.0–10.0, of whichever metric groups are present.
    pub fn score(&self) -> f64 {
        let p = self.positions();
        // No impact on either system scores zero, whatever else is said.
        if [p.vc, p.vi, p.va].iter().all(|&x| x == 2) && [p.sc, p.si, p.sa].iter().all(|&x| x == 3)
        {
            return 0.0;
        }
        let mv = p.macro_vector();
        let [eq1, eq2, eq3, eq4, eq5, eq6] = mv;
        let Some(value) = lookup(mv) else {
            // Unreachable: every vector falls in a scored MacroVector (tested).
            return 0.0;
        };

        // The next lower MacroVector of each set; absent where the set is at its lowest level.
        let lower_eq1 = lookup([eq1 + 1, eq2, eq3, eq4, eq5, eq6]);
        let lower_eq2 = lookup([eq1, eq2 + 1, eq3, eq4, eq5, eq6]);
        // EQ3 and EQ6 are one joint set: 00 → 01 or 10 (the higher-scored), 01 → 11, 10 → 11,
        // 11 → 21, 21 is the lowest.
        let lower_eq3_eq6 = match (eq3, eq6) {
            (0, 0) => {
                let left = lookup([eq1, eq2, eq3, eq4, eq5, eq6 + 1]);
                let right = lookup([eq1, eq2, eq3 + 1, eq4, eq5, eq6]);
                match (left, right) {
                    (Some(l), Some(r)) => Some(l.max(r)),
                    (l, r) => l.or(r),
                }
            }
            (1, 0) => lookup([eq1, eq2, eq3, eq4, eq5, eq6 + 1]),
            (0, 1) | (1, 1) => lookup([eq1, eq2, eq3 + 1, eq4, eq5, eq6]),
            _ => None,
        };
        let lower_eq4 = lookup([eq1, eq2, eq3, eq4 + 1, eq5, eq6]);
        let lower_eq5 = lookup([eq1, eq2, eq3, eq4, eq5 + 1, eq6]);

        // How far the vector lies below a highest-severity vector of its MacroVector, per set.
        // The first highest-severity vector that is at least as severe in every metric is the
        // reference, as in the specification's reference implementation.
        let d_eq1 = distance(&[p.av, p.pr, p.ui], EQ1_MAX[usize::from(eq1)]);
        let d_eq2 = distance(&[p.ac, p.at], EQ2_MAX[usize::from(eq2)]);
        let d_eq3_eq6 = distance(&[p.vc, p.vi, p.va, p.cr, p.ir, p.ar], eq3_eq6_max(eq3, eq6));
        let d_eq4 = distance(&[p.sc, p.si, p.sa], EQ4_MAX[usize::from(eq4)]);

        let parts = [
            (lower_eq1, d_eq1, EQ1_DEPTH[usize::from(eq1)]),
            (lower_eq2, d_eq2, EQ2_DEPTH[usize::from(eq2)]),
            (lower_eq3_eq6, d_eq3_eq6, eq3_eq6_depth(eq3, eq6)),
            (lower_eq4, d_eq4, EQ4_DEPTH[usize::from(eq4)]),
            // EQ5 (exploit maturity) has one vector per level: its proportion is always 0,
            // but it still counts towards the mean when a lower level exists.
            (lower_eq5, 0, 1),
        ];
        let mut sum = 0.0;
        let mut count = 0u32;
        for (lower, dist, depth) in parts {
            if let Some(lower) = lower {
                count += 1;
                sum += (value - lower) * (f64::from(dist) / f64::from(depth));
            }
        }
        let mean = if count == 0 {
            0.0
        } else {
            sum / f64::from(count)
        };
        round1((value - mean).clamp(0.0, 10.0))
    }
}

/// Severity positions of the effective metrics, 0 = most severe.
struct Positions {
    av: u8,
    pr: u8,
    ui: u8,
    ac: u8,
    at: u8,
    vc: u8,
    vi: u8,
    va: u8,
    sc: u8,
    si: u8,
    sa: u8,
    cr: u8,
    ir: u8,
    ar: u8,
    e: u8,
}

impl Positions {
    /// The equivalence-set levels, per the specification's EQ definitions.
    fn macro_vector(&self) -> [u8; 6] {
        const N: u8 = 0; // position of Network / None (AV, PR, UI)
        const HIGH: u8 = 0; // position of High for VC, VI, VA, CR, IR, AR
                            // EQ1: 0 = AV:N and PR:N and UI:N; 1 = one of them N, but not AV:P; 2 = otherwise.
        let eq1 = if self.av == N && self.pr == N && self.ui == N {
            0
        } else if (self.av == N || self.pr == N || self.ui == N) && self.av != 3 {
            1
        } else {
            2
        };
        // EQ2: 0 = AC:L and AT:N.
        let eq2 = u8::from(!(self.ac == 0 && self.at == 0));
        // EQ3: 0 = VC:H and VI:H; 1 = one of VC, VI, VA High; 2 = none High.
        let eq3 = if self.vc == HIGH && self.vi == HIGH {
            0
        } else if self.vc == HIGH || self.vi == HIGH || self.va == HIGH {
            1
        } else {
            2
        };
        // EQ4: 0 = MSI:S or MSA:S; 1 = one of SC, SI, SA High; 2 = otherwise.
        let eq4 = if self.si == 0 || self.sa == 0 {
            0
        } else if self.sc == 1 || self.si == 1 || self.sa == 1 {
            1
        } else {
            2
        };
        // EQ5: the exploit maturity position.
        let eq5 = self.e;
        // EQ6: 0 = a High requirement meets a High impact on the same property.
        let eq6 = u8::from(
            !((self.cr == HIGH && self.vc == HIGH)
                || (self.ir == HIGH && self.vi == HIGH)
                || (self.ar == HIGH && self.va == HIGH)),
        );
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }
}

fn impact(v: Impact) -> u8 {
    match v {
        Impact::High => 0,
        Impact::Low => 1,
        Impact::None => 2,
    }
}

fn requirement(v: Option<Requirement>) -> u8 {
    match v {
        None | Some(Requirement::High) => 0,
        Some(Requirement::Medium) => 1,
        Some(Requirement::Low) => 2,
    }
}

/// The score of a MacroVector, if it exists.
fn lookup(mv: [u8; 6]) -> Option<f64> {
    if mv.iter().any(|&d| d > 9) {
        return None;
    }
    let key: String = mv.iter().map(|d| char::from(b'0' + d)).collect();
    MACROVECTOR_SCORES
        .binary_search_by(|(k, _)| (*k).cmp(key.as_str()))
        .ok()
        .map(|i| MACROVECTOR_SCORES[i].1)
}

/// The severity distance, in steps, from the first highest-severity vector that is at least as
/// severe as `current` in every metric. Should none be (the specification's sets make that
/// impossible), the last one is used, as the reference implementation would.
fn distance<const N: usize>(current: &[u8; N], maxes: &[[u8; N]]) -> i32 {
    let dominating = maxes
        .iter()
        .find(|m| m.iter().zip(current).all(|(m, c)| c >= m))
        .or(maxes.last());
    match dominating {
        Some(m) => m
            .iter()
            .zip(current)
            .map(|(m, c)| i32::from(*c) - i32::from(*m))
            .sum(),
        None => 0,
    }
}

/// Rounds half up to one decimal. The millionth added absorbs float error, so that 1.45
/// computed as 1.4499999999999993 rounds to 1.5 as it should (the fix FIRST's calculator
/// adopted for the same reason).
fn round1(x: f64) -> f64 {
    ((x + 1e-6) * 10.0).round() / 10.0
}

impl FromStr for Cvss4 {
    type Err = CvssError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cvss4::parse(s)
    }
}

impl fmt::Display for Cvss4 {
    /// The normalised vector: the specification's order, metrics not defined left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CVSS:4.0")?;
        write_metric(f, "AV", Some(self.av))?;
        write_metric(f, "AC", Some(self.ac))?;
        write_metric(f, "AT", Some(self.at))?;
        write_metric(f, "PR", Some(self.pr))?;
        write_metric(f, "UI", Some(self.ui))?;
        write_metric(f, "VC", Some(self.vc))?;
        write_metric(f, "VI", Some(self.vi))?;
        write_metric(f, "VA", Some(self.va))?;
        write_metric(f, "SC", Some(self.sc))?;
        write_metric(f, "SI", Some(self.si))?;
        write_metric(f, "SA", Some(self.sa))?;
        write_metric(f, "E", self.e)?;
        write_metric(f, "CR", self.cr)?;
        write_metric(f, "IR", self.ir)?;
        write_metric(f, "AR", self.ar)?;
        write_metric(f, "MAV", self.mav)?;
        write_metric(f, "MAC", self.mac)?;
        write_metric(f, "MAT", self.mat)?;
        write_metric(f, "MPR", self.mpr)?;
        write_metric(f, "MUI", self.mui)?;
        write_metric(f, "MVC", self.mvc)?;
        write_metric(f, "MVI", self.mvi)?;
        write_metric(f, "MVA", self.mva)?;
        write_metric(f, "MSC", self.msc)?;
        write_metric(f, "MSI", self.msi)?;
        write_metric(f, "MSA", self.msa)?;
        for (k, v) in &self.supplemental {
            write!(f, "/{k}:{v}")?;
        }
        Ok(())
    }
}
