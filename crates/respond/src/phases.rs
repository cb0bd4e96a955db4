//! The seven phases of emergency response (准备 → 诊断 → 抑制 → 根除 → 恢复 → 跟踪 → 优化) as
//! an enforced state machine: an incident moves one phase forward at a time, and only once
//! the phase it leaves has its required records. Archiving needs the optimisation phase's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::classification::{GradingInputs, Level};

/// A phase of the response process.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// 准备: owner, plan and team.
    Preparation,
    /// 诊断: learn the situation, classify, decide whether to respond.
    Diagnosis,
    /// 抑制: contain the damage.
    Containment,
    /// 根除: find and fix the exploited weakness (R.1.d).
    Eradication,
    /// 恢复: restore with integrity and availability verified.
    Recovery,
    /// 跟踪: watch for recurrence.
    Tracking,
    /// 优化: review, lessons and improvements (R.2.b).
    Optimization,
}

impl Phase {
    /// Every phase in order.
    pub const ALL: [Phase; 7] = [
        Phase::Preparation,
        Phase::Diagnosis,
        Phase::Containment,
        Phase::Eradication,
        Phase::Recovery,
        Phase::Tracking,
        Phase::Optimization,
    ];

    /// The stable API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Preparation => "preparation",
            Phase::Diagnosis => "diagnosis",
            Phase::Containment => "containment",
            Phase::Eradication => "eradication",
            Phase::Recovery => "recovery",
            Phase::Tracking => "tracking",
            Phase::Optimization => "optimization",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// 准备 … 优化.
    pub fn zh(self) -> &'static str {
        match self {
            Phase::Preparation => "准备",
            Phase::Diagnosis => "诊断",
            Phase::Containment => "抑制",
            Phase::Eradication => "根除",
            Phase::Recovery => "恢复",
            Phase::Tracking => "跟踪",
            Phase::Optimization => "优化",
        }
    }

    /// Position, 0 for preparation.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The phase after this one.
    pub fn next(self) -> Option<Phase> {
        Phase::ALL.get(self.index() + 1).copied()
    }
}

/// The decision taken at diagnosis (R.1.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationDecision {
    /// Start the emergency response.
    Activate,
    /// No response needed (false alarm, below threshold): the incident is closed.
    NoResponse,
}

/// The activation record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activation {
    /// The decision.
    pub decision: ActivationDecision,
    /// Why.
    pub reason: String,
    /// Who was contacted to learn the situation.
    #[serde(default)]
    pub contacted: Vec<String>,
    /// Recorded by (filled in by the platform).
    #[serde(default)]
    pub decided_by: String,
    /// When (filled in by the platform).
    #[serde(default)]
    pub decided_at: String,
}

/// A containment (or other) action taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRecord {
    /// What was done.
    pub action: String,
    /// On what (host, account, address).
    #[serde(default)]
    pub target: String,
    /// The result.
    #[serde(default)]
    pub result: String,
    /// By whom (filled in by the platform when empty).
    #[serde(default)]
    pub by: String,
    /// When (filled in by the platform when empty).
    #[serde(default)]
    pub at: String,
}

/// The exploited weakness and its fix (R.1.d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeaknessFix {
    /// The weakness.
    pub description: String,
    /// The finding it is, when one was imported.
    #[serde(default)]
    pub finding_id: Option<String>,
    /// Fixed (not merely planned).
    pub fixed: bool,
}

/// Verification that systems are back with integrity and availability (R.1.d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryCheck {
    /// Systems restored.
    #[serde(default)]
    pub systems: Vec<String>,
    /// Integrity verified (hashes, baselines compared).
    pub integrity_verified: bool,
    /// Availability verified (service checks).
    pub availability_verified: bool,
    /// How.
    #[serde(default)]
    pub note: String,
    /// Verified by (filled in by the platform).
    #[serde(default)]
    pub verified_by: String,
    /// When (filled in by the platform).
    #[serde(default)]
    pub verified_at: String,
}

/// Follow-up monitoring after recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Days watched.
    pub days: u32,
    /// What was watched and seen.
    pub observations: String,
    /// Did it come back?
    pub recurrence: bool,
}

/// The records the phases require, kept with the incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseRecords {
    /// Diagnosis: the activation decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Containment: actions taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containment_actions: Vec<ActionRecord>,
    /// Eradication: the root cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    /// Eradication: the weakness fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weakness_fixed: Option<WeaknessFix>,
    /// Recovery: the verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryCheck>,
    /// Tracking: follow-up monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    /// Optimisation: lessons learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lessons: Option<String>,
    /// Optimisation: whether a review meeting was held (required for 重大 and above, R.2.b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_meeting: Option<String>,
}

