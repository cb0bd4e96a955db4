//! Response metrics (R.2.c) and the tenant's response settings (R.1.b) in the console, with
//! the labels the respond pages share: levels, phases and classes in the reader's language,
//! and minutes made readable.

use super::svg::{target_bars, TargetBar};
use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::i18n::{I18n, Lang};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::Permission;
use yunshou_respond::classification::{self, reporting_duties, CATEGORIES};
use yunshou_respond::metrics::{summarise, Durations, GroupMetrics, Measure};
use yunshou_respond::phases::time_targets;
use yunshou_respond::{Level, OperatorKind, Phase};

/// 特别重大 … / Extremely serious …
pub(crate) fn level_label(t: &I18n, level: &str) -> String {
    match Level::parse(level) {
        Some(l) => match t.lang {
            Lang::Zh => format!("{}（{}级）", l.zh(), l.as_str()),
            Lang::En => format!("{} ({})", l.en(), l.as_str()),
        },
        None => t.get("resp.unrated").to_string(),
    }
}

/// 准备 … / Preparation …
pub(crate) fn phase_label(t: &I18n, phase: &str) -> String {
    match Phase::parse(phase) {
        Some(p) => match t.lang {
            Lang::Zh => p.zh().to_string(),
            Lang::En => t.get(&format!("resp.phase.{}", p.as_str())).to_string(),
        },
        None => phase.to_string(),
    }
}

/// 网络攻击事件 (NA) / Network attack (NA).
pub(crate) fn category_label(t: &I18n, code: &str) -> String {
    match classification::category(code) {
        Some(c) => match t.lang {
            Lang::Zh => format!("{}（{}）", c.zh, c.code),
            Lang::En => format!("{} ({})", c.en, c.code),
        },
        None => code.to_string(),
    }
}

/// Minutes as a reader would say them: `45 分钟`, `3.5 小时`, `2.0 天`.
pub(crate) fn humanise(t: &I18n, minutes: f64) -> String {
    let (n, unit) = if minutes < 60.0 {
        (format!("{}", minutes.round() as i64), "resp.unit.min")
    } else if minutes < 48.0 * 60.0 {
        (format!("{:.1}", minutes / 60.0), "resp.unit.hour")
    } else {
        (format!("{:.1}", minutes / 1440.0), "resp.unit.day")
    };
    format!("{n} {}", t.get(unit))
}

/// The four measures in display order, with their text keys.
const MEASURES: [(&str, &str); 4] = [
    ("detect", "rmet.detect"),
    ("acknowledge", "rmet.acknowledge"),
    ("contain", "rmet.contain"),
    ("recover", "rmet.recover"),
];

fn measure<'a>(g: &'a GroupMetrics, name: &str) -> &'a Measure {
    match name {
        "detect" => &g.detect,
        "acknowledge" => &g.acknowledge,
        "contain" => &g.contain,
        _ => &g.recover,
    }
}

/// One row of a metrics table: the group's label and its cells (count, median, mean, max
/// per measure).
pub struct MetricsRow {
    label: String,
    group: String,
    incidents: usize,
    cells: Vec<[String; 4]>,
}

