//! The periodic analysis report (I.3.c): what was found, fixed and left over a period, how
//! work orders kept their SLAs, and the risk register with its heat map and trend — as a
//! standalone HTML page (printable, charts drawn as SVG) or as CSV of the register.

use crate::console::svg;
use crate::i18n::{I18n, Lang};
use askama::Template;
use yunshou_store::findings::PeriodStats;
use yunshou_store::risks::{HeatMap, Risk, TrendPoint};
use yunshou_store::threats::Threat;
use yunshou_store::work_orders::SlaStats;
use yunshou_store::{Store, TenantScope};

/// Everything the report shows.
pub struct ReportData {
    /// The organisation.
    pub tenant: String,
    /// Days covered.
    pub days: u32,
    /// Start of the period (`YYYY-MM-DD`).
    pub from: String,
    /// When generated (RFC 3339).
    pub generated_at: String,
    /// Findings over the period.
    pub findings: PeriodStats,
    /// Work orders.
    pub sla: SlaStats,
    /// Open and closed risks.
    pub risks: Vec<Risk>,
    /// The heat map.
    pub heat: HeatMap,
    /// Open risks per level per day.
    pub trend: Vec<TrendPoint>,
    /// The threat catalog.
    pub threats: Vec<Threat>,
}

/// Reads the report's data.
pub async fn gather(
    store: &Store,
    scope: &TenantScope,
    tenant: &str,
    days: u32,
) -> yunshou_store::Result<ReportData> {
    let now = chrono::Utc::now();
    let since = now - chrono::Duration::days(i64::from(days));
    Ok(ReportData {
        tenant: tenant.to_string(),
        days,
        from: since.format("%Y-%m-%d").to_string(),
        generated_at: yunshou_store::time_text(now),
        findings: store
            .finding_period_stats(scope, &yunshou_store::time_text(since))
            .await?,
        sla: store.sla_stats(scope).await?,
        risks: store.risks(scope, true).await?,
        heat: store.risk_heat_map(scope).await?,
        trend: store.risk_trend(scope, days).await?,
        threats: store.threats(scope).await?,
    })
}

/// The register as CSV, one row per risk (formula-injection-safe).
pub fn csv(d: &ReportData) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record([
        "id",
        "asset",
        "threat",
        "vulnerability",
        "T",
        "V",
        "A",
        "likelihood",
        "loss",
        "value",
        "level",
        "method",
        "treatment",
        "owner",
        "due_date",
        "residual_level",
        "status",
        "assessed_at",
    ])?;
    for r in &d.risks {
        w.write_record([
            r.id.clone(),
            safe(&r.asset_name),
            safe(&r.threat_name),
            safe(&r.vulnerability_title),
            r.threat_level.to_string(),
            r.vulnerability_level_used.to_string(),
            r.asset_value.to_string(),
            r.likelihood.to_string(),
            r.loss.to_string(),
            r.value.to_string(),
            r.level.to_string(),
            r.method.clone(),
            r.fields.treatment.clone().unwrap_or_default(),
            safe(r.fields.owner.as_deref().unwrap_or("")),
            r.fields.due_date.clone().unwrap_or_default(),
            r.fields
                .residual_level
                .map(|l| l.to_string())
                .unwrap_or_default(),
            r.fields.status.clone().unwrap_or_default(),
            r.assessed_at.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A cell a spreadsheet would run as a formula is prefixed with `'`.
fn safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[derive(Template)]
#[template(path = "risk_report.html")]
struct ReportPage<'a> {
    t: I18n,
    d: &'a ReportData,
    heat_svg: String,
    trend_svg: String,
}

impl ReportPage<'_> {
    fn level(&self, l: &u8) -> &'static str {
        self.t.get(&format!("risk.level.{l}"))
    }
    fn treatment(&self, r: &Risk) -> &'static str {
        match &r.fields.treatment {
            Some(t) => self.t.get(&format!("risk.treatment.{t}")),
            None => self.t.get("risk.treatment.none"),
        }
    }
    fn status(&self, s: &str) -> &'static str {
        self.t.get(&format!("finding.status.{s}"))
    }
    fn on_time(&self) -> String {
        match self.d.sla.fixed_30d {
            0 => "—".into(),
            n => format!(
                "{:.0}%",
                100.0 * self.d.sla.closed_on_time_30d as f64 / n as f64
            ),
        }
    }
    fn overdue(&self) -> i64 {
        self.d.sla.overdue_by_level.iter().sum()
    }
    fn open_risks(&self) -> usize {
        self.d
            .risks
            .iter()
            .filter(|r| r.fields.status.as_deref() != Some("closed"))
            .count()
    }
}

/// The heat map's texts.
pub fn heat_map_svg(t: &I18n, heat: &HeatMap) -> String {
    svg::heat_map(
        t.get("risk.heatmap"),
        t.get("risk.likelihood"),
        t.get("risk.loss"),
        &heat.cells,
        &heat.levels,
    )
}

/// The trend chart: open risks per level per day.
pub fn trend_svg(t: &I18n, trend: &[TrendPoint]) -> String {
    let labels: Vec<String> = trend.iter().map(|p| p.day.clone()).collect();
    let names: Vec<&'static str> = (1..=5).map(|l| t.get(&format!("risk.level.{l}"))).collect();
    let classes = ["line-l1", "line-l2", "line-l3", "line-l4", "line-l5"];
    let series: Vec<svg::Series> = (0..5)
        .rev()
        .map(|i| svg::Series {
            name: names[i],
            class: classes[i],
            values: trend.iter().map(|p| p.levels[i]).collect(),
        })
        .collect();
    svg::line_chart(t.get("risk.trend"), &labels, &series)
}

/// The report as a standalone HTML page.
pub fn html(d: &ReportData, lang: Lang) -> Result<String, askama::Error> {
    let t = I18n { lang };
    ReportPage {
        t,
        d,
        heat_svg: heat_map_svg(&t, &d.heat),
        trend_svg: trend_svg(&t, &d.trend),
    }
    .render()
}
