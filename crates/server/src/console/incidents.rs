//! Incidents in the console (R.1, R.2): the list with its filters, a new incident by hand or
//! from alerts, and the changes that go through `update_incident` — the phase records, the
//! owner, one phase forward, closing after a decision not to respond. The detail page and
//! its other forms are in `incident.rs`. Every refusal of the store comes back as the
//! page's message; nothing here trusts the form.

use super::{done, page, Console, ConsoleError, ConsoleForm, Layout, Paged};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::i18n::Lang;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use yunshou_model::Permission;
use yunshou_respond::classification::{self, GradingInputs, Level, CATEGORIES};
use yunshou_respond::phases::{self, Phase};
use yunshou_store::incidents::{
    Incident, IncidentFilter, IncidentPatch, IncidentStatus, NewIncident,
};

/// Incidents per page.
const PAGE_SIZE: i64 = 50;

/// Maps a refusal (400, 409, 422) to the form's page with the store's message; anything
/// else (404, 403, 500) to an error page.
pub(super) fn back<E: Into<ApiError>>(to: &str) -> impl Fn(E) -> ConsoleError + '_ {
    move |e| {
        let e: ApiError = e.into();
        match e.status {
            StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                ConsoleError::Back(to.to_string(), e.detail)
            }
            _ => e.into(),
        }
    }
}

/// A class in the classification select: code, name, and (value, label) of its subclasses.
pub(super) type ClassOption = (String, String, Vec<(String, String)>);

/// Labels every incident page shows, in the page's language.
pub(super) trait IncView {
    fn layout(&self) -> &Layout;
    fn zh(&self) -> bool {
        self.layout().t.lang == Lang::Zh
    }
    /// A class code's name.
    fn cat_name(&self, code: &Option<String>) -> String {
        match code.as_deref().and_then(classification::category) {
            Some(c) if self.zh() => c.zh.to_string(),
            Some(c) => c.en.to_string(),
            None => code.clone().unwrap_or_default(),
        }
    }
    /// A subclass (stored in Chinese) in the page's language.
    fn sub_name(&self, code: &Option<String>, sub: &str) -> String {
        if self.zh() || sub.is_empty() {
            return sub.to_string();
        }
        if sub == classification::OTHER_SUBCATEGORY {
            return "Other".into();
        }
        code.as_deref()
            .and_then(classification::category)
            .and_then(|c| c.subcategories.iter().find(|(zh, _)| *zh == sub))
            .map(|(_, en)| en.to_string())
            .unwrap_or_else(|| sub.to_string())
    }
    /// `IV 一般` (or empty).
    fn level_name(&self, l: &Option<Level>) -> String {
        match l {
            Some(l) if self.zh() => format!("{} {}", l.as_str(), l.zh()),
            Some(l) => format!("{} {}", l.as_str(), l.en()),
            None => String::new(),
        }
    }
    fn lv(&self, l: &Level) -> String {
        self.level_name(&Some(*l))
    }
    fn phase_name(&self, p: &Phase) -> &'static str {
        self.layout().t.get(&format!("inc.phase.{}", p.as_str()))
    }
    fn status_name(&self, s: &IncidentStatus) -> &'static str {
        self.layout().t.get(&format!("inc.status.{}", s.as_str()))
    }
    fn time(&self, t: &str) -> String {
        super::short_time(t)
    }
    fn time_opt(&self, t: &Option<String>) -> String {
        t.as_deref().map(super::short_time).unwrap_or_default()
    }
    /// The classification form's current value of `field` (empty on a new incident).
    fn cur(&self, _field: &str) -> String {
        String::new()
    }
    fn phases(&self) -> &'static [Phase] {
        &Phase::ALL
    }
    fn levels(&self) -> &'static [Level] {
        &Level::ALL
    }
    /// (value `CODE/子类`, label) of every class and subclass, grouped by class.
    fn classes(&self) -> Vec<ClassOption> {
        CATEGORIES
            .iter()
            .map(|c| {
                let name = if self.zh() { c.zh } else { c.en };
                let mut subs: Vec<(String, String)> = c
                    .subcategories
                    .iter()
                    .map(|(zh, en)| {
                        let label = if self.zh() { *zh } else { *en };
                        (format!("{}/{zh}", c.code), label.to_string())
                    })
                    .collect();
                let other = if self.zh() { "其他" } else { "Other" };
                subs.push((
                    format!("{}/{}", c.code, classification::OTHER_SUBCATEGORY),
                    other.to_string(),
                ));
                (c.code.to_string(), name.to_string(), subs)
            })
            .collect()
    }
}

