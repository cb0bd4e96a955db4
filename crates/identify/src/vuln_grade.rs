//! Chinese vulnerability grading beside CVSS (I.3.b): the GB/T 30279-2020 technical grade
//! (超危 / 高危 / 中危 / 低危), and the GB/T 20984-2022 five-level severity and exploitability
//! that risk computation ([`crate::risk`]) takes as V and T.
//!
//! GB/T 30279-2020 grades a vulnerability from exploitability indicators (access path, trigger
//! requirement, privilege requirement, interaction condition) and impact indicators
//! (confidentiality, integrity, availability: 严重 / 一般 / 无) through rating tables in its
//! normative annexes A, B and D. Those tables could not be obtained, so the ratings below are
//! our documented approximation of them: the indicators are the standard's, derived from the
//! CVSS metrics that mean the same thing; the points, cut-offs and final table are ours. The
//! intermediate ratings are exposed so the console can show how a grade came about. The
//! environmental grading (综合分级: exploit cost, repair difficulty, scope) is not done.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yunshou_model::finding::{ReportedFinding, Severity};

use crate::cvss::v3::{ExploitCodeMaturity, UserInteraction as Ui3};
use crate::cvss::v4::{AttackRequirements, ExploitMaturity, UserInteraction as Ui4};
use crate::cvss::{AttackComplexity, AttackVector, Cvss, Cvss3, Cvss4, Impact, PrivilegesRequired};
use crate::risk::FindingRiskInput;
pub use crate::risk::{level_label, Lang, LEVEL_LABELS_EN, LEVEL_LABELS_ZH};

/// Declares a graded value with its Chinese (the standard's term) and English labels.
macro_rules! labelled {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $zh:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The label in Chinese (the standard's term) or English.
            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, Lang::Zh) => $zh, ($name::$variant, Lang::En) => $en,)+
                }
            }
        }
    };
}

labelled! {
    /// GB/T 30279-2020 technical grade, lowest first.
    Gb30279Level {
        /// 低危.
        Low => "低危", "low";
        /// 中危.
        Medium => "中危", "medium";
        /// 高危.
        High => "高危", "high";
        /// 超危.
        Critical => "超危", "critical";
    }
}

labelled! {
    /// Access path (访问路径): from CVSS AV.
    AccessPath {
        /// 物理 (AV:P).
        Physical => "物理", "physical";
        /// 本地 (AV:L).
        Local => "本地", "local";
        /// 邻接 (AV:A).
        Adjacent => "邻接", "adjacent";
        /// 网络 (AV:N).
        Network => "网络", "network";
    }
}

labelled! {
    /// Trigger requirement (触发要求): v3 AC; in v4, 低 only with AC:L and AT:N.
    TriggerRequirement {
        /// 高: conditions beyond the attacker's control must hold.
        High => "高", "high";
        /// 低.
        Low => "低", "low";
    }
}

labelled! {
    /// Privilege requirement (权限需求): from CVSS PR.
    PrivilegeRequirement {
        /// 高 (PR:H).
        High => "高", "high";
        /// 低 (PR:L).
        Low => "低", "low";
        /// 无 (PR:N).
        None => "无", "none";
    }
}

labelled! {
    /// Interaction condition (交互条件): from CVSS UI (v4: passive and active both 需要).
    InteractionCondition {
        /// 需要.
        Required => "需要", "required";
        /// 不需要.
        NotRequired => "不需要", "not required";
    }
}

labelled! {
    /// Impact on one of confidentiality, integrity, availability (影响程度).
    ImpactDegree {
        /// 无 (N).
        None => "无", "none";
        /// 一般 (L).
        General => "一般", "general";
        /// 严重 (H).
        Severe => "严重", "severe";
    }
}

labelled! {
    /// An intermediate rating (被利用性, 影响程度): 高 / 中 / 低.
    Rating {
        /// 低.
        Low => "低", "low";
        /// 中.
        Medium => "中", "medium";
        /// 高.
        High => "高", "high";
    }
}

