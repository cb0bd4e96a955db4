//! Sign-in, sign-out, language and tenant switching.

use super::{done, lang_of, ConsoleError, ConsoleForm, LANG_COOKIE};
use crate::api::identity::{sign_in, LoginRefusal};
use crate::auth::{self, SESSION_COOKIE};
use crate::i18n::I18n;
use crate::state::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use yunshou_store::SessionKind;

const LOGIN_CSRF_COOKIE: &str = "ys_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: I18n,
    csrf: String,
    error: Option<String>,
    username: String,
}

fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are hex or fixed")
}

fn render_login(
    state: &AppState,
    t: I18n,
    status: StatusCode,
    error: Option<String>,
    username: String,
) -> Response {
    let csrf = yunshou_store::crypto::random_hex(16);
    let html = LoginPage {
        t,
        csrf: csrf.clone(),
        error,
        username,
    }
    .render()
    .unwrap_or_default();
    let mut r = (status, Html(html)).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, LOGIN_CSRF_COOKIE, &csrf, "/login", Some(1800)),
    );
    r
}

/// `GET /login`.
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    render_login(
        &state,
        I18n {
            lang: lang_of(&headers),
        },
        StatusCode::OK,
        None,
        String::new(),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ConsoleError> {
    let t = I18n {
        lang: lang_of(&headers),
    };
    let Ok(axum::Form(form)) = form else {
        return Ok(render_login(
            &state,
            t,
            StatusCode::BAD_REQUEST,
            Some(t.get("login.bad").into()),
            String::new(),
        ));
    };
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE);
    if expected.is_none() || expected != Some(form.csrf.as_str()) {
        return Ok(render_login(
            &state,
            t,
            StatusCode::FORBIDDEN,
            Some(t.get("login.csrf").into()),
            form.username,
        ));
    }
    let ip = addr.ip().to_string();
    let outcome = sign_in(
        &state.store,
        form.username.trim(),
        &form.password,
        SessionKind::Console,
        Some(&ip),
    )
    .await?;
    match outcome {
        Ok((session, _, _)) => {
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(&state, SESSION_COOKIE, &session.secret, "/", None),
            );
            r.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(&state, LOGIN_CSRF_COOKIE, "", "/login", Some(0)),
            );
            Ok(r)
        }
        Err(refusal) => {
            let (status, message) = match refusal {
                LoginRefusal::BadCredentials { locked_now: false } => {
                    (StatusCode::UNAUTHORIZED, t.get("login.bad").to_string())
                }
                LoginRefusal::BadCredentials { locked_now: true } => {
                    (StatusCode::LOCKED, t.get("login.locked_now").to_string())
                }
                LoginRefusal::Locked(minutes) => (
                    StatusCode::LOCKED,
                    format!("{} {minutes}", t.get("login.locked")),
                ),
            };
            Ok(render_login(
                &state,
                t,
                status,
                Some(message),
                form.username,
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    if let Some(session) = f.layout.p.session() {
        state.store.logout(session, &f.layout.p.actor()).await?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, SESSION_COOKIE, "", "/", Some(0)),
    );
    Ok(r)
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /lang/{zh|en}?next=/path`: remembers the language and goes back.
pub async fn set_lang(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let code = if code == "en" { "en" } else { "zh" };
    // Only local paths: never redirect elsewhere.
    let next = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let mut r = Redirect::to(&next).into_response();
    let mut c = format!("{LANG_COOKIE}={code}; Path=/; Max-Age=31536000; SameSite=Strict");
    if state.secure_cookies {
        c.push_str("; Secure");
    }
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&c).expect("fixed cookie"),
    );
    r
}

#[derive(Deserialize)]
pub struct SwitchForm {
    tenant: String,
}

/// `POST /switch-tenant`: the session acts in another granted tenant from now on.
pub async fn switch_tenant(
    State(state): State<AppState>,
    f: ConsoleForm<SwitchForm>,
) -> Result<Response, ConsoleError> {
    let p = &f.layout.p;
    let access = state
        .store
        .access(&p.user.id, &f.form.tenant)
        .await?
        .ok_or_else(|| ConsoleError::Page(StatusCode::NOT_FOUND, "tenant".into()))?;
    let session = p.session().ok_or(ConsoleError::Login)?;
    state
        .store
        .switch_session_tenant(session, &access, &p.actor())
        .await?;
    Ok(done(
        "/",
        &format!(
            "{} {}",
            f.layout.t.get("nav.tenant"),
            access.tenant.display_name
        ),
    ))
}
