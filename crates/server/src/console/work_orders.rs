//! Work orders in the console (I.3.c): the board of open orders by state with bulk changes,
//! the closed list, and one order with its history, attachments and the steps its state and
//! the user's permissions allow. Every change goes through `api::work_orders::change_orders`
//! (or the store call its API route makes, behind the same permission).

use super::findings::VulnView;
use super::{done, page, Console, ConsoleError, ConsoleForm, Layout, Paged};
use crate::api::work_orders::{attachment_response, change_orders, WorkOrderQuery};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use yunshou_model::work_order::{WorkOrderAction, WorkOrderState};
use yunshou_model::Permission;
use yunshou_store::work_orders::{WorkOrder, WorkOrderChange, WorkOrderDetail};

/// Closed orders per page.
const PAGE_SIZE: i64 = 50;
/// Open orders the board shows (the API's largest page).
const BOARD_LIMIT: i64 = 1000;
/// The board's columns.
const COLUMNS: [WorkOrderState; 4] = [
    WorkOrderState::Notified,
    WorkOrderState::Accepted,
    WorkOrderState::Fixing,
    WorkOrderState::Retest,
];

/// The board's filters as typed (and carried in its links).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct BoardForm {
    /// Empty for the board, `closed` for the closed list.
    #[serde(default)]
    state: String,
    #[serde(default)]
    assignee: String,
    /// Set: overdue only.
    #[serde(default)]
    overdue: String,
    /// Minimum risk level, 1–5.
    #[serde(default)]
    risk_level: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: Option<i64>,
}

impl BoardForm {
    fn closed(&self) -> bool {
        self.state == "closed"
    }

    /// The API query for orders in `state` with these filters, or why the form is wrong.
    fn query(&self, state: &str, limit: i64) -> Result<WorkOrderQuery, String> {
        let risk_level = match self.risk_level.trim() {
            "" => None,
            l => Some(l.parse::<u8>().map_err(|_| "risk_level: 1–5".to_string())?),
        };
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(WorkOrderQuery {
            state: Some(state.to_string()),
            assignee: text(&self.assignee),
            // Closed orders are never overdue: the filter applies to the board only.
            overdue: (!self.overdue.is_empty() && state != "closed").then_some(true),
            risk_level,
            asset: None,
            q: text(&self.q),
            limit: Some(limit),
            offset: Some(self.offset.unwrap_or(0).max(0)),
        })
    }

    /// The query string of these filters (empty ones left out).
    fn query_string(&self) -> String {
        let offset = self.offset.filter(|o| *o > 0).map(|o| o.to_string());
        let pairs = [
            ("state", self.state.as_str()),
            ("assignee", &self.assignee),
            ("overdue", &self.overdue),
            ("risk_level", &self.risk_level),
            ("q", &self.q),
            ("offset", offset.as_deref().unwrap_or("")),
        ];
        let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }

    /// `/work-orders` with these filters.
    fn link(&self) -> String {
        match self.query_string() {
            q if q.is_empty() => "/work-orders".into(),
            q => format!("/work-orders?{q}"),
        }
    }

    /// The same filters on the closed list (`closed`) or the board.
    fn switched(&self, closed: bool) -> String {
        let mut f = self.clone();
        f.state = if closed {
            "closed".into()
        } else {
            String::new()
        };
        f.offset = None;
        if closed {
            f.overdue.clear();
        }
        f.link()
    }
}

#[derive(Template)]
#[template(path = "work_orders.html")]
struct BoardPage {
    l: Layout,
    f: BoardForm,
    /// The board: open orders by column.
    columns: Vec<(WorkOrderState, Vec<WorkOrder>)>,
    /// The closed list (`?state=closed`).
    closed: Vec<WorkOrder>,
    open_total: i64,
    closed_total: i64,
    error: Option<String>,
    /// Why the last bulk change was refused, one order a line.
    problems: Vec<String>,
    can_work: bool,
    can_verify: bool,
}

impl VulnView for BoardPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl Paged for BoardPage {
    fn offset(&self) -> i64 {
        self.f.offset.unwrap_or(0).max(0)
    }
    fn total(&self) -> i64 {
        self.closed_total
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

impl BoardPage {
    fn actions(&self) -> &'static [WorkOrderAction] {
        &WorkOrderAction::ALL
    }
    fn action(&self, a: &WorkOrderAction) -> &'static str {
        self.l.t.get(&format!("wo.action.{}", a.as_str()))
    }
    fn resolution(&self, o: &WorkOrder) -> &'static str {
        match o.resolution {
            Some(r) => self.l.t.get(&format!("wo.resolution.{}", r.as_str())),
            None => "",
        }
    }
}