/// A GB/T 30279-2020 technical grade with the indicators and ratings it came from.
///
/// Exploitability points (0–8): access path 网络 3, 邻接 2, 本地 1, 物理 0; trigger requirement
/// 低 2, 高 0; privilege requirement 无 2, 低 1, 高 0; interaction 不需要 1, 需要 0. Rating: 高
/// from 7 (easy to trigger over the network with at most one of low privileges or user
/// interaction, or over an adjacent network with neither), 中 5–6, 低 up to 4.
///
/// Impact points (0–6): 严重 2, 一般 1, 无 0 for each of C, I, A. Rating: 高 from 4 (two 严重,
/// or one with two 一般), 中 for 3 or a single 严重, 低 otherwise.
///
/// Grade:
///
/// | 被利用性 \ 影响程度 | 高 | 中 | 低 |
/// |---|---|---|---|
/// | 高 | 超危 | 高危 | 中危 |
/// | 中 | 高危 | 中危 | 低危 |
/// | 低 | 中危 | 低危 | 低危 |
///
/// and 低危 whatever the exploitability when there is no impact at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gb30279Grade {
    /// 访问路径.
    pub access_path: AccessPath,
    /// 触发要求.
    pub trigger: TriggerRequirement,
    /// 权限需求.
    pub privileges: PrivilegeRequirement,
    /// 交互条件.
    pub interaction: InteractionCondition,
    /// 保密性影响.
    pub confidentiality: ImpactDegree,
    /// 完整性影响.
    pub integrity: ImpactDegree,
    /// 可用性影响.
    pub availability: ImpactDegree,
    /// Exploitability points, 0–8.
    pub exploitability_points: u8,
    /// 被利用性 rating.
    pub exploitability: Rating,
    /// Impact points, 0–6.
    pub impact_points: u8,
    /// 影响程度 rating.
    pub impact: Rating,
    /// The technical grade.
    pub level: Gb30279Level,
}

impl Gb30279Grade {
    /// Grades from the standard's indicators.
    pub fn from_indicators(
        access_path: AccessPath,
        trigger: TriggerRequirement,
        privileges: PrivilegeRequirement,
        interaction: InteractionCondition,
        (confidentiality, integrity, availability): (ImpactDegree, ImpactDegree, ImpactDegree),
    ) -> Gb30279Grade {
        let exploitability_points =
            exploitability_points(access_path, trigger, privileges, interaction);
        let exploitability = match exploitability_points {
            7.. => Rating::High,
            5..=6 => Rating::Medium,
            _ => Rating::Low,
        };
        let degrees = [confidentiality, integrity, availability];
        let impact_points: u8 = degrees
            .iter()
            .map(|d| match d {
                ImpactDegree::Severe => 2,
                ImpactDegree::General => 1,
                ImpactDegree::None => 0,
            })
            .sum();
        let severe = degrees.contains(&ImpactDegree::Severe);
        let impact = match impact_points {
            4.. => Rating::High,
            3 => Rating::Medium,
            2 if severe => Rating::Medium,
            _ => Rating::Low,
        };
        let level = match (exploitability, impact) {
            _ if impact_points == 0 => Gb30279Level::Low,
            (Rating::High, Rating::High) => Gb30279Level::Critical,
            (Rating::High, Rating::Medium) | (Rating::Medium, Rating::High) => Gb30279Level::High,
            (Rating::High, Rating::Low)
            | (Rating::Medium, Rating::Medium)
            | (Rating::Low, Rating::High) => Gb30279Level::Medium,
            _ => Gb30279Level::Low,
        };
        Gb30279Grade {
            access_path,
            trigger,
            privileges,
            interaction,
            confidentiality,
            integrity,
            availability,
            exploitability_points,
            exploitability,
            impact_points,
            impact,
            level,
        }
    }

    /// Grades a CVSS v3.x vector's base metrics (the vulnerability itself, not a deployment):
    /// AV → 访问路径, AC → 触发要求, PR → 权限需求, UI → 交互条件, C/I/A H → 严重, L → 一般,
    /// N → 无. Scope is not an indicator of the technical grade (the standard counts reach
    /// among the environmental factors).
    pub fn from_cvss3(c: &Cvss3) -> Gb30279Grade {
        Gb30279Grade::from_indicators(
            access_path(c.attack_vector()),
            match c.attack_complexity() {
                AttackComplexity::Low => TriggerRequirement::Low,
                AttackComplexity::High => TriggerRequirement::High,
            },
            privilege(c.privileges_required()),
            match c.user_interaction() {
                Ui3::None => InteractionCondition::NotRequired,
                Ui3::Required => InteractionCondition::Required,
            },
            (
                degree(c.confidentiality()),
                degree(c.integrity()),
                degree(c.availability()),
            ),
        )
    }