/// When an incident should leave its phase by its level's target.
pub(super) fn phase_due(inc: &Incident) -> Option<String> {
    let level = inc.level?;
    let minutes = phases::phase_deadline(level, inc.phase)?;
    let detected = yunshou_store::parse_time(&inc.detected_at)?;
    Some(yunshou_store::time_text(
        detected + chrono::Duration::minutes(minutes),
    ))
}

/// The list's filters as typed (and carried in its links).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ListForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    phase: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: Option<i64>,
}

impl ListForm {
    fn filter(&self) -> Result<IncidentFilter, String> {
        let status = match self.status.as_str() {
            "" => None,
            "open" => Some(IncidentStatus::Open),
            "closed" => Some(IncidentStatus::Closed),
            "archived" => Some(IncidentStatus::Archived),
            s => return Err(format!("status: {s}?")),
        };
        let phase = match self.phase.as_str() {
            "" => None,
            p => Some(Phase::parse(p).ok_or_else(|| format!("phase: {p}?"))?),
        };
        let level = match self.level.as_str() {
            "" => None,
            l => Some(Level::parse(l).ok_or_else(|| format!("level: {l}?"))?),
        };
        let category = match self.category.as_str() {
            "" => None,
            c if classification::category(c).is_some() => Some(c.to_string()),
            c => return Err(format!("category: {c}?")),
        };
        let q = self.q.trim();
        Ok(IncidentFilter {
            status,
            phase,
            level,
            category,
            text: (!q.is_empty()).then(|| q.chars().take(200).collect()),
        })
    }

    fn link(&self) -> String {
        let offset = self.offset.filter(|o| *o > 0).map(|o| o.to_string());
        let pairs = [
            ("status", self.status.as_str()),
            ("phase", &self.phase),
            ("level", &self.level),
            ("category", &self.category),
            ("q", &self.q),
            ("offset", offset.as_deref().unwrap_or("")),
        ];
        let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        match serde_urlencoded::to_string(kept).unwrap_or_default() {
            q if q.is_empty() => "/incidents".into(),
            q => format!("/incidents?{q}"),
        }
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    l: Layout,
    f: ListForm,
    rows: Vec<(Incident, Option<String>)>,
    total: i64,
    error: Option<String>,
    can_manage: bool,
    now: String,
}

impl IncView for ListPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl Paged for ListPage {
    fn offset(&self) -> i64 {
        self.f.offset.unwrap_or(0).max(0)
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

impl ListPage {
    fn categories(&self) -> Vec<(&'static str, &'static str)> {
        CATEGORIES
            .iter()
            .map(|c| (c.code, if self.zh() { c.zh } else { c.en }))
            .collect()
    }
    fn overdue(&self, due: &Option<String>, inc: &Incident) -> bool {
        inc.status == IncidentStatus::Open && due.as_deref().is_some_and(|d| d < self.now.as_str())
    }
}

/// `GET /incidents`.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<ListForm>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsRead)?.clone();
    let (mut rows, mut total, mut error) = (vec![], 0, None);
    match f.filter() {
        Ok(filter) => {
            let p = yunshou_store::Page {
                limit: PAGE_SIZE,
                offset: f.offset.unwrap_or(0).max(0),
            };
            let (list, n) = state.store.incidents(&scope, &filter, p).await?;
            rows = list
                .into_iter()
                .map(|i| {
                    let due = phase_due(&i);
                    (i, due)
                })
                .collect();
            total = n;
        }
        Err(e) => error = Some(e),
    }
    let can_manage = l.p.can(Permission::IncidentsManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        ListPage {
            l,
            f,
            rows,
            total,
            error,
            can_manage,
            now: yunshou_store::now_text(),
        }
        .render()?,
    ))
}

#[derive(Template)]
#[template(path = "incident_new.html")]
struct NewPage {
    l: Layout,
}

impl IncView for NewPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

/// `GET /incidents/new`.
pub async fn new_form(Console(l): Console) -> Result<Response, ConsoleError> {
    l.p.require(Permission::IncidentsManage)?;
    let flash = l.flash.is_some();
    Ok(page(flash, NewPage { l }.render()?))
}

/// Reads a form's fields by name (last one wins; `all` gives the repeated ones).
pub(super) struct Fields<'a>(pub &'a [(String, String)]);

impl Fields<'_> {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name).to_string()).filter(|s| !s.is_empty())
    }
    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// `CODE/子类` (or `CODE/`, or empty) from the combined select.
fn classification_of(f: &Fields) -> Result<(Option<String>, String), String> {
    match f.get("classification") {
        "" => Ok((None, String::new())),
        v => {
            let (code, sub) = v.split_once('/').unwrap_or((v, ""));
            classification::validate(code, sub).map_err(|e| format!("category: {e}"))?;
            Ok((Some(code.to_string()), sub.to_string()))
        }
    }
}