async fn board(
    state: &AppState,
    l: Layout,
    f: BoardForm,
    problems: Vec<String>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let mut columns: Vec<(WorkOrderState, Vec<WorkOrder>)> =
        COLUMNS.iter().map(|s| (*s, vec![])).collect();
    let (mut closed, mut open_total, mut closed_total, mut error) = (vec![], 0, 0, None);
    let queries = f.query("open", BOARD_LIMIT).and_then(|open| {
        let closed_q = f.query("closed", if f.closed() { PAGE_SIZE } else { 1 })?;
        Ok((open, closed_q))
    });
    let checked = queries.and_then(|(o, c)| {
        let err = |e: ApiError| e.detail;
        Ok((
            o.filter().map_err(err)?,
            o.page().map_err(err)?,
            c.filter().map_err(err)?,
            c.page().map_err(err)?,
        ))
    });
    match checked {
        Ok((open_filter, open_page, closed_filter, closed_page)) => {
            let (open, n) = if f.closed() {
                // The closed list only counts the open ones.
                let page = yunshou_store::Page {
                    limit: 1,
                    offset: 0,
                };
                state.store.work_orders(&scope, &open_filter, page).await?
            } else {
                state
                    .store
                    .work_orders(&scope, &open_filter, open_page)
                    .await?
            };
            open_total = n;
            if !f.closed() {
                for o in open {
                    if let Some(col) = columns.iter_mut().find(|(s, _)| *s == o.state) {
                        col.1.push(o);
                    }
                }
            }
            let (c, n) = state
                .store
                .work_orders(&scope, &closed_filter, closed_page)
                .await?;
            closed_total = n;
            if f.closed() {
                closed = c;
            }
        }
        Err(e) => error = Some(e),
    }
    let can_work = l.p.can(Permission::WorkOrdersWork);
    let can_verify = l.p.can(Permission::WorkOrdersVerify);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        BoardPage {
            l,
            f,
            columns,
            closed,
            open_total,
            closed_total,
            error,
            problems,
            can_work,
            can_verify,
        }
        .render()?,
    ))
}

/// `GET /work-orders`: the board of open orders; `?state=closed` lists the closed ones.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<BoardForm>,
) -> Result<Response, ConsoleError> {
    board(&state, l, f, vec![]).await
}

/// A bulk change as posted: every `ids` checked on the board, the action, note and assignee,
/// and the board's query string to return to.
#[derive(Debug, Default)]
struct BulkForm {
    ids: Vec<String>,
    change: WorkOrderChange,
    back: BoardForm,
}

