//! Findings in the console (I.3.a–b): the prioritised queue with filters, paging and
//! grouping, and scanner-report imports (one finding's page is in `finding`). Reads
//! and imports go through the API's shared functions (`FindingQuery`, `import_file`), so the
//! permission checks and validation live in one place.

use super::{page, short_time, Console, ConsoleError, Layout, Paged};
use crate::api::findings::{import_file, FindingQuery, REPORT_BODY_LIMIT};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::io::{Seek, Write};
use yunshou_model::finding::Severity;
use yunshou_model::work_order::WorkOrderState;
use yunshou_model::Permission;
use yunshou_store::finding_import::{ImportRecord, ImportSummary};
use yunshou_store::findings::{Finding, FindingGroup, FindingGrouping, FindingStatus};

/// Findings per page.
const PAGE_SIZE: i64 = 50;
/// Imports listed under the import form.
const RECENT_IMPORTS: i64 = 10;

/// Display helpers shared by the vulnerability and work-order pages.
pub(super) trait VulnView {
    /// The layout.
    fn layout(&self) -> &Layout;

    /// A GB/T 20984 risk level's label (很低 … 很高).
    fn level(&self, l: &u8) -> &'static str {
        self.layout()
            .t
            .get(&format!("risk.level.{}", (*l).clamp(1, 5)))
    }
    /// A tool severity's label.
    fn sev(&self, s: &Severity) -> &'static str {
        self.layout().t.get(&format!("finding.sev.{}", s.as_str()))
    }
    /// A finding status's label.
    fn fstatus(&self, s: &FindingStatus) -> &'static str {
        self.layout()
            .t
            .get(&format!("finding.status.{}", s.as_str()))
    }
    /// A work-order state's label.
    fn wo_state(&self, s: &WorkOrderState) -> &'static str {
        self.layout().t.get(&format!("wo.state.{}", s.as_str()))
    }
    /// `WO-000042`.
    fn wo_label(&self, n: &i64) -> String {
        yunshou_store::work_orders::label(*n)
    }
    /// The date of a stored time.
    fn date(&self, t: &str) -> String {
        t.get(..10).unwrap_or(t).to_string()
    }
    /// A stored time, shortened.
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

/// The list's filters as typed in the form (and carried in its links).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct FindingsForm {
    /// `active` (the default when absent), `all`, or one status.
    #[serde(default)]
    status: String,
    /// Minimum tool severity.
    #[serde(default)]
    severity: String,
    /// Minimum risk level, 1–5.
    #[serde(default)]
    risk_level: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    cve: String,
    #[serde(default)]
    business_system: String,
    /// Set: only assets with no business system (an empty box means "any").
    #[serde(default)]
    bs_none: String,
    /// An asset id (from a group row).
    #[serde(default)]
    asset: String,
    #[serde(default)]
    q: String,
    /// `yes`, `no` or empty.
    #[serde(default)]
    exploited: String,
    /// `asset`, `cve`, `business_system` or empty.
    #[serde(default)]
    group: String,
    #[serde(default)]
    offset: Option<i64>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl FindingsForm {
    /// The API query for this form, or why the form is wrong.
    fn query(&self) -> Result<FindingQuery, String> {
        let status = match self.status.trim() {
            "" => Some("active".to_string()),
            "all" => None,
            s => Some(s.to_string()),
        };
        let risk_level = match self.risk_level.trim() {
            "" => None,
            l => Some(l.parse::<u8>().map_err(|_| "risk_level: 1–5".to_string())?),
        };
        let known_exploited = match self.exploited.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        let business_system = if !self.bs_none.is_empty() {
            Some(String::new())
        } else {
            some(&self.business_system)
        };
        Ok(FindingQuery {
            status,
            severity: some(&self.severity),
            risk_level,
            asset: some(&self.asset),
            cve: some(&self.cve),
            source: some(&self.source),
            business_system,
            q: some(&self.q),
            known_exploited,
            limit: Some(PAGE_SIZE),
            offset: Some(self.offset.unwrap_or(0).max(0)),
        })
    }

    fn grouping(&self) -> Option<FindingGrouping> {
        FindingGrouping::parse(&self.group)
    }

    /// `/findings` with these filters (empty ones left out).
    fn link(&self) -> String {
        let offset = self.offset.filter(|o| *o > 0).map(|o| o.to_string());
        let pairs = [
            ("status", self.status.as_str()),
            ("severity", &self.severity),
            ("risk_level", &self.risk_level),
            ("source", &self.source),
            ("cve", &self.cve),
            ("business_system", &self.business_system),
            ("bs_none", &self.bs_none),
            ("asset", &self.asset),
            ("q", &self.q),
            ("exploited", &self.exploited),
            ("group", &self.group),
            ("offset", offset.as_deref().unwrap_or("")),
        ];
        let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        if kept.is_empty() {
            "/findings".into()
        } else {
            format!(
                "/findings?{}",
                serde_urlencoded::to_string(kept).unwrap_or_default()
            )
        }
    }

    /// The list of one group's findings: these filters narrowed to the group, ungrouped.
    fn group_link(&self, by: FindingGrouping, key: &str) -> String {
        let mut f = self.clone();
        f.group.clear();
        f.offset = None;
        match by {
            FindingGrouping::Asset => f.asset = key.to_string(),
            FindingGrouping::Cve => f.cve = key.to_string(),
            FindingGrouping::BusinessSystem if key.is_empty() => {
                f.business_system.clear();
                f.bs_none = "1".into();
            }
            FindingGrouping::BusinessSystem => {
                f.business_system = key.to_string();
                f.bs_none.clear();
            }
        }
        f.link()
    }
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    l: Layout,
    f: FindingsForm,
    findings: Vec<Finding>,
    groups: Vec<FindingGroup>,
    total: i64,
    offset: i64,
    error: Option<String>,
    can_import: bool,
    imports: Vec<ImportRecord>,
    /// The import just done.
    summary: Option<ImportSummary>,
    /// Why the upload was refused.
    import_error: Option<String>,
    /// The format picked for the upload.
    format: String,
}