/// What the state machine looks at besides the records.
#[derive(Debug, Clone, Copy)]
pub struct IncidentFacts<'a> {
    /// Someone owns the incident.
    pub has_owner: bool,
    /// The class code, when set.
    pub category: Option<&'a str>,
    /// The subclass (empty when not yet known).
    pub subcategory: &'a str,
    /// The grading inputs, when recorded.
    pub grading: Option<GradingInputs>,
    /// The level, when set.
    pub level: Option<Level>,
    /// An analyst confirmed the level.
    pub level_confirmed: bool,
    /// The phase records.
    pub records: &'a PhaseRecords,
    /// Improvement action items recorded at the review.
    pub action_items: usize,
    /// Of those, still open.
    pub action_items_open: usize,
}

/// A record a phase requires before the incident may leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// An owner.
    Owner,
    /// The class.
    Category,
    /// The subclass.
    Subcategory,
    /// The grading inputs.
    Grading,
    /// A confirmed level.
    LevelConfirmed,
    /// The activation decision (to activate).
    Activation,
    /// At least one containment action.
    ContainmentActions,
    /// The root cause.
    RootCause,
    /// The exploited weakness, fixed.
    WeaknessFixed,
    /// Recovery verified (integrity and availability).
    RecoveryVerified,
    /// Follow-up monitoring without recurrence.
    Monitoring,
    /// Lessons learned.
    Lessons,
    /// A review meeting (重大 and above).
    ReviewMeeting,
    /// At least one improvement action item.
    ImprovementItems,
    /// Every improvement action item closed.
    ImprovementItemsClosed,
}

impl Requirement {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Owner => "owner",
            Requirement::Category => "category",
            Requirement::Subcategory => "subcategory",
            Requirement::Grading => "grading",
            Requirement::LevelConfirmed => "level_confirmed",
            Requirement::Activation => "activation",
            Requirement::ContainmentActions => "containment_actions",
            Requirement::RootCause => "root_cause",
            Requirement::WeaknessFixed => "weakness_fixed",
            Requirement::RecoveryVerified => "recovery_verified",
            Requirement::Monitoring => "monitoring",
            Requirement::Lessons => "lessons",
            Requirement::ReviewMeeting => "review_meeting",
            Requirement::ImprovementItems => "improvement_items",
            Requirement::ImprovementItemsClosed => "improvement_items_closed",
        }
    }

    /// What is missing, in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            Requirement::Owner => "负责人",
            Requirement::Category => "事件分类",
            Requirement::Subcategory => "事件子类",
            Requirement::Grading => "定级要素（重要程度、损失、社会危害）",
            Requirement::LevelConfirmed => "确认的事件级别",
            Requirement::Activation => "启动响应的决定",
            Requirement::ContainmentActions => "抑制措施记录",
            Requirement::RootCause => "根本原因",
            Requirement::WeaknessFixed => "已修复的被利用弱点",
            Requirement::RecoveryVerified => "恢复验证（完整性与可用性）",
            Requirement::Monitoring => "无复发的跟踪监测记录",
            Requirement::Lessons => "经验教训",
            Requirement::ReviewMeeting => "复盘会议记录（重大及以上）",
            Requirement::ImprovementItems => "改进措施",
            Requirement::ImprovementItemsClosed => "全部改进措施已关闭",
        }
    }

    /// What is missing, in English.
    pub fn en(self) -> &'static str {
        match self {
            Requirement::Owner => "an owner",
            Requirement::Category => "the incident category",
            Requirement::Subcategory => "the subcategory",
            Requirement::Grading => "the grading inputs (importance, loss, social harm)",
            Requirement::LevelConfirmed => "a confirmed level",
            Requirement::Activation => "the decision to activate the response",
            Requirement::ContainmentActions => "containment actions",
            Requirement::RootCause => "the root cause",
            Requirement::WeaknessFixed => "the exploited weakness, fixed",
            Requirement::RecoveryVerified => "recovery verified (integrity and availability)",
            Requirement::Monitoring => "follow-up monitoring without recurrence",
            Requirement::Lessons => "lessons learned",
            Requirement::ReviewMeeting => "a review meeting (serious incidents and above)",
            Requirement::ImprovementItems => "improvement action items",
            Requirement::ImprovementItemsClosed => "every improvement action item closed",
        }
    }
}