impl BulkForm {
    /// Reads the posted fields (`ids` repeats, which a struct form cannot express).
    fn parse(fields: &[(String, String)]) -> Result<BulkForm, String> {
        let mut out = BulkForm::default();
        for (k, v) in fields {
            let v = v.trim();
            match k.as_str() {
                "ids" => out.ids.push(v.to_string()),
                "action" if !v.is_empty() => {
                    out.change.action =
                        Some(WorkOrderAction::parse(v).ok_or_else(|| format!("action: {v}?"))?)
                }
                "note" if !v.is_empty() => out.change.note = Some(v.to_string()),
                // Empty leaves the assignee as it is: bulk unassigning is not offered.
                "assignee" if !v.is_empty() => out.change.assignee = Some(v.to_string()),
                "back" => out.back = serde_urlencoded::from_str(v).unwrap_or_default(),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// `POST /work-orders/bulk`: one change to every checked order, all or none; on refusal the
/// board comes back with every order's reason.
pub async fn bulk(
    State(state): State<AppState>,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let form = match BulkForm::parse(&f.form) {
        Ok(form) => form,
        Err(e) => return board(&state, f.layout, BoardForm::default(), vec![e]).await,
    };
    match change_orders(&state, &f.layout.p, &form.ids, &form.change).await {
        Ok(done_) => {
            let text = format!("{} {}", f.layout.t.get("wo.bulk_done"), done_.len());
            Ok(done(&form.back.link(), &text))
        }
        Err(e) if e.status != StatusCode::FORBIDDEN && e.status.is_client_error() => {
            let mut problems = vec![];
            for line in e.detail.lines() {
                problems.push(with_label(&state, &f.layout, line).await);
            }
            board(&state, f.layout, form.back, problems).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A refusal line `ID: why` with the order's label (`WO-000042`) in place of its id, which
/// means nothing on the board.
async fn with_label(state: &AppState, l: &Layout, line: &str) -> String {
    let Some((id, why)) = line.split_once(": ") else {
        return line.to_string();
    };
    let Ok(scope) = l.p.require(Permission::FindingsRead) else {
        return line.to_string();
    };
    if !yunshou_model::ids::is_valid_id(id) {
        return line.to_string();
    }
    match state.store.work_order(scope, id).await {
        Ok(d) => format!("{} {}: {why}", d.order.label, d.order.title),
        Err(_) => line.to_string(),
    }
}

#[derive(Template)]
#[template(path = "work_order.html")]
struct OrderPage {
    l: Layout,
    d: WorkOrderDetail,
    /// (action, needs a note) for every step the state and the user's permissions allow.
    actions: Vec<(WorkOrderAction, bool)>,
    can_work: bool,
    can_verify: bool,
}

impl VulnView for OrderPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl OrderPage {
    fn action(&self, a: &WorkOrderAction) -> &'static str {
        self.l.t.get(&format!("wo.action.{}", a.as_str()))
    }
    /// A history entry's action: an action's label, or the stored name.
    fn history_action(&self, a: &str) -> String {
        match a {
            "raise"
            | "assign"
            | "comment"
            | "attach"
            | "escalate"
            | "retest_pass_by_import"
            | "not_seen_by_import" => self.l.t.get(&format!("wo.event.{a}")).to_string(),
            _ => match WorkOrderAction::parse(a) {
                Some(x) => self.action(&x).to_string(),
                None => a.to_string(),
            },
        }
    }
    /// A stored state name's label.
    fn state_name(&self, s: &Option<String>) -> String {
        match s.as_deref().and_then(WorkOrderState::parse) {
            Some(s) => self.wo_state(&s).to_string(),
            None => s.clone().unwrap_or_default(),
        }
    }
    fn resolution(&self) -> &'static str {
        match self.d.order.resolution {
            Some(r) => self.l.t.get(&format!("wo.resolution.{}", r.as_str())),
            None => "",
        }
    }
    fn size(&self, n: &i64) -> String {
        match *n {
            n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
            n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
            n => format!("{n} B"),
        }
    }
}

/// The steps open to a user on an order in `state`: those the state machine accepts and
/// the user's permission allows (verdicts need `WorkOrdersVerify`, the rest
/// `WorkOrdersWork`), each with whether it needs a note.
fn allowed_actions(
    state: WorkOrderState,
    can_work: bool,
    can_verify: bool,
) -> Vec<(WorkOrderAction, bool)> {
    WorkOrderAction::ALL
        .into_iter()
        .filter(|a| a.apply(state).is_ok())
        .filter(|a| if a.is_verdict() { can_verify } else { can_work })
        .map(|a| (a, a.needs_note()))
        .collect()
}

/// `GET /work-orders/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let d = state.store.work_order(&scope, &id).await?;
    let can_work = l.p.can(Permission::WorkOrdersWork);
    let can_verify = l.p.can(Permission::WorkOrdersVerify);
    let actions = allowed_actions(d.order.state, can_work, can_verify);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        OrderPage {
            l,
            d,
            actions,
            can_work,
            can_verify,
        }
        .render()?,
    ))
}

/// `change_orders` for the order on the page: its refusal without the id, which the page
/// does not need.
async fn change_one(
    state: &AppState,
    l: &Layout,
    id: &str,
    change: &WorkOrderChange,
) -> Result<(), ApiError> {
    let ids = [id.to_string()];
    change_orders(state, &l.p, &ids, change)
        .await
        .map(|_| ())
        .map_err(|mut e| {
            if let Some(rest) = e.detail.strip_prefix(&format!("{id}: ")) {
                e.detail = rest.to_string();
            }
            e
        })
}

#[derive(Deserialize)]
pub struct ActionForm {
    action: String,
    #[serde(default)]
    note: String,
}

/// `POST /work-orders/{id}/action`: one step (with its note).
pub async fn act(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<ActionForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/work-orders/{id}");
    let action = WorkOrderAction::parse(&f.form.action)
        .ok_or_else(|| ConsoleError::Back(back.clone(), format!("action: {}?", f.form.action)))?;
    let change = WorkOrderChange {
        action: Some(action),
        note: Some(f.form.note.clone()),
        assignee: None,
    };
    change_one(&state, &f.layout, &id, &change)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("wo.changed")))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
}

/// `POST /work-orders/{id}/assign` (empty: unassigned).
pub async fn assign(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<AssignForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/work-orders/{id}");
    let change = WorkOrderChange {
        action: None,
        note: None,
        assignee: Some(f.form.assignee.trim().to_string()),
    };
    change_one(&state, &f.layout, &id, &change)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("wo.assigned")))
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
}

/// `POST /work-orders/{id}/comments`.
pub async fn comment(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<CommentForm>,
) -> Result<Response, ConsoleError> {
    // The permission of `POST /api/v1/work-orders/{id}/comments`.
    let scope = f.layout.p.require(Permission::WorkOrdersWork)?;
    let back = format!("/work-orders/{id}");
    state
        .store
        .comment_work_order(scope, &id, &f.form.body, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("wo.commented")))
}