impl VulnView for FindingsPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl Paged for FindingsPage {
    fn offset(&self) -> i64 {
        self.offset
    }
    fn total(&self) -> i64 {
        self.total
    }
    fn page_size(&self) -> i64 {
        PAGE_SIZE
    }
    fn page_link(&self, offset: i64) -> String {
        let mut f = self.f.clone();
        f.offset = Some(offset.max(0));
        f.link()
    }
}

impl FindingsPage {
    fn statuses(&self) -> &'static [FindingStatus] {
        &FindingStatus::ALL
    }
    fn severities(&self) -> &'static [&'static str] {
        &["info", "low", "medium", "high", "critical"]
    }
    fn formats(&self) -> Vec<&'static str> {
        yunshou_scanners::Format::ALL
            .iter()
            .map(|f| f.as_str())
            .collect()
    }
    fn group_link(&self, g: &FindingGroup) -> String {
        match self.f.grouping() {
            Some(by) => self.f.group_link(by, &g.key),
            None => self.f.link(),
        }
    }
    fn group_label(&self, g: &FindingGroup) -> String {
        if g.label.is_empty() {
            self.l.t.get("finding.no_business_system").to_string()
        } else {
            g.label.clone()
        }
    }
    fn group_title(&self) -> &'static str {
        self.l.t.get(&format!("finding.group.{}", self.f.group))
    }
    /// The list without the asset filter (the chip's ✕).
    fn without_asset(&self) -> String {
        let mut f = self.f.clone();
        f.asset.clear();
        f.offset = None;
        f.link()
    }
    /// The asset filter's name, from the rows shown.
    fn asset_name(&self) -> String {
        self.findings
            .first()
            .map(|x| x.asset_name.clone())
            .unwrap_or_else(|| self.f.asset.clone())
    }
    /// A few CVEs, then how many more.
    fn cves<'a>(&self, f: &'a Finding) -> (&'a [String], usize) {
        let shown = f.cves.len().min(3);
        (&f.cves[..shown], f.cves.len() - shown)
    }
}

