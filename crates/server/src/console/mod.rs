//! The web console: server-rendered HTML (askama escapes every value), no inline script,
//! navigation by the spec's stages. Forms post back with a CSRF token and redirect
//! (post/redirect/get), carrying a one-shot message in a short-lived cookie.

mod admin;
mod alerts;
mod asset_control;
mod assets;
mod audit;
mod dashboard;
mod events;
mod finding;
mod findings;
mod incident;
mod incident_evidence;
mod incidents;
mod intel;
mod plans;
mod playbooks;
mod response_metrics;
mod risk;
mod rule_sets;
mod rules;
mod session;
mod sla;
pub mod svg;
mod vuln_settings;
mod work_orders;

use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::error::ApiError;
use crate::i18n::{I18n, Lang};
use crate::state::AppState;
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use yunshou_model::{Permission, Role, Tenant};

/// Paging of a filtered list page; the page says how to link to another offset.
pub(crate) trait Paged {
    /// Items skipped.
    fn offset(&self) -> i64;
    /// Items matching.
    fn total(&self) -> i64;
    /// Items per page.
    fn page_size(&self) -> i64;
    /// This list at another offset, with the same filters.
    fn page_link(&self, offset: i64) -> String;
    fn has_prev(&self) -> bool {
        self.offset() > 0
    }
    fn has_next(&self) -> bool {
        self.offset() + self.page_size() < self.total()
    }
    fn prev(&self) -> String {
        self.page_link(self.offset() - self.page_size())
    }
    fn next(&self) -> String {
        self.page_link(self.offset() + self.page_size())
    }
    fn first_shown(&self) -> i64 {
        if self.total() == 0 {
            0
        } else {
            self.offset() + 1
        }
    }
    fn last_shown(&self) -> i64 {
        (self.offset() + self.page_size()).min(self.total())
    }
}