fn bad(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::Page(StatusCode::BAD_REQUEST, detail.into())
}

/// `POST /work-orders/{id}/attachments` (multipart: `_csrf` first, then `file`).
pub async fn attach(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    // The permission of `POST /api/v1/work-orders/{id}/attachments`.
    let scope = l.p.require(Permission::WorkOrdersWork)?.clone();
    let back = format!("/work-orders/{id}");
    let (mut csrf_ok, mut file) = (false, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("form: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        // The token comes before anything else is read.
        if !csrf_ok && name != "_csrf" {
            break;
        }
        match name.as_str() {
            "_csrf" => {
                let sent = field.text().await.map_err(|e| bad(format!("form: {e}")))?;
                csrf_ok = !l.csrf().is_empty() && sent == l.csrf();
                if !csrf_ok {
                    break;
                }
            }
            "file" => {
                let file_name = field.file_name().unwrap_or("").to_string();
                let content_type = field.content_type().unwrap_or("").to_string();
                let data = field.bytes().await.map_err(|e| {
                    ConsoleError::Page(StatusCode::PAYLOAD_TOO_LARGE, format!("file: {e}"))
                })?;
                file = Some((file_name, content_type, data));
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(ConsoleError::csrf_refused());
    }
    let Some((name, content_type, data)) = file else {
        return Err(ConsoleError::Back(back, "file: choose a file".into()));
    };
    state
        .store
        .attach_to_work_order(&scope, &id, &name, &content_type, &data, &l.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, l.t.get("wo.attached")))
}

/// `GET /work-orders/{id}/attachments/{attachment}`: the file, as a download.
pub async fn attachment(
    State(state): State<AppState>,
    Console(l): Console,
    Path((id, att)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    Ok(attachment_response(&state, &l.p, &id, &att).await?)
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
    fn bulk_reads_every_checked_order() {
        let f = BulkForm::parse(&pairs(&[
            ("_csrf", "x"),
            ("ids", "a"),
            ("ids", "b"),
            ("action", "accept"),
            ("note", " "),
            ("assignee", ""),
            ("back", "assignee=%E5%BC%A0%E4%BC%9F&overdue=1"),
        ]))
        .unwrap();
        assert_eq!(f.ids, vec!["a", "b"]);
        assert_eq!(f.change.action, Some(WorkOrderAction::Accept));
        assert!(f.change.note.is_none() && f.change.assignee.is_none());
        assert_eq!(f.back.assignee, "张伟");
        assert_eq!(
            f.back.link(),
            "/work-orders?assignee=%E5%BC%A0%E4%BC%9F&overdue=1"
        );
        assert!(BulkForm::parse(&pairs(&[("action", "close")])).is_err());
    }

    #[test]
    fn only_the_steps_the_state_and_role_allow() {
        let names = |v: Vec<(WorkOrderAction, bool)>| {
            v.into_iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(
            names(allowed_actions(WorkOrderState::Notified, true, true)),
            ["accept", "accept_risk", "mark_false_positive"]
        );
        assert_eq!(
            names(allowed_actions(WorkOrderState::Notified, true, false)),
            ["accept"]
        );
        assert_eq!(
            names(allowed_actions(WorkOrderState::Retest, true, true)),
            [
                "retest_pass",
                "retest_fail",
                "accept_risk",
                "mark_false_positive"
            ]
        );
        assert!(allowed_actions(WorkOrderState::Retest, true, false).is_empty());
        assert_eq!(
            names(allowed_actions(WorkOrderState::Closed, true, true)),
            ["reopen"]
        );
        assert!(allowed_actions(WorkOrderState::Fixing, false, false).is_empty());
        let retest = allowed_actions(WorkOrderState::Fixing, true, false);
        assert_eq!(retest, vec![(WorkOrderAction::RequestRetest, true)]);
    }

    #[test]
    fn board_links_keep_filters() {
        let f: BoardForm = serde_urlencoded::from_str("risk_level=4&q=ssh&offset=0").unwrap();
        assert_eq!(f.link(), "/work-orders?risk_level=4&q=ssh");
        assert_eq!(
            f.switched(true),
            "/work-orders?state=closed&risk_level=4&q=ssh"
        );
        let q = f.query("open", 1000).unwrap();
        assert!(q.filter().is_ok());
        assert_eq!(q.overdue, None);
        let late: BoardForm = serde_urlencoded::from_str("overdue=1").unwrap();
        assert_eq!(late.query("open", 1).unwrap().overdue, Some(true));
        assert_eq!(late.query("closed", 1).unwrap().overdue, None);
        assert_eq!(late.switched(true), "/work-orders?state=closed");
        assert!(BoardForm {
            risk_level: "x".into(),
            ..Default::default()
        }
        .query("open", 1)
        .is_err());
    }
}