/// The three grading selects, all or none.
fn grading_of(f: &Fields) -> Result<Option<GradingInputs>, String> {
    let (i, l, s) = (f.get("importance"), f.get("loss"), f.get("social_harm"));
    if i.is_empty() && l.is_empty() && s.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(json!({"importance": i, "loss": l, "social_harm": s}))
        .map(Some)
        .map_err(|_| "grading: choose the importance, the loss and the social harm".into())
}

fn level_of(f: &Fields) -> Result<Option<Level>, String> {
    match f.get("level") {
        "" => Ok(None),
        l => Level::parse(l)
            .map(Some)
            .ok_or_else(|| format!("level: {l}?")),
    }
}

/// A `datetime-local` value (`2026-05-01T08:30`, China time) or RFC 3339, as RFC 3339.
fn time_of(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if s.len() == 16 && s.as_bytes().get(10) == Some(&b'T') {
        return Some(format!("{s}:00+08:00"));
    }
    Some(s.to_string())
}

fn new_incident(f: &Fields) -> Result<NewIncident, String> {
    let (category, subcategory) = classification_of(f)?;
    Ok(NewIncident {
        title: f.get("title").to_string(),
        description: f.get("description").to_string(),
        category,
        subcategory,
        grading: grading_of(f)?,
        level: level_of(f)?,
        owner: f.opt("owner"),
        occurred_at: time_of(f.get("occurred_at")),
        ..Default::default()
    })
}

/// `POST /incidents/new`.
pub async fn create(
    State(state): State<AppState>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?.clone();
    let back_to = "/incidents/new";
    let new = new_incident(&Fields(&f.form)).map_err(|e| ConsoleError::Back(back_to.into(), e))?;
    let inc = state
        .store
        .create_incident(&scope, &new, "manual", &f.layout.p.actor())
        .await
        .map_err(back(back_to))?;
    let text = format!("{} {}", f.layout.t.get("inc.created"), inc.label);
    Ok(done(&format!("/incidents/{}", inc.id), &text))
}

/// `POST /incidents/from-alerts`: every `alert_ids` checked (or the one alert's page).
pub async fn from_alerts(
    State(state): State<AppState>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?.clone();
    let fields = Fields(&f.form);
    let ids = fields.all("alert_ids");
    let back_to = match (fields.get("back"), ids.as_slice()) {
        (b, _) if b.starts_with("/alerts") && !b.starts_with("//") => b.to_string(),
        (_, [one]) if yunshou_model::ids::is_valid_id(one) => format!("/alerts/{one}"),
        _ => "/alerts".to_string(),
    };
    if ids.is_empty() {
        return Err(ConsoleError::Back(
            back_to,
            f.layout.t.get("inc.no_alerts").into(),
        ));
    }
    if let Some(bad) = ids.iter().find(|i| !yunshou_model::ids::is_valid_id(i)) {
        return Err(ConsoleError::Back(back_to, format!("alert_ids: {bad}?")));
    }
    let new = NewIncident {
        alert_ids: ids,
        ..Default::default()
    };
    let inc = state
        .store
        .create_incident(&scope, &new, "alert", &f.layout.p.actor())
        .await
        .map_err(back(&back_to))?;
    let text = format!("{} {}", f.layout.t.get("inc.created"), inc.label);
    Ok(done(&format!("/incidents/{}", inc.id), &text))
}