async fn show(
    state: &AppState,
    l: Layout,
    f: FindingsForm,
    summary: Option<ImportSummary>,
    import_error: Option<String>,
    format: String,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let offset = f.offset.unwrap_or(0).max(0);
    let (mut findings, mut groups, mut total, mut error) = (vec![], vec![], 0, None);
    let checked = f.query().and_then(|q| {
        Ok((
            q.filter().map_err(|e| e.detail)?,
            q.page().map_err(|e| e.detail)?,
        ))
    });
    match checked {
        Ok((filter, pg)) => match f.grouping() {
            Some(by) => {
                groups = state.store.finding_groups(&scope, &filter, by).await?;
                total = state.store.count_findings(&scope, &filter).await?;
            }
            None => (findings, total) = state.store.findings(&scope, &filter, pg).await?,
        },
        Err(e) => error = Some(e),
    }
    let imports = state.store.finding_imports(&scope, RECENT_IMPORTS).await?;
    let can_import = l.p.can(Permission::FindingsImport);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        FindingsPage {
            l,
            f,
            findings,
            groups,
            total,
            offset,
            error,
            can_import,
            imports,
            summary,
            import_error,
            format,
        }
        .render()?,
    ))
}

/// `GET /findings`: the prioritised queue (active findings by default), or its groups.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<FindingsForm>,
) -> Result<Response, ConsoleError> {
    show(&state, l, f, None, None, "auto".into()).await
}

fn bad(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::Page(StatusCode::BAD_REQUEST, detail.into())
}

/// An uploaded report, spooled to an anonymous temporary file as it arrives so that a large
/// report never sits in memory.
struct Spooled {
    file: std::fs::File,
    name: String,
    size: usize,
}

async fn spool_field(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Spooled, ConsoleError> {
    let name = field.file_name().unwrap_or("").to_string();
    let mut file = tempfile::tempfile().map_err(crate::error::ApiError::internal)?;
    let mut size = 0usize;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ConsoleError::Page(StatusCode::PAYLOAD_TOO_LARGE, format!("file: {e}")))?
    {
        size += chunk.len();
        if size > REPORT_BODY_LIMIT {
            return Err(ConsoleError::Page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file: larger than 1 GiB".into(),
            ));
        }
        file.write_all(&chunk)
            .map_err(crate::error::ApiError::internal)?;
    }
    file.rewind().map_err(crate::error::ApiError::internal)?;
    Ok(Spooled { file, name, size })
}

