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
    /// Open incidents per phase and level, and reporting notices not yet sent.
    incidents: Option<IncidentTile>,
}

/// Open incidents by phase (rows) and level (columns: I … IV, unrated), and pending
/// reporting notices, soonest due first.
struct IncidentTile {
    levels: Vec<String>,
    /// (phase label, counts per level column, row total).
    phases: Vec<(String, Vec<i64>, i64)>,
    total: i64,
    /// (incident id, number, recipient, due, overdue).
    notices: Vec<(String, String, String, String, bool)>,
}

async fn incident_tile(
    state: &AppState,
    l: &Layout,
    scope: &yunshou_store::TenantScope,
) -> Result<IncidentTile, ConsoleError> {
    use super::response_metrics::{level_label, phase_label};
    use yunshou_respond::{Level, Phase};
    let counts = state.store.open_incident_counts(scope).await?;
    let mut columns: Vec<Option<&str>> = Level::ALL.iter().map(|l| Some(l.as_str())).collect();
    columns.push(None);
    let phases = Phase::ALL
        .iter()
        .map(|p| {
            let cells: Vec<i64> = columns
                .iter()
                .map(|c| {
                    counts
                        .iter()
                        .filter(|(ph, lv, _)| ph == p.as_str() && lv.as_deref() == *c)
                        .map(|x| x.2)
                        .sum()
                })
                .collect();
            let sum = cells.iter().sum();
            (phase_label(&l.t, p.as_str()), cells, sum)
        })
        .collect();
    let notices = state
        .store
        .pending_notices(scope)
        .await?
        .into_iter()
        .take(10)
        .map(|(id, number, n)| (id, number, n.recipient, short_time(&n.due_at), n.overdue))
        .collect();
    Ok(IncidentTile {
        levels: columns
            .iter()
            .map(|c| level_label(&l.t, c.unwrap_or("")))
            .collect(),
        phases,
        total: counts.iter().map(|c| c.2).sum(),
        notices,
    })
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
    let incidents = if l.p.can(Permission::IncidentsRead) {
        Some(incident_tile(&state, &l, &scope).await?)
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
            incidents,
        }
        .render()?,
    ))
}