/// Cookie with the console language.
pub const LANG_COOKIE: &str = "ys_lang";
/// Cookie carrying a one-shot message to the next page.
const FLASH_COOKIE: &str = "ys_flash";

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/lang/{code}", get(session::set_lang))
        .route("/switch-tenant", post(session::switch_tenant))
        .route("/users", get(admin::users_page).post(admin::create_user))
        .route("/users/grant-staff", post(admin::grant_staff))
        .route("/users/{id}", get(admin::user_page))
        .route("/users/{id}/roles", post(admin::grant_role))
        .route("/users/{id}/revoke-role", post(admin::revoke_role))
        .route("/users/{id}/unlock", post(admin::unlock))
        .route("/users/{id}/disabled", post(admin::set_disabled))
        .route("/users/{id}/password", post(admin::reset_password))
        .route("/roles", get(admin::roles_page))
        .route("/assets", get(assets::list).post(assets::create))
        .route("/assets/new", get(assets::new_form))
        .route("/assets/exposure", get(assets::exposure))
        .route("/assets/{id}", get(assets::detail).post(assets::update))
        .route("/assets/{id}/edit", get(assets::edit_form))
        .route("/assets/{id}/lifecycle", post(assets::move_lifecycle))
        .route("/assets/{id}/graph", get(asset_control::graph_page))
        .route("/assets/{id}/relations", post(asset_control::add_relation))
        .route(
            "/assets/{id}/relations/{relation_id}/delete",
            post(asset_control::delete_relation),
        )
        .route("/assets/alerts", get(asset_control::alerts_page))
        .route(
            "/assets/alerts/{id}",
            get(asset_control::alert_page).post(asset_control::decide),
        )
        .route(
            "/assets/rules",
            get(asset_control::rules_page).post(asset_control::create_rule),
        )
        .route("/assets/rules/{id}", post(asset_control::change_rule))
        .route("/assets/queries", post(asset_control::save_query))
        .route(
            "/assets/queries/{id}/delete",
            post(asset_control::delete_query),
        )
        .route(
            "/tenants",
            get(admin::tenants_page).post(admin::create_tenant),
        )
        .route("/tokens", get(admin::tokens_page).post(admin::create_token))
        .route("/tokens/revoke", post(admin::revoke_token))
        .route("/account", get(admin::account_page))
        .route("/account/password", post(admin::change_password))
        .route("/events", get(events::search_page))
        .route("/events/export", get(events::export))
        .route("/events/searches", post(events::save_search))
        .route("/events/searches/{id}/delete", post(events::delete_search))
        .route("/alerts", get(alerts::list))
        .route("/alerts/settings", get(alerts::settings))
        .route(
            "/alerts/suppressions/{id}/end",
            post(alerts::end_suppression),
        )
        .route("/alerts/webhooks", post(alerts::add_webhook))
        .route("/alerts/webhooks/{id}/delete", post(alerts::delete_webhook))
        .route("/alerts/{id}", get(alerts::detail))
        .route("/alerts/{id}/status", post(alerts::set_status))
        .route("/alerts/{id}/assign", post(alerts::assign))
        .route("/alerts/{id}/comments", post(alerts::comment))
        .route("/alerts/{id}/suppress", post(alerts::suppress))
        .route("/rules", get(rules::list))
        .route(
            "/rules/sets",
            get(rule_sets::list).post(rule_sets::upload).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::api::rule_sets::SET_BODY_LIMIT + 1024 * 1024,
                ),
            ),
        )
        .route("/rules/sets/{id}/delete", post(rule_sets::delete))
        .route("/rules/{id}", get(rules::detail))
        .route("/rules/{id}/test", post(rules::test))
        .route("/rules/{id}/enabled", post(rules::switch))
        .route(
            "/intel",
            get(intel::list)
                .post(intel::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::api::intel::FEED_BODY_LIMIT,
                )),
        )
        .route("/intel/{id}/delete", post(intel::delete))
        .route("/findings", get(findings::list))
        .route(
            "/findings/import",
            post(findings::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::findings::REPORT_BODY_LIMIT + 1024 * 1024,
            )),
        )
        .route(
            "/findings/settings",
            get(vuln_settings::show).post(vuln_settings::save),
        )
        .route("/findings/{id}", get(finding::detail))
        .route("/work-orders", get(work_orders::list))
        .route("/work-orders/bulk", post(work_orders::bulk))
        .route("/work-orders/sla", get(sla::show))
        .route("/work-orders/{id}", get(work_orders::detail))
        .route("/work-orders/{id}/action", post(work_orders::act))
        .route("/work-orders/{id}/assign", post(work_orders::assign))
        .route("/work-orders/{id}/comments", post(work_orders::comment))
        .route(
            "/work-orders/{id}/attachments",
            post(work_orders::attach).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::work_orders::ATTACHMENT_BODY_LIMIT + 64 * 1024,
            )),
        )
        .route(
            "/work-orders/{id}/attachments/{attachment}",
            get(work_orders::attachment),
        )
        .route("/incidents", get(incidents::list))
        .route(
            "/incidents/new",
            get(incidents::new_form).post(incidents::create),
        )
        .route("/incidents/from-alerts", post(incidents::from_alerts))
        .route("/incidents/{id}", get(incident::detail))
        .route("/incidents/{id}/records", post(incidents::records))
        .route("/incidents/{id}/owner", post(incidents::owner))
        .route("/incidents/{id}/phase", post(incidents::move_phase))
        .route("/incidents/{id}/close", post(incidents::close))
        .route("/incidents/{id}/archive", post(incident::archive))
        .route("/incidents/{id}/tasks", post(incident::add_task))
        .route("/incidents/{id}/tasks/{task}", post(incident::task_done))
        .route("/incidents/{id}/links", post(incident::add_link))
        .route(
            "/incidents/{id}/observables",
            post(incident::add_observable),
        )
        .route(
            "/incidents/{id}/notices/{notice}",
            post(incident::notice_reported),
        )
        .route(
            "/incidents/{id}/improvements",
            post(incident::add_improvement),
        )
        .route(
            "/incidents/{id}/improvements/{item}/close",
            post(incident::close_improvement),
        )
        .route("/incidents/{id}/runs", post(incident::start_run))
        .route("/incidents/{id}/runs/{run}/decide", post(incident::decide))
        .route(
            "/incidents/{id}/evidence",
            post(incident_evidence::upload_evidence).layer(axum::extract::DefaultBodyLimit::max(
                incident_evidence::EVIDENCE_FORM_LIMIT,
            )),
        )
        .route(
            "/incidents/{id}/evidence/search",
            post(incident_evidence::capture_search),
        )
        .route(
            "/incidents/{id}/evidence/transfer",
            post(incident_evidence::record_transfer),
        )
        .route("/threats", get(risk::threats).post(risk::save_threat))
        .route("/threats/refresh", post(risk::refresh_threats))
        .route("/threats/{id}/delete", post(risk::delete_threat))
        .route("/risks", get(risk::risks).post(risk::save_risk))
        .route("/risks/reassess", post(risk::reassess))
        .route("/risks/report", get(risk::report))
        .route("/plans", get(plans::list).post(plans::from_template))
        .route("/plans/{id}", get(plans::detail).post(plans::save))
        .route("/drills", get(plans::drills).post(plans::schedule))
        .route("/drills/{id}", get(plans::drill))
        .route("/drills/{id}/record", post(plans::record))
        .route("/drills/{id}/items", post(plans::add_item))
        .route("/drills/{id}/items/{item}/close", post(plans::close_item))
        .route("/playbooks", get(playbooks::list).post(playbooks::save))
        .route("/playbooks/{id}", get(playbooks::detail))
        .route("/playbooks/{id}/enabled", post(playbooks::set_enabled))
        .route("/playbooks/{id}/run", post(playbooks::run))
        .route("/playbook-runs/{id}", get(playbooks::run_page))
        .route("/playbook-runs/{id}/decide", post(playbooks::decide))
        .route("/incidents/metrics", get(response_metrics::metrics))
        .route(
            "/response/settings",
            get(response_metrics::settings).post(response_metrics::save_settings),
        )
        .route("/audit", get(audit::page_route))
        .route("/audit/export", get(audit::export))
        .route(
            "/static/app.css",
            get(|| static_file("text/css", include_str!("../../static/app.css"))),
        )
        .route(
            "/static/app.js",
            get(|| static_file("text/javascript", include_str!("../../static/app.js"))),
        )
        .route(
            "/static/logo.svg",
            get(|| static_file("image/svg+xml", include_str!("../../static/logo.svg"))),
        )
        .layer(axum::middleware::from_fn(render_errors))
}

async fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The language of a request.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_code(auth::cookie(headers, LANG_COOKIE))
}

/// A failed console request.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in: go to the sign-in page.
    Login,
    /// Show an error page with this status and detail.
    Page(StatusCode, String),
    /// Send the user back to `back` with the message shown there.
    Back(String, String),
}

impl ConsoleError {
    /// A form whose CSRF token is missing or not the session's.
    pub fn csrf_refused() -> ConsoleError {
        ConsoleError::Page(
            StatusCode::FORBIDDEN,
            "CSRF token missing or wrong; reload the page".into(),
        )
    }

    /// Maps an API error to a redirect back to the form at `back` (for 400 and 409), or to
    /// an error page.
    pub fn back<E: Into<ApiError>>(back: &str) -> impl Fn(E) -> ConsoleError + '_ {
        move |e| {
            let e: ApiError = e.into();
            match e.status {
                StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {
                    ConsoleError::Back(back.to_string(), e.detail)
                }
                _ => e.into(),
            }
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> ConsoleError {
        if e.status == StatusCode::UNAUTHORIZED {
            ConsoleError::Login
        } else {
            ConsoleError::Page(e.status, e.detail)
        }
    }
}

impl From<yunshou_store::Error> for ConsoleError {
    fn from(e: yunshou_store::Error) -> ConsoleError {
        ApiError::from(e).into()
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> ConsoleError {
        ApiError::internal(e).into()
    }
}

/// Marks a response for [`render_errors`], which knows the request's language.
#[derive(Clone)]
struct ErrorMark(StatusCode, String);

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::Login => Redirect::to("/login").into_response(),
            ConsoleError::Back(to, detail) => {
                let mut r = Redirect::to(&to).into_response();
                set_flash(
                    r.headers_mut(),
                    &Flash {
                        ok: false,
                        text: detail,
                    },
                );
                r
            }
            ConsoleError::Page(status, detail) => {
                let mut r = status.into_response();
                r.extensions_mut().insert(ErrorMark(status, detail));
                r
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: I18n,
    message: &'static str,
    detail: String,
}

async fn render_errors(req: Request, next: Next) -> Response {
    let t = I18n {
        lang: lang_of(req.headers()),
    };
    let response = next.run(req).await;
    let Some(ErrorMark(status, detail)) = response.extensions().get::<ErrorMark>().cloned() else {
        return response;
    };
    let message = match status {
        StatusCode::FORBIDDEN => t.get("error.forbidden"),
        StatusCode::NOT_FOUND => t.get("error.not_found"),
        s if s.is_client_error() => t.get("error.invalid"),
        _ => t.get("error.internal"),
    };
    match (ErrorPage { t, message, detail }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

/// A one-shot message for the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// Success (green) or problem (red).
    pub ok: bool,
    /// The text.
    pub text: String,
}

fn set_flash(headers: &mut HeaderMap, flash: &Flash) {
    let value = format!("{}{}", if flash.ok { "ok:" } else { "err:" }, flash.text);
    let encoded: String = url_encode(&value);
    let cookie = format!("{FLASH_COOKIE}={encoded}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = auth::cookie(headers, FLASH_COOKIE)?;
    let decoded: String = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("f={raw}"))
        .ok()?
        .into_iter()
        .next()?
        .1;
    let (ok, text) = match decoded.split_once(':') {
        Some(("ok", t)) => (true, t),
        Some(("err", t)) => (false, t),
        _ => return None,
    };
    Some(Flash {
        ok,
        text: text.chars().take(500).collect(),
    })
}

/// Redirects to `to` with a success message.
pub fn done(to: &str, text: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    set_flash(
        r.headers_mut(),
        &Flash {
            ok: true,
            text: text.to_string(),
        },
    );
    r
}

/// Everything the page layout needs.
pub struct Layout {
    /// Texts.
    pub t: I18n,
    /// The signed-in user.
    pub p: Arc<Principal>,
    /// Tenants for the switcher.
    pub tenants: Vec<(Tenant, Vec<Role>)>,
    /// The current path (for the language switch and the active menu item).
    pub path: String,
    /// A message from the previous request.
    pub flash: Option<Flash>,
}

impl Layout {
    /// True when the user may use `permission` here (to show menu items).
    pub fn can(&self, permission: &str) -> bool {
        let p = match permission {
            "users" => Permission::UsersRead,
            "users_manage" => Permission::UsersManage,
            "audit" => Permission::AuditRead,
            "audit_export" => Permission::AuditExport,
            "tenants_manage" => Permission::TenantsManage,
            "assets" => Permission::AssetsRead,
            "assets_write" => Permission::AssetsWrite,
            "events" => Permission::EventsRead,
            _ => Permission::DashboardRead,
        };
        self.p.can(p)
    }

    /// The CSRF token forms must carry.
    pub fn csrf(&self) -> &str {
        self.p
            .session()
            .map(|s| s.csrf_token.as_str())
            .unwrap_or("")
    }

    /// True when the menu item at `prefix` is the current page.
    pub fn active(&self, prefix: &str) -> bool {
        if prefix == "/" {
            self.path == "/"
        } else {
            self.path.starts_with(prefix)
        }
    }

    /// Roles as labels.
    pub fn roles(&self, roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| self.t.role(r))
            .collect::<Vec<_>>()
            .join("、")
    }

    /// A stored time that is always there, shortened for tables.
    pub fn at(&self, t: &str) -> String {
        short_time(t)
    }

    /// A stored time, shortened for tables: `2026-11-24 23:39:29`.
    pub fn when(&self, t: &Option<String>) -> String {
        match t {
            Some(t) => short_time(t),
            None => self.t.get("common.never").to_string(),
        }
    }
}

/// `2026-11-24T23:39:29.123456Z` → `2026-11-24 23:39:29`.
pub fn short_time(t: &str) -> String {
    t.get(..19).unwrap_or(t).replace('T', " ")
}

/// Renders a page, clearing the one-shot message it displayed.
pub fn page(layout_had_flash: bool, html: String) -> Response {
    let mut r = Html(html).into_response();
    if layout_had_flash {
        r.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("ys_flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
        );
    }
    r
}

/// The signed-in console user (cookie only), or a redirect to the sign-in page.
pub struct Console(pub Layout);

impl FromRequestParts<AppState> for Console {
    type Rejection = ConsoleError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Console(layout(parts, state).await?))
    }
}