/// `POST /findings/import` (multipart: `_csrf` first, then `format` and `file`): imports a
/// scanner report and shows its summary, or why it was refused (nothing is kept then).
pub async fn upload(
    State(state): State<AppState>,
    Console(l): Console,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    l.p.require(Permission::FindingsImport)?;
    let (mut csrf_ok, mut format, mut report) = (false, String::from("auto"), None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("form: {e}")))?
    {
        let field_name = field.name().unwrap_or("").to_string();
        // The token comes before anything else is read.
        if !csrf_ok && field_name != "_csrf" {
            break;
        }
        match field_name.as_str() {
            "_csrf" => {
                let sent = field.text().await.map_err(|e| bad(format!("form: {e}")))?;
                csrf_ok = !l.csrf().is_empty() && sent == l.csrf();
                if !csrf_ok {
                    break;
                }
            }
            "format" => {
                format = field
                    .text()
                    .await
                    .map_err(|e| bad(format!("format: {e}")))?
            }
            "file" => report = Some(spool_field(field).await?),
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(ConsoleError::csrf_refused());
    }
    let outcome = match report.filter(|r| r.size > 0) {
        None => Err(l.t.get("finding.import_no_file").to_string()),
        Some(r) => match import_file(&state, &l.p, Some(&format), &r.name, r.file).await {
            Ok(summary) => Ok(summary),
            Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
                Err(e.detail)
            }
            Err(e) => return Err(e.into()),
        },
    };
    match outcome {
        Ok(s) => {
            show(
                &state,
                l,
                FindingsForm::default(),
                Some(s),
                None,
                "auto".into(),
            )
            .await
        }
        Err(e) => show(&state, l, FindingsForm::default(), None, Some(e), format).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{I18n, Lang};

    fn form(pairs: &str) -> FindingsForm {
        serde_urlencoded::from_str(pairs).unwrap()
    }

    #[test]
    fn active_is_the_default_and_all_lifts_it() {
        let q = form("").query().unwrap();
        assert_eq!(q.status.as_deref(), Some("active"));
        assert_eq!(q.limit, Some(PAGE_SIZE));
        assert!(form("status=all").query().unwrap().status.is_none());
        let q = form("status=fixed&risk_level=4&exploited=yes&severity=high&q=%20ssh%20")
            .query()
            .unwrap();
        assert_eq!(q.status.as_deref(), Some("fixed"));
        assert_eq!(q.risk_level, Some(4));
        assert_eq!(q.known_exploited, Some(true));
        assert_eq!(q.q.as_deref(), Some("ssh"));
        assert!(q.filter().is_ok());
        assert!(form("risk_level=x").query().is_err());
        assert!(form("risk_level=9").query().unwrap().filter().is_err());
    }

    #[test]
    fn business_system_none_is_its_own_flag() {
        assert_eq!(
            form("business_system=").query().unwrap().business_system,
            None
        );
        assert_eq!(
            form("business_system=%E7%BD%91%E5%8A%9E")
                .query()
                .unwrap()
                .business_system
                .as_deref(),
            Some("网办")
        );
        assert_eq!(
            form("bs_none=1&business_system=x")
                .query()
                .unwrap()
                .business_system
                .as_deref(),
            Some("")
        );
    }

    #[test]
    fn links_keep_filters_and_groups_narrow_them() {
        let f = form("status=open&severity=high&group=asset&offset=50");
        assert_eq!(
            f.link(),
            "/findings?status=open&severity=high&group=asset&offset=50"
        );
        let id = "0190f1a2-0000-7000-8000-000000000001";
        assert_eq!(
            f.group_link(FindingGrouping::Asset, id),
            format!("/findings?status=open&severity=high&asset={id}")
        );
        assert_eq!(
            f.group_link(FindingGrouping::Cve, "CVE-2021-44228"),
            "/findings?status=open&severity=high&cve=CVE-2021-44228"
        );
        assert_eq!(
            f.group_link(FindingGrouping::BusinessSystem, ""),
            "/findings?status=open&severity=high&bs_none=1"
        );
        assert_eq!(
            f.group_link(FindingGrouping::BusinessSystem, "网上办事大厅"),
            "/findings?status=open&severity=high&business_system=%E7%BD%91%E4%B8%8A%E5%8A%9E%E4%BA%8B%E5%A4%A7%E5%8E%85"
        );
        assert_eq!(FindingsForm::default().link(), "/findings");
    }

    #[test]
    fn every_generated_key_exists() {
        use yunshou_model::work_order::WorkOrderAction;
        let mut keys: Vec<String> = vec![];
        for s in ["info", "low", "medium", "high", "critical"] {
            keys.push(format!("finding.sev.{s}"));
        }
        keys.extend(
            FindingStatus::ALL
                .iter()
                .map(|s| format!("finding.status.{}", s.as_str())),
        );
        keys.extend(
            WorkOrderState::ALL
                .iter()
                .map(|s| format!("wo.state.{}", s.as_str())),
        );
        for a in WorkOrderAction::ALL {
            keys.push(format!("wo.action.{}", a.as_str()));
            if a.needs_note() {
                keys.push(format!("wo.note_hint.{}", a.as_str()));
            }
        }
        for r in ["fixed", "risk_accepted", "false_positive"] {
            keys.push(format!("wo.resolution.{r}"));
        }
        for e in [
            "raise",
            "assign",
            "comment",
            "attach",
            "escalate",
            "retest_pass_by_import",
            "not_seen_by_import",
        ] {
            keys.push(format!("wo.event.{e}"));
        }
        for g in ["asset", "cve", "business_system"] {
            keys.push(format!("finding.group.{g}"));
        }
        for m in ["matrix", "multiplication"] {
            keys.push(format!("vset.method.{m}"));
        }
        keys.extend((1..=5).map(|l| format!("risk.level.{l}")));
        for lang in [Lang::Zh, Lang::En] {
            let t = I18n { lang };
            for k in &keys {
                assert_ne!(t.get(k), "[missing text]", "{k}");
            }
        }
    }
}