/// The patch a record form asks for, given the incident as it is (containment actions are
/// appended to the current list).
fn record_patch(inc: &Incident, f: &Fields) -> Result<IncidentPatch, String> {
    let mut patch = IncidentPatch::default();
    let mut records = Map::new();
    match f.get("record") {
        "classification" => {
            let (category, sub) = classification_of(f)?;
            if category.is_none() {
                return Err("category: choose the class".into());
            }
            patch.category = category;
            patch.subcategory = Some(sub);
            patch.grading = grading_of(f)?;
            patch.level = level_of(f)?.or(patch.grading.map(|g| g.suggested_level()));
            patch.level_confirmed = Some(f.checked("confirm"));
        }
        "activation" => {
            let decision = match f.get("decision") {
                d @ ("activate" | "no_response") => d,
                d => return Err(format!("decision: {d}?")),
            };
            let contacted: Vec<String> = f
                .get("contacted")
                .split([',', '，', '、', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            records.insert(
                "activation".into(),
                json!({"decision": decision, "reason": f.get("reason"), "contacted": contacted}),
            );
        }
        "containment" => {
            if f.get("action").is_empty() {
                return Err("action: say what was done".into());
            }
            let mut list = serde_json::to_value(&inc.records.containment_actions)
                .map_err(|e| e.to_string())?;
            if let Value::Array(a) = &mut list {
                a.push(json!({"action": f.get("action"), "target": f.get("target"), "result": f.get("result")}));
            }
            records.insert("containment_actions".into(), list);
        }
        "eradication" => {
            records.insert("root_cause".into(), json!(f.get("root_cause")));
            if !f.get("weakness").is_empty() {
                records.insert(
                    "weakness_fixed".into(),
                    json!({"description": f.get("weakness"), "finding_id": f.opt("finding_id"), "fixed": f.checked("fixed")}),
                );
            }
        }
        "recovery" => {
            let systems: Vec<&str> = f
                .get("systems")
                .split([',', '，', '、', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            records.insert(
                "recovery".into(),
                json!({"systems": systems, "integrity_verified": f.checked("integrity"),
                       "availability_verified": f.checked("availability"), "note": f.get("note")}),
            );
        }
        "tracking" => {
            let days: u32 = f
                .get("days")
                .parse()
                .map_err(|_| "days: a whole number of days".to_string())?;
            records.insert(
                "monitoring".into(),
                json!({"days": days, "observations": f.get("observations"), "recurrence": f.checked("recurrence")}),
            );
        }
        "optimization" => {
            records.insert("lessons".into(), json!(f.get("lessons")));
            if !f.get("review_meeting").is_empty() {
                records.insert("review_meeting".into(), json!(f.get("review_meeting")));
            }
        }
        r => return Err(format!("record: {r}?")),
    }
    if !records.is_empty() {
        patch.records = Some(records);
    }
    Ok(patch)
}

/// `POST /incidents/{id}/records`: one phase's records (`record` names which).
pub async fn records(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::IncidentsManage)?.clone();
    let to = format!("/incidents/{id}");
    let inc = state.store.incident(&scope, &id).await?;
    let patch =
        record_patch(&inc, &Fields(&f.form)).map_err(|e| ConsoleError::Back(to.clone(), e))?;
    state
        .store
        .update_incident(&scope, &id, &patch, &f.layout.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}

#[derive(Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    owner: String,
}

/// `POST /incidents/{id}/owner`.
pub async fn owner(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<OwnerForm>,
) -> Result<Response, ConsoleError> {
    let patch = IncidentPatch {
        owner: Some(f.form.owner.trim().to_string()),
        ..Default::default()
    };
    patch_and_back(&state, &f.layout, &id, &patch, "inc.saved").await
}

#[derive(Deserialize)]
pub struct PhaseForm {
    #[serde(default)]
    phase: String,
}

/// `POST /incidents/{id}/phase`: one phase forward; a refusal names what is missing.
pub async fn move_phase(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<PhaseForm>,
) -> Result<Response, ConsoleError> {
    let to = format!("/incidents/{id}");
    let phase = Phase::parse(&f.form.phase)
        .ok_or_else(|| ConsoleError::Back(to.clone(), format!("phase: {}?", f.form.phase)))?;
    let patch = IncidentPatch {
        phase: Some(phase),
        ..Default::default()
    };
    patch_and_back(&state, &f.layout, &id, &patch, "inc.moved").await
}

/// `POST /incidents/{id}/close`: closed after a decision not to respond.
pub async fn close(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let patch = IncidentPatch {
        status: Some(IncidentStatus::Closed),
        ..Default::default()
    };
    patch_and_back(&state, &f.layout, &id, &patch, "inc.closed").await
}

async fn patch_and_back(
    state: &AppState,
    l: &Layout,
    id: &str,
    patch: &IncidentPatch,
    message: &str,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    state
        .store
        .update_incident(scope, id, patch, &l.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, l.t.get(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn classification_and_grading_from_the_form() {
        let f = pairs(&[
            ("classification", "MP/勒索软件"),
            ("importance", "important"),
            ("loss", "serious"),
            ("social_harm", "ordinary"),
        ]);
        let f = Fields(&f);
        assert_eq!(
            classification_of(&f).unwrap(),
            (Some("MP".into()), "勒索软件".into())
        );
        assert!(grading_of(&f).unwrap().is_some());
        let bad = pairs(&[("classification", "MP/不存在"), ("importance", "important")]);
        assert!(classification_of(&Fields(&bad)).is_err());
        assert!(grading_of(&Fields(&bad)).is_err());
        assert_eq!(
            time_of("2026-05-01T08:30").unwrap(),
            "2026-05-01T08:30:00+08:00"
        );
    }

    #[test]
    fn list_links_keep_filters() {
        let f: ListForm = serde_urlencoded::from_str("phase=diagnosis&q=x&offset=0").unwrap();
        assert_eq!(f.link(), "/incidents?phase=diagnosis&q=x");
        assert!(f.filter().is_ok());
        let bad: ListForm = serde_urlencoded::from_str("level=V").unwrap();
        assert!(bad.filter().is_err());
    }
}