/// The records missing before an incident may leave `phase` (for optimisation: before it may
/// be archived).
pub fn missing_to_leave(phase: Phase, f: &IncidentFacts) -> Vec<Requirement> {
    let r = f.records;
    let mut missing = Vec::new();
    let mut need = |ok: bool, req: Requirement| {
        if !ok {
            missing.push(req)
        }
    };
    match phase {
        Phase::Preparation => need(f.has_owner, Requirement::Owner),
        Phase::Diagnosis => {
            need(f.category.is_some(), Requirement::Category);
            need(!f.subcategory.is_empty(), Requirement::Subcategory);
            need(f.grading.is_some(), Requirement::Grading);
            need(
                f.level.is_some() && f.level_confirmed,
                Requirement::LevelConfirmed,
            );
            need(
                r.activation
                    .as_ref()
                    .is_some_and(|a| a.decision == ActivationDecision::Activate),
                Requirement::Activation,
            );
        }
        Phase::Containment => need(
            r.containment_actions
                .iter()
                .any(|a| !a.action.trim().is_empty()),
            Requirement::ContainmentActions,
        ),
        Phase::Eradication => {
            need(
                r.root_cause.as_ref().is_some_and(|c| !c.trim().is_empty()),
                Requirement::RootCause,
            );
            need(
                r.weakness_fixed
                    .as_ref()
                    .is_some_and(|w| w.fixed && !w.description.trim().is_empty()),
                Requirement::WeaknessFixed,
            );
        }
        Phase::Recovery => need(
            r.recovery
                .as_ref()
                .is_some_and(|c| c.integrity_verified && c.availability_verified),
            Requirement::RecoveryVerified,
        ),
        Phase::Tracking => need(
            r.monitoring
                .as_ref()
                .is_some_and(|m| m.days > 0 && !m.recurrence),
            Requirement::Monitoring,
        ),
        Phase::Optimization => {
            need(
                r.lessons.as_ref().is_some_and(|l| !l.trim().is_empty()),
                Requirement::Lessons,
            );
            if f.level.is_some_and(|l| l <= Level::II) {
                need(
                    r.review_meeting
                        .as_ref()
                        .is_some_and(|m| !m.trim().is_empty()),
                    Requirement::ReviewMeeting,
                );
            }
            need(f.action_items > 0, Requirement::ImprovementItems);
            need(
                f.action_items_open == 0,
                Requirement::ImprovementItemsClosed,
            );
        }
    }
    missing
}

/// Why a phase change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not the next phase (409).
    #[error("cannot move from {} to {}: the next phase is {}", from.as_str(), to.as_str(), next.map(Phase::as_str).unwrap_or("none (archive instead)"))]
    NotNext {
        /// Current phase.
        from: Phase,
        /// Requested.
        to: Phase,
        /// The only phase allowed.
        next: Option<Phase>,
    },
    /// The incident is closed or archived (409).
    #[error("the incident is {0} and can no longer change")]
    Finished(&'static str),
    /// The phase being left lacks required records (422).
    #[error("the {} phase lacks: {}", phase.as_str(), missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The phase being left.
        phase: Phase,
        /// What is missing.
        missing: Vec<Requirement>,
    },
}

/// Checks a move from `from` to `to`.
pub fn check_transition(
    from: Phase,
    to: Phase,
    facts: &IncidentFacts,
) -> Result<(), TransitionError> {
    if from.next() != Some(to) {
        return Err(TransitionError::NotNext {
            from,
            to,
            next: from.next(),
        });
    }
    let missing = missing_to_leave(from, facts);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TransitionError::Missing {
            phase: from,
            missing,
        })
    }
}

/// Per-level time targets in minutes from detection (yunshou's defaults, in the spirit of
/// the national emergency plan: the graver the level, the tighter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct TimeTargets {
    /// Diagnosis done (response activated).
    pub acknowledge: i64,
    /// Containment done.
    pub contain: i64,
    /// Recovery done.
    pub recover: i64,
}

/// The targets for a level.
pub fn time_targets(level: Level) -> TimeTargets {
    let h = 60;
    match level {
        Level::I => TimeTargets {
            acknowledge: 30,
            contain: 4 * h,
            recover: 24 * h,
        },
        Level::II => TimeTargets {
            acknowledge: h,
            contain: 8 * h,
            recover: 48 * h,
        },
        Level::III => TimeTargets {
            acknowledge: 4 * h,
            contain: 24 * h,
            recover: 72 * h,
        },
        Level::IV => TimeTargets {
            acknowledge: 24 * h,
            contain: 72 * h,
            recover: 7 * 24 * h,
        },
    }
}

