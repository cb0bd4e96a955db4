//! The home dashboard.

use super::svg::{stacked_bars, Bar};
use super::{page, short_time, Console, ConsoleError, Layout};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use yunshou_model::{AuditRecord, Permission, TenantKind};
use yunshou_store::alerts::Severity;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    l: Layout,
    user_counts: Option<(i64, i64, i64)>,
    chart: Option<String>,
    recent: Vec<AuditRecord>,
    provider: bool,
    /// Open detection alerts per severity, most severe first.
    open_alerts: Option<Vec<(&'static str, i64)>>,
    /// Open findings per risk level (5 first) and overdue work orders.
    findings: Option<(Vec<(u8, i64)>, i64)>,
}

impl Dashboard {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// `GET /`.
pub async fn show(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.access.scope.clone();
    let user_counts = if l.p.can(Permission::UsersRead) {
        Some(state.store.user_counts(&scope).await?)
    } else {
        None
    };
    let (chart, recent) = if l.p.can(Permission::AuditRead) {
        let today = chrono::Utc::now().date_naive();
        let start = today - chrono::Duration::days(13);
        let since =
            yunshou_store::time_text(start.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
        let counts = state.store.audit_daily_counts(&scope, &since).await?;
        let bars = (0..14)
            .map(|i| {
                let day = (start + chrono::Duration::days(i))
                    .format("%Y-%m-%d")
                    .to_string();
                let (good, bad) = counts
                    .iter()
                    .find(|c| c.0 == day)
                    .map(|c| (c.1, c.2))
                    .unwrap_or((0, 0));
                Bar {
                    label: day[5..].to_string(),
                    good,
                    bad,
                }
            })
            .collect::<Vec<_>>();
        let (recent, _) = state
            .store
            .audit_list(
                &scope,
                &Default::default(),
                yunshou_store::Page {
                    limit: 8,
                    offset: 0,
                },
            )
            .await?;
        (Some(stacked_bars(l.t.get("dash.chart"), &bars)), recent)
    } else {
        (None, Vec::new())
    };
    let provider = l.p.access.tenant.kind == TenantKind::Provider;
    let open_alerts = if l.p.can(Permission::AlertsRead) {
        let counts = state.store.open_alert_counts(&scope).await?;
        Some(
            [
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
                Severity::Informational,
            ]
            .into_iter()
            .map(|s| {
                let n = counts.iter().find(|c| c.0 == s).map_or(0, |c| c.1);
                (s.as_str(), n)
            })
            .collect(),
        )
    } else {
        None
    };
    let findings = if l.p.can(Permission::FindingsRead) {
        let by_level = state.store.open_findings_by_risk(&scope).await?;
        let sla = state.store.sla_stats(&scope).await?;
        Some((
            (1..=5u8)
                .rev()
                .map(|l| (l, by_level[usize::from(l) - 1]))
                .collect(),
            sla.overdue_by_level.iter().sum(),
        ))
    } else {
        None
    };
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        Dashboard {
            l,
            user_counts,
            chart,
            recent,
            provider,
            open_alerts,
            findings,
        }
        .render()?,
    ))
}