async fn layout(parts: &mut Parts, state: &AppState) -> Result<Layout, ConsoleError> {
    if auth::cookie(&parts.headers, SESSION_COOKIE).is_none() {
        return Err(ConsoleError::Login);
    }
    // The console's tenant comes from the session, never from a header.
    parts.headers.remove(auth::TENANT_HEADER);
    parts.headers.remove(header::AUTHORIZATION);
    let p = auth::resolve(state, parts)
        .await
        .map_err(|_| ConsoleError::Login)?;
    let tenants = p.tenants.clone();
    Ok(Layout {
        t: I18n {
            lang: lang_of(&parts.headers),
        },
        p,
        tenants,
        path: parts.uri.path().to_string(),
        flash: read_flash(&parts.headers),
    })
}

/// A console form submission: the signed-in user and the form, after the CSRF token in
/// `_csrf` was checked against the session. Every console POST goes through this.
pub struct ConsoleForm<T> {
    /// The page layout (user, texts).
    pub layout: Layout,
    /// The form fields.
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = ConsoleError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let layout = layout(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, crate::BODY_LIMIT)
            .await
            .map_err(|_| {
                ConsoleError::Page(StatusCode::PAYLOAD_TOO_LARGE, "form too large".into())
            })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ConsoleError::Page(StatusCode::BAD_REQUEST, format!("form: {e}")))?;
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str());
        if sent.is_none() || sent != Some(layout.csrf()) || layout.csrf().is_empty() {
            return Err(ConsoleError::csrf_refused());
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ConsoleError::Page(StatusCode::BAD_REQUEST, format!("form: {e}")))?;
        Ok(ConsoleForm { layout, form })
    }
}
