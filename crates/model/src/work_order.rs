//! Work orders (I.3.c): every finding that needs action is driven notify → accept → fix →
//! retest → close, and closes as fixed only after a retest passes. The state machine is
//! data here so the store, the API and the console enforce the same one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a work order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderState {
    /// Raised and sent to its assignee.
    Notified,
    /// The assignee has taken it on.
    Accepted,
    /// Being fixed (again, after a failed retest).
    Fixing,
    /// Reported fixed; waiting for the retest.
    Retest,
    /// Done: see the resolution.
    Closed,
}

impl WorkOrderState {
    /// Every state, in order.
    pub const ALL: [WorkOrderState; 5] = [
        WorkOrderState::Notified,
        WorkOrderState::Accepted,
        WorkOrderState::Fixing,
        WorkOrderState::Retest,
        WorkOrderState::Closed,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkOrderState::Notified => "notified",
            WorkOrderState::Accepted => "accepted",
            WorkOrderState::Fixing => "fixing",
            WorkOrderState::Retest => "retest",
            WorkOrderState::Closed => "closed",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<WorkOrderState> {
        WorkOrderState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// True until closed.
    pub fn is_open(self) -> bool {
        self != WorkOrderState::Closed
    }
}

/// How a closed work order ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderResolution {
    /// Fixed, and a retest (a verdict with evidence, or a later scan) showed it.
    Fixed,
    /// The risk was accepted instead of fixed.
    RiskAccepted,
    /// Not a real weakness.
    FalsePositive,
}

impl WorkOrderResolution {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkOrderResolution::Fixed => "fixed",
            WorkOrderResolution::RiskAccepted => "risk_accepted",
            WorkOrderResolution::FalsePositive => "false_positive",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<WorkOrderResolution> {
        [Self::Fixed, Self::RiskAccepted, Self::FalsePositive]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Something done to a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderAction {
    /// The assignee takes it on (notified → accepted).
    Accept,
    /// Work on the fix begins (accepted → fixing).
    StartFix,
    /// The fix is in; please retest (fixing → retest). Needs a note.
    RequestRetest,
    /// The retest passed (retest → closed, fixed). Needs evidence: a note, and optionally
    /// attachments.
    RetestPass,
    /// The retest failed (retest → fixing). Needs a note.
    RetestFail,
    /// The risk is accepted rather than fixed (open → closed). Needs a reason.
    AcceptRisk,
    /// Not a real weakness (open → closed). Needs a reason.
    MarkFalsePositive,
    /// Open again (closed → fixing). Needs a reason.
    Reopen,
}

impl WorkOrderAction {
    /// Every action.
    pub const ALL: [WorkOrderAction; 8] = [
        WorkOrderAction::Accept,
        WorkOrderAction::StartFix,
        WorkOrderAction::RequestRetest,
        WorkOrderAction::RetestPass,
        WorkOrderAction::RetestFail,
        WorkOrderAction::AcceptRisk,
        WorkOrderAction::MarkFalsePositive,
        WorkOrderAction::Reopen,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkOrderAction::Accept => "accept",
            WorkOrderAction::StartFix => "start_fix",
            WorkOrderAction::RequestRetest => "request_retest",
            WorkOrderAction::RetestPass => "retest_pass",
            WorkOrderAction::RetestFail => "retest_fail",
            WorkOrderAction::AcceptRisk => "accept_risk",
            WorkOrderAction::MarkFalsePositive => "mark_false_positive",
            WorkOrderAction::Reopen => "reopen",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<WorkOrderAction> {
        WorkOrderAction::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// True for the verdicts kept apart from fixing (`WorkOrdersVerify`): a retest verdict,
    /// accepting a risk, calling a finding false, reopening.
    pub fn is_verdict(self) -> bool {
        !matches!(
            self,
            WorkOrderAction::Accept | WorkOrderAction::StartFix | WorkOrderAction::RequestRetest
        )
    }

    /// True when the action must say why (or, for a passed retest, what showed it).
    pub fn needs_note(self) -> bool {
        !matches!(self, WorkOrderAction::Accept | WorkOrderAction::StartFix)
    }

    /// The state this action leads to from `from`, and the resolution when it closes; or why
    /// it is not allowed.
    pub fn apply(
        self,
        from: WorkOrderState,
    ) -> Result<(WorkOrderState, Option<WorkOrderResolution>), String> {
        use WorkOrderAction as A;
        use WorkOrderState as S;
        let to = match (self, from) {
            (A::Accept, S::Notified) => (S::Accepted, None),
            (A::StartFix, S::Accepted) => (S::Fixing, None),
            (A::RequestRetest, S::Fixing) => (S::Retest, None),
            (A::RetestPass, S::Retest) => (S::Closed, Some(WorkOrderResolution::Fixed)),
            (A::RetestFail, S::Retest) => (S::Fixing, None),
            (A::AcceptRisk, s) if s.is_open() => {
                (S::Closed, Some(WorkOrderResolution::RiskAccepted))
            }
            (A::MarkFalsePositive, s) if s.is_open() => {
                (S::Closed, Some(WorkOrderResolution::FalsePositive))
            }
            (A::Reopen, S::Closed) => (S::Fixing, None),
            (A::RetestPass, _) => {
                return Err(format!(
                    "a work order closes as fixed only after a retest: it is `{}`, not `retest`",
                    from.as_str()
                ))
            }
            _ => {
                return Err(format!(
                    "`{}` is not allowed while the work order is `{}`",
                    self.as_str(),
                    from.as_str()
                ))
            }
        };
        Ok(to)
    }
}

/// Days to fix by risk level (5 很高 … 1 很低): the SLA that sets a work order's due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaDays {
    /// Level 5, 很高.
    pub very_high: u32,
    /// Level 4, 高.
    pub high: u32,
    /// Level 3, 中.
    pub medium: u32,
    /// Level 2, 低.
    pub low: u32,
    /// Level 1, 很低.
    pub very_low: u32,
}

impl Default for SlaDays {
    /// 3, 7, 30, 90 and 180 days: the usual rhythm of gov-cloud patch cycles — emergency,
    /// weekly window, monthly window, quarterly, half-yearly.
    fn default() -> Self {
        SlaDays {
            very_high: 3,
            high: 7,
            medium: 30,
            low: 90,
            very_low: 180,
        }
    }
}

impl SlaDays {
    /// Days allowed at risk `level` (1–5).
    pub fn days(&self, level: u8) -> u32 {
        match level {
            5.. => self.very_high,
            4 => self.high,
            3 => self.medium,
            2 => self.low,
            _ => self.very_low,
        }
    }

    /// Refuses zero days and a lower level given less time than a higher one.
    pub fn validate(&self) -> Result<(), String> {
        let d = [
            self.very_high,
            self.high,
            self.medium,
            self.low,
            self.very_low,
        ];
        if d.iter().any(|&x| x == 0 || x > 3650) {
            return Err("sla_days: each level needs 1–3650 days".into());
        }
        if d.windows(2).any(|w| w[0] > w[1]) {
            return Err(
                "sla_days: a lower risk level cannot have less time than a higher one".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkOrderAction as A;
    use WorkOrderState as S;

    #[test]
    fn the_path_is_notify_accept_fix_retest_close() {
        let mut s = S::Notified;
        for a in [A::Accept, A::StartFix, A::RequestRetest, A::RetestPass] {
            s = a.apply(s).unwrap().0;
        }
        assert_eq!(s, S::Closed);
        assert_eq!(
            A::RetestPass.apply(S::Retest).unwrap().1,
            Some(WorkOrderResolution::Fixed)
        );
    }

    #[test]
    fn no_close_as_fixed_without_a_retest_and_no_skipped_step() {
        for from in [S::Notified, S::Accepted, S::Fixing] {
            let e = A::RetestPass.apply(from).unwrap_err();
            assert!(e.contains("only after a retest"), "{e}");
        }
        assert!(A::StartFix.apply(S::Notified).is_err(), "fix before accept");
        assert!(
            A::RequestRetest.apply(S::Accepted).is_err(),
            "retest before fix"
        );
        assert_eq!(A::RetestFail.apply(S::Retest).unwrap().0, S::Fixing);
        assert!(A::Reopen.apply(S::Fixing).is_err());
        assert_eq!(A::Reopen.apply(S::Closed).unwrap().0, S::Fixing);
        assert!(A::AcceptRisk.apply(S::Closed).is_err());
    }

    #[test]
    fn sla_days_validate() {
        assert!(SlaDays::default().validate().is_ok());
        assert_eq!(SlaDays::default().days(5), 3);
        let bad = SlaDays {
            high: 1,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