    /// Grades a CVSS v4.0 vector's base metrics: as v3, with 触发要求 低 only for AC:L and
    /// AT:N, 交互条件 需要 for UI:P and UI:A, and each impact the worse of the vulnerable and
    /// the subsequent system's (VC/SC, VI/SI, VA/SA) — the standard grades the harm done,
    /// wherever it lands.
    pub fn from_cvss4(c: &Cvss4) -> Gb30279Grade {
        let (vc, vi, va) = c.vulnerable_impact();
        let (sc, si, sa) = c.subsequent_impact();
        let worse = |a: Impact, b: Impact| degree(a).max(degree(b));
        Gb30279Grade::from_indicators(
            access_path(c.attack_vector()),
            match (c.attack_complexity(), c.attack_requirements()) {
                (AttackComplexity::Low, AttackRequirements::None) => TriggerRequirement::Low,
                _ => TriggerRequirement::High,
            },
            privilege(c.privileges_required()),
            match c.user_interaction() {
                Ui4::None => InteractionCondition::NotRequired,
                Ui4::Passive | Ui4::Active => InteractionCondition::Required,
            },
            (worse(vc, sc), worse(vi, si), worse(va, sa)),
        )
    }

    /// Grades either CVSS generation.
    pub fn from_cvss(c: &Cvss) -> Gb30279Grade {
        match c {
            Cvss::V3(c) => Gb30279Grade::from_cvss3(c),
            Cvss::V4(c) => Gb30279Grade::from_cvss4(c),
        }
    }
}

fn exploitability_points(
    access_path: AccessPath,
    trigger: TriggerRequirement,
    privileges: PrivilegeRequirement,
    interaction: InteractionCondition,
) -> u8 {
    let path = match access_path {
        AccessPath::Network => 3,
        AccessPath::Adjacent => 2,
        AccessPath::Local => 1,
        AccessPath::Physical => 0,
    };
    let trigger = match trigger {
        TriggerRequirement::Low => 2,
        TriggerRequirement::High => 0,
    };
    let privileges = match privileges {
        PrivilegeRequirement::None => 2,
        PrivilegeRequirement::Low => 1,
        PrivilegeRequirement::High => 0,
    };
    let interaction = match interaction {
        InteractionCondition::NotRequired => 1,
        InteractionCondition::Required => 0,
    };
    path + trigger + privileges + interaction
}

fn access_path(av: AttackVector) -> AccessPath {
    match av {
        AttackVector::Network => AccessPath::Network,
        AttackVector::Adjacent => AccessPath::Adjacent,
        AttackVector::Local => AccessPath::Local,
        AttackVector::Physical => AccessPath::Physical,
    }
}

fn privilege(pr: PrivilegesRequired) -> PrivilegeRequirement {
    match pr {
        PrivilegesRequired::None => PrivilegeRequirement::None,
        PrivilegesRequired::Low => PrivilegeRequirement::Low,
        PrivilegesRequired::High => PrivilegeRequirement::High,
    }
}

fn degree(i: Impact) -> ImpactDegree {
    match i {
        Impact::High => ImpactDegree::Severe,
        Impact::Low => ImpactDegree::General,
        Impact::None => ImpactDegree::None,
    }
}

/// GB/T 20984 vulnerability severity 1–5 from a CVSS score, along CVSS's own rating bands:
/// 9.0–10.0 → 5 很高, 7.0–8.9 → 4 高, 4.0–6.9 → 3 中, 0.1–3.9 → 2 低, 0.0 → 1 很低.
pub fn severity_level_from_cvss(score: f64) -> u8 {
    severity_level_from_severity(Severity::from_cvss(score))
}

/// GB/T 20984 vulnerability severity 1–5 from the scanner's severity, for findings without a
/// vector: critical 5, high 4, medium 3, low 2, info 1.
pub fn severity_level_from_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Info => 1,
    }
}

/// EPSS probability from which exploitation is treated as imminent: exploitability 5.
pub const EPSS_LIKELY: f64 = 0.5;
/// EPSS probability from which exploitability is raised one step.
pub const EPSS_ELEVATED: f64 = 0.1;