fn rows(t: &I18n, groups: &[GroupMetrics], label: impl Fn(&str) -> String) -> Vec<MetricsRow> {
    let dash = || "—".to_string();
    groups
        .iter()
        .map(|g| MetricsRow {
            label: label(&g.group),
            group: g.group.clone(),
            incidents: g.incidents,
            cells: MEASURES
                .iter()
                .map(|(m, _)| {
                    let x = measure(g, m);
                    [
                        x.count.to_string(),
                        x.median.map(|v| humanise(t, v)).unwrap_or_else(dash),
                        x.mean.map(|v| humanise(t, v)).unwrap_or_else(dash),
                        x.max.map(|v| humanise(t, v as f64)).unwrap_or_else(dash),
                    ]
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "response_metrics.html")]
struct MetricsPage {
    l: Layout,
    total: usize,
    /// (table id, heading key, rows): per level, then per class.
    tables: Vec<(&'static str, &'static str, Vec<MetricsRow>)>,
    /// (title, svg) per measure with a target.
    charts: Vec<(&'static str, String)>,
}

impl MetricsPage {
    fn measures(&self) -> Vec<&'static str> {
        MEASURES.iter().map(|(_, k)| self.l.t.get(k)).collect()
    }
}

/// `GET /incidents/metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let items = state.store.incident_durations(&scope).await?;
    let t = l.t;
    let level_items: Vec<(String, Durations)> = items
        .iter()
        .filter_map(|(level, _, d)| level.clone().map(|l| (l, *d)))
        .collect();
    let category_items: Vec<(String, Durations)> = items
        .iter()
        .filter_map(|(_, c, d)| c.clone().map(|c| (c, *d)))
        .collect();
    let level_order: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
    let category_order: Vec<&str> = CATEGORIES.iter().map(|c| c.code).collect();
    let levels = summarise(&level_order, &level_items);
    let categories = summarise(&category_order, &category_items);
    let charts = [
        ("acknowledge", "rmet.chart.acknowledge"),
        ("contain", "rmet.chart.contain"),
        ("recover", "rmet.chart.recover"),
    ]
    .into_iter()
    .map(|(m, key)| {
        let bars: Vec<TargetBar> = levels
            .iter()
            .map(|g| {
                let level = Level::parse(&g.group).unwrap_or(Level::IV);
                let tt = time_targets(level);
                let target = match m {
                    "acknowledge" => tt.acknowledge,
                    "contain" => tt.contain,
                    _ => tt.recover,
                } as f64;
                let median = measure(g, m).median;
                TargetBar {
                    label: level_label(&t, &g.group),
                    value: median,
                    target: Some(target),
                    value_text: median
                        .map(|v| humanise(&t, v))
                        .unwrap_or_else(|| t.get("rmet.none_measured").to_string()),
                    target_text: format!("{} {}", t.get("rmet.target"), humanise(&t, target)),
                }
            })
            .collect();
        (t.get(key), target_bars(t.get(key), &bars))
    })
    .collect();
    let by_level = rows(&t, &levels, |g| level_label(&t, g));
    let by_category = rows(&t, &categories, |g| category_label(&t, g));
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        MetricsPage {
            l,
            total: items.len(),
            tables: vec![
                ("metrics-by-level", "rmet.by_level", by_level),
                ("metrics-by-category", "rmet.by_category", by_category),
            ],
            charts,
        }
        .render()?,
    ))
}

/// One level's duties under the tenant's operator kind.
pub struct DutyRow {
    level: String,
    duties: Vec<(String, String)>,
    targets: [String; 3],
}

#[derive(Template)]
#[template(path = "response_settings.html")]
struct SettingsPage {
    l: Layout,
    kind: &'static str,
    rows: Vec<DutyRow>,
    can_manage: bool,
}

impl SettingsPage {
    fn kinds(&self) -> [&'static str; 3] {
        ["critical_infrastructure", "state_organ", "other"]
    }
}

/// `GET /response/settings`.
pub async fn settings(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let kind = state.store.operator_kind(&scope).await?;
    let t = l.t;
    let rows = Level::ALL
        .iter()
        .map(|level| {
            let tt = time_targets(*level);
            DutyRow {
                level: level_label(&t, level.as_str()),
                duties: reporting_duties(kind, *level)
                    .into_iter()
                    .map(|d| {
                        let to = match t.lang {
                            Lang::Zh => d.to_zh,
                            Lang::En => d.to_en,
                        };
                        (to.to_string(), humanise(&t, d.within_minutes as f64))
                    })
                    .collect(),
                targets: [
                    humanise(&t, tt.acknowledge as f64),
                    humanise(&t, tt.contain as f64),
                    humanise(&t, tt.recover as f64),
                ],
            }
        })
        .collect();
    let can_manage = l.p.can(Permission::PlansManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        SettingsPage {
            l,
            kind: kind.as_str(),
            rows,
            can_manage,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct KindForm {
    #[serde(default)]
    operator_kind: String,
}

/// `POST /response/settings`.
pub async fn save_settings(
    State(state): State<AppState>,
    f: ConsoleForm<KindForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::PlansManage)?;
    let Some(kind) = OperatorKind::parse(&f.form.operator_kind) else {
        return Err(ConsoleError::Back(
            "/response/settings".into(),
            "operator_kind: critical_infrastructure, state_organ or other".into(),
        ));
    };
    state
        .store
        .set_operator_kind(scope, kind, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back("/response/settings"))?;
    Ok(done("/response/settings", f.layout.t.get("respset.saved")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_read_naturally() {
        let zh = I18n { lang: Lang::Zh };
        let en = I18n { lang: Lang::En };
        assert_eq!(humanise(&en, 45.0), "45 min");
        assert_eq!(humanise(&en, 90.0), "1.5 h");
        assert_eq!(humanise(&zh, 3.0 * 1440.0), "3.0 天");
        assert_eq!(level_label(&zh, "III"), "较大（III级）");
        assert_eq!(level_label(&en, "x"), "Unrated");
        assert_eq!(phase_label(&en, "containment"), "Containment");
        assert_eq!(category_label(&en, "NA"), "Network attack (NA)");
    }
}
