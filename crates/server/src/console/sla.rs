//! The SLA dashboard (I.3.c): open work orders by state and risk level, on time against
//! overdue (drawn as SVG on the server), what falls due this week, the last 30 days' closing
//! and on-time rate, and open findings by risk level.

use super::findings::VulnView;
use super::svg::{stacked_bars, Bar};
use super::{page, Console, ConsoleError, Layout};
use crate::i18n::I18n;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use yunshou_model::work_order::WorkOrderState;
use yunshou_model::Permission;
use yunshou_store::work_orders::SlaStats;

#[derive(Template)]
#[template(path = "sla.html")]
struct SlaPage {
    l: Layout,
    s: SlaStats,
    /// Open findings per risk level, level 1 first.
    findings: [i64; 5],
    chart: String,
}

impl VulnView for SlaPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl SlaPage {
    /// (state, open orders in it).
    fn by_state(&self) -> Vec<(WorkOrderState, i64)> {
        WorkOrderState::ALL
            .into_iter()
            .zip(self.s.open_by_state)
            .collect()
    }
    /// (level, open, overdue), highest level first.
    fn by_level(&self) -> Vec<(u8, i64, i64)> {
        (1..=5u8)
            .rev()
            .map(|l| {
                let i = usize::from(l - 1);
                (l, self.s.open_by_level[i], self.s.overdue_by_level[i])
            })
            .collect()
    }
    fn overdue(&self) -> i64 {
        self.s.overdue_by_level.iter().sum()
    }
    fn open(&self) -> i64 {
        self.s.open_by_level.iter().sum()
    }
    /// Open findings, highest level first.
    fn findings_by_level(&self) -> Vec<(u8, i64)> {
        (1..=5u8)
            .rev()
            .map(|l| (l, self.findings[usize::from(l - 1)]))
            .collect()
    }
    fn on_time_rate(&self) -> String {
        on_time_rate(&self.s)
    }
}

/// Fixed on time as a share of fixed in the last 30 days, or `—` when none were fixed.
fn on_time_rate(s: &SlaStats) -> String {
    if s.fixed_30d == 0 {
        "—".into()
    } else {
        format!(
            "{:.0}%",
            s.closed_on_time_30d as f64 * 100.0 / s.fixed_30d as f64
        )
    }
}

/// The chart: per risk level (highest first), open orders on time below, overdue above.
fn chart(t: &I18n, s: &SlaStats) -> String {
    let bars: Vec<Bar> = (1..=5usize)
        .rev()
        .map(|l| Bar {
            label: t.get(&format!("risk.level.{l}")).to_string(),
            good: s.open_by_level[l - 1] - s.overdue_by_level[l - 1],
            bad: s.overdue_by_level[l - 1],
        })
        .collect();
    stacked_bars(t.get("sla.chart"), &bars)
}

/// `GET /work-orders/sla`.
pub async fn show(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let s = state.store.sla_stats(&scope).await?;
    let findings = state.store.open_findings_by_risk(&scope).await?;
    let chart = chart(&l.t, &s);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        SlaPage {
            l,
            s,
            findings,
            chart,
        }
        .render()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn rate_and_chart() {
        let mut s = SlaStats::default();
        assert_eq!(on_time_rate(&s), "—");
        s.fixed_30d = 3;
        s.closed_on_time_30d = 2;
        assert_eq!(on_time_rate(&s), "67%");
        s.open_by_level = [0, 0, 4, 0, 2];
        s.overdue_by_level = [0, 0, 1, 0, 2];
        let svg = chart(&I18n { lang: Lang::En }, &s);
        assert!(
            svg.starts_with("<svg")
                && svg.contains("Very high: 0 / 2")
                && svg.contains("Medium: 3 / 1"),
            "{svg}"
        );
    }
}