/// How easily a vulnerability is exploited, 1–5 (5 easiest; GB/T 20984's 可利用性), and why.
///
/// - From a vector: the exploitability points of [`Gb30279Grade`] (0–8, from AV, AC — with
///   AT in v4 — PR and UI) map 8 → 5, 6–7 → 4, 4–5 → 3, 2–3 → 2, 0–1 → 1; without a vector, 3.
/// - Raised to 5 when the weakness is known to be exploited (a known-exploited list, the
///   scanner's flag, CVSS v4 E:A or v3 E:H) or EPSS ≥ [`EPSS_LIKELY`] (0.5);
/// - raised one step when EPSS ≥ [`EPSS_ELEVATED`] (0.1).
pub fn exploitability_level(
    cvss: Option<&Cvss>,
    known_exploited: bool,
    epss: Option<f64>,
) -> (u8, Vec<String>) {
    let mut why = Vec::new();
    let mut level = match cvss {
        Some(c) => {
            let points = Gb30279Grade::from_cvss(c).exploitability_points;
            let level = match points {
                8.. => 5,
                6..=7 => 4,
                4..=5 => 3,
                2..=3 => 2,
                _ => 1,
            };
            why.push(format!(
                "exploitability {level}: {points} of 8 points from the CVSS {} vector",
                c.version()
            ));
            level
        }
        None => {
            why.push("exploitability 3: no CVSS vector, the middle of the scale".to_string());
            3
        }
    };
    let attacked = match cvss {
        Some(Cvss::V4(c)) => c.exploit_maturity() == Some(ExploitMaturity::Attacked),
        Some(Cvss::V3(c)) => c.exploit_code_maturity() == Some(ExploitCodeMaturity::High),
        None => false,
    };
    let epss = epss.filter(|p| p.is_finite());
    if known_exploited || attacked {
        level = 5;
        why.push("raised to 5: known to be exploited".to_string());
    } else if let Some(p) = epss.filter(|&p| p >= EPSS_LIKELY) {
        level = 5;
        why.push(format!("raised to 5: EPSS {p:.2} ≥ {EPSS_LIKELY}"));
    } else if let Some(p) = epss.filter(|&p| p >= EPSS_ELEVATED) {
        if level < 5 {
            level += 1;
            why.push(format!("raised to {level}: EPSS {p:.2} ≥ {EPSS_ELEVATED}"));
        }
    }
    (level, why)
}

/// A finding's vulnerability ratings: CVSS as we score it, the GB/T 30279 grade, and the
/// GB/T 20984 severity and exploitability that its risk is computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VulnRating {
    /// The normalised vector scored, when one parsed.
    pub cvss_vector: Option<String>,
    /// Our score of it.
    pub cvss_score: Option<f64>,
    /// The GB/T 30279-2020 technical grade, when there is a vector.
    pub gb30279: Option<Gb30279Grade>,
    /// GB/T 20984 severity 1–5.
    pub severity_level: u8,
    /// Exploitability 1–5, 5 easiest.
    pub exploitability: u8,
    /// How the levels were chosen, including vectors that were refused and why.
    pub reasons: Vec<String>,
}

impl VulnRating {
    /// The input of [`crate::risk::finding_risk`] for this vulnerability on an asset.
    pub fn risk_input(&self, asset_value: Option<u8>, internet_facing: bool) -> FindingRiskInput {
        FindingRiskInput {
            asset_value,
            internet_facing,
            severity_level: self.severity_level,
            exploitability: self.exploitability,
            threat_frequency: None,
        }
    }
}

/// Rates a reported finding: its CVSS v4.0 vector if it has one that parses, else its v3.x
/// vector, else the scanner's severity alone.
pub fn rate_finding(finding: &ReportedFinding) -> VulnRating {
    rate(
        finding.cvss4.as_deref(),
        finding.cvss3.as_deref(),
        finding.severity,
        finding.known_exploited,
        finding.epss,
    )
}