/// The target (minutes from detection) by which the incident should have left `phase`.
pub fn phase_deadline(level: Level, phase: Phase) -> Option<i64> {
    let t = time_targets(level);
    match phase {
        Phase::Preparation | Phase::Diagnosis => Some(t.acknowledge),
        Phase::Containment => Some(t.contain),
        Phase::Eradication | Phase::Recovery => Some(t.recover),
        Phase::Tracking | Phase::Optimization => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classification::{Importance, Loss, SocialHarm};

    fn facts(records: &PhaseRecords) -> IncidentFacts<'_> {
        IncidentFacts {
            has_owner: true,
            category: Some("NA"),
            subcategory: "凭据攻击",
            grading: Some(GradingInputs {
                importance: Importance::Important,
                loss: Loss::Serious,
                social_harm: SocialHarm::Ordinary,
            }),
            level: Some(Level::III),
            level_confirmed: true,
            records,
            action_items: 1,
            action_items_open: 0,
        }
    }

    #[test]
    fn phases_cannot_be_skipped_or_reversed() {
        let r = PhaseRecords::default();
        let f = facts(&r);
        assert!(matches!(
            check_transition(Phase::Diagnosis, Phase::Eradication, &f),
            Err(TransitionError::NotNext {
                next: Some(Phase::Containment),
                ..
            })
        ));
        assert!(matches!(
            check_transition(Phase::Recovery, Phase::Containment, &f),
            Err(TransitionError::NotNext { .. })
        ));
        assert!(matches!(
            check_transition(Phase::Optimization, Phase::Optimization, &f),
            Err(TransitionError::NotNext { next: None, .. })
        ));
    }

    #[test]
    fn each_phase_names_what_it_lacks() {
        let mut r = PhaseRecords::default();
        let err = check_transition(Phase::Diagnosis, Phase::Containment, &facts(&r)).unwrap_err();
        assert_eq!(
            err,
            TransitionError::Missing {
                phase: Phase::Diagnosis,
                missing: vec![Requirement::Activation]
            }
        );
        r.activation = Some(Activation {
            decision: ActivationDecision::NoResponse,
            reason: "误报".into(),
            contacted: vec![],
            decided_by: "a".into(),
            decided_at: "t".into(),
        });
        assert!(check_transition(Phase::Diagnosis, Phase::Containment, &facts(&r)).is_err());
        r.activation.as_mut().unwrap().decision = ActivationDecision::Activate;
        assert!(check_transition(Phase::Diagnosis, Phase::Containment, &facts(&r)).is_ok());

        let mut unclassified = facts(&r);
        unclassified.category = None;
        unclassified.grading = None;
        unclassified.level_confirmed = false;
        assert_eq!(
            missing_to_leave(Phase::Diagnosis, &unclassified),
            vec![
                Requirement::Category,
                Requirement::Grading,
                Requirement::LevelConfirmed
            ]
        );

        assert_eq!(
            missing_to_leave(Phase::Eradication, &facts(&r)),
            vec![Requirement::RootCause, Requirement::WeaknessFixed]
        );
        r.weakness_fixed = Some(WeaknessFix {
            description: "弱口令".into(),
            finding_id: None,
            fixed: false,
        });
        r.root_cause = Some("SSH 弱口令".into());
        assert_eq!(
            missing_to_leave(Phase::Eradication, &facts(&r)),
            vec![Requirement::WeaknessFixed]
        );
        r.recovery = Some(RecoveryCheck {
            systems: vec![],
            integrity_verified: true,
            availability_verified: false,
            note: String::new(),
            verified_by: String::new(),
            verified_at: String::new(),
        });
        assert_eq!(
            missing_to_leave(Phase::Recovery, &facts(&r)),
            vec![Requirement::RecoveryVerified]
        );
        r.monitoring = Some(Monitoring {
            days: 7,
            observations: "再次出现".into(),
            recurrence: true,
        });
        assert_eq!(
            missing_to_leave(Phase::Tracking, &facts(&r)),
            vec![Requirement::Monitoring]
        );
    }

    #[test]
    fn archiving_needs_lessons_and_closed_items_and_a_meeting_when_grave() {
        let r = PhaseRecords {
            lessons: Some("加强口令策略".into()),
            ..Default::default()
        };
        let mut f = facts(&r);
        assert!(missing_to_leave(Phase::Optimization, &f).is_empty());
        f.action_items_open = 1;
        f.level = Some(Level::II);
        assert_eq!(
            missing_to_leave(Phase::Optimization, &f),
            vec![
                Requirement::ReviewMeeting,
                Requirement::ImprovementItemsClosed
            ]
        );
    }

    #[test]
    fn targets_tighten_with_the_level() {
        assert!(time_targets(Level::I).contain < time_targets(Level::IV).contain);
        assert_eq!(phase_deadline(Level::I, Phase::Diagnosis), Some(30));
        assert_eq!(phase_deadline(Level::III, Phase::Tracking), None);
    }
}