/// [`rate_finding`] from the only fields of a finding it reads.
pub(crate) fn rate(
    cvss4: Option<&str>,
    cvss3: Option<&str>,
    severity: Severity,
    known_exploited: bool,
    epss: Option<f64>,
) -> VulnRating {
    let mut reasons = Vec::new();
    let mut cvss = None;
    for vector in [cvss4, cvss3].into_iter().flatten() {
        match Cvss::parse(vector) {
            Ok(c) => {
                cvss = Some(c);
                break;
            }
            Err(e) => reasons.push(format!("CVSS vector `{vector}` not used: {e}")),
        }
    }
    let severity_level = match &cvss {
        Some(c) => {
            let level = severity_level_from_cvss(c.score());
            reasons.push(format!(
                "severity {level} ({}): CVSS {} score {:.1}",
                level_label(level, Lang::Zh),
                c.version(),
                c.score()
            ));
            level
        }
        None => {
            let level = severity_level_from_severity(severity);
            reasons.push(format!(
                "severity {level} ({}): the scanner's severity {}",
                level_label(level, Lang::Zh),
                severity.as_str()
            ));
            level
        }
    };
    let (exploitability, why) = exploitability_level(cvss.as_ref(), known_exploited, epss);
    reasons.extend(why);
    VulnRating {
        cvss_vector: cvss.as_ref().map(|c| c.to_string()),
        cvss_score: cvss.as_ref().map(|c| c.score()),
        gb30279: cvss.as_ref().map(Gb30279Grade::from_cvss),
        severity_level,
        exploitability,
        reasons,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn grade(vector: &str) -> Gb30279Grade {
        Gb30279Grade::from_cvss(&Cvss::parse(vector).unwrap())
    }

    #[test]
    fn gb30279_grades_of_well_known_vectors() {
        let cases = [
            // Log4Shell: network, easy, no privileges, no interaction; C/I/A severe.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                8,
                6,
                Gb30279Level::Critical,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
                8,
                4,
                Gb30279Level::Critical,
            ),
            // Heartbleed: confidentiality only.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                8,
                2,
                Gb30279Level::High,
            ),
            // EternalBlue: hard to trigger.
            (
                "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
                6,
                6,
                Gb30279Level::High,
            ),
            // Local privilege escalation.
            (
                "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
                5,
                6,
                Gb30279Level::High,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L",
                8,
                3,
                Gb30279Level::High,
            ),
            // Reflected XSS.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                7,
                2,
                Gb30279Level::Medium,
            ),
            (
                "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
                5,
                2,
                Gb30279Level::Medium,
            ),
            (
                "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N",
                6,
                1,
                Gb30279Level::Low,
            ),
            (
                "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
                0,
                1,
                Gb30279Level::Low,
            ),
            // No impact at all is 低危 however easy.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
                8,
                0,
                Gb30279Level::Low,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8,
                6,
                Gb30279Level::Critical,
            ),
            // v4 attack requirements make the trigger 高.
            (
                "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                6,
                6,
                Gb30279Level::High,
            ),
            // GitHub's usual XSS: the harm lands on the subsequent system.
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
                7,
                2,
                Gb30279Level::Medium,
            ),
        ];
        for (vector, e_points, i_points, level) in cases {
            let g = grade(vector);
            assert_eq!(
                (g.exploitability_points, g.impact_points, g.level),
                (e_points, i_points, level),
                "{vector}"
            );
        }
    }

    #[test]
    fn gb30279_intermediate_ratings_and_labels() {
        let g = grade("CVSS:3.1/AV:A/AC:L/PR:L/UI:R/S:U/C:H/I:L/A:N");
        assert_eq!(g.access_path.label(Lang::Zh), "邻接");
        assert_eq!(g.trigger.label(Lang::Zh), "低");
        assert_eq!(g.privileges.label(Lang::Zh), "低");
        assert_eq!(g.interaction.label(Lang::Zh), "需要");
        assert_eq!(
            (g.confidentiality, g.integrity, g.availability),
            (
                ImpactDegree::Severe,
                ImpactDegree::General,
                ImpactDegree::None
            )
        );
        assert_eq!(g.confidentiality.label(Lang::Zh), "严重");
        // 2 + 2 + 1 + 0 = 5 → 中; 2 + 1 + 0 = 3 → 中; 中 × 中 → 中危.
        assert_eq!(
            (g.exploitability, g.impact),
            (Rating::Medium, Rating::Medium)
        );
        assert_eq!(g.level.label(Lang::Zh), "中危");
        assert_eq!(g.level.label(Lang::En), "medium");
        assert_eq!(Gb30279Level::Critical.label(Lang::Zh), "超危");
        assert!(Gb30279Level::Critical > Gb30279Level::High);
        let json = serde_json::to_value(g).unwrap();
        assert_eq!(json["access_path"], "adjacent");
        assert_eq!(json["level"], "medium");
    }

    #[test]
    fn gb20984_severity_levels() {
        let levels: Vec<u8> = [10.0, 9.0, 8.9, 7.0, 6.9, 4.0, 3.9, 0.1, 0.0]
            .iter()
            .map(|&s| severity_level_from_cvss(s))
            .collect();
        assert_eq!(levels, [5, 5, 4, 4, 3, 3, 2, 2, 1]);
        assert_eq!(severity_level_from_severity(Severity::Info), 1);
        assert_eq!(severity_level_from_severity(Severity::High), 4);
        assert_eq!(level_label(4, Lang::Zh), "高");
        assert_eq!(LEVEL_LABELS_EN[4], "very high");
    }

    #[test]
    fn exploitability_levels() {
        let level = |v: &str| exploitability_level(Some(&Cvss::parse(v).unwrap()), false, None).0;
        assert_eq!(level("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 5); // 8 points
        assert_eq!(level("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"), 4); // 7
        assert_eq!(level("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"), 4); // 6
        assert_eq!(level("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"), 3); // 5
        assert_eq!(level("CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:H"), 2); // 3
        assert_eq!(level("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:H"), 1); // 0
        assert_eq!(
            level("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            4
        );
        let hard = Cvss::parse("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!(exploitability_level(Some(&hard), true, None).0, 5);
        assert_eq!(exploitability_level(Some(&hard), false, Some(0.5)).0, 5);
        assert_eq!(exploitability_level(Some(&hard), false, Some(0.49)).0, 2);
        assert_eq!(exploitability_level(Some(&hard), false, Some(0.09)).0, 1);
        assert_eq!(
            exploitability_level(Some(&hard), false, Some(f64::NAN)).0,
            1
        );
        let (level, why) = exploitability_level(None, false, None);
        assert_eq!(level, 3);
        assert!(why[0].contains("no CVSS vector"));
        // Exploit maturity in the vector itself.
        let attacked =
            Cvss::parse("CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N/E:A")
                .unwrap();
        let (level, why) = exploitability_level(Some(&attacked), false, None);
        assert_eq!(level, 5);
        assert_eq!(why[1], "raised to 5: known to be exploited");
    }

    /// A finding with only the fields a rating reads set.
    pub(crate) fn finding(
        cvss3: Option<&str>,
        cvss4: Option<&str>,
        severity: Severity,
    ) -> ReportedFinding {
        ReportedFinding {
            source: "nessus".into(),
            check_id: None,
            target: Default::default(),
            title: "t".into(),
            description: None,
            solution: None,
            evidence: None,
            cves: vec![],
            cwes: vec![],
            cvss3: cvss3.map(Into::into),
            cvss4: cvss4.map(Into::into),
            cvss2: None,
            severity,
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
    fn rate_finding_prefers_v4_then_v3_then_severity() {
        let v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        let r = rate_finding(&finding(Some(v3), Some(v4), Severity::High));
        assert_eq!(
            (r.cvss_score, r.severity_level, r.exploitability),
            (Some(9.3), 5, 5)
        );
        assert_eq!(r.gb30279.unwrap().level, Gb30279Level::Critical);
        // A broken v4 vector falls back to v3, and says so.
        let r = rate_finding(&finding(Some(v3), Some("CVSS:4.0/AV:N"), Severity::High));
        assert_eq!((r.cvss_score, r.severity_level), (Some(7.5), 4));
        assert!(r.reasons[0].contains("not used: mandatory base metric(s) missing"));
        // No vector: the scanner's severity.
        let r = rate_finding(&finding(None, None, Severity::Medium));
        assert_eq!(
            (r.cvss_vector.as_deref(), r.severity_level, r.exploitability),
            (None, 3, 3)
        );
        assert_eq!(r.gb30279, None);
        assert_eq!(
            r.reasons[0],
            "severity 3 (中): the scanner's severity medium"
        );
        let input = r.risk_input(Some(4), true);
        assert_eq!(
            (
                input.severity_level,
                input.exploitability,
                input.asset_value
            ),
            (3, 3, Some(4))
        );
    }
}
