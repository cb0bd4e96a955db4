//! The yunshou server: the REST API, the web console, and the HTTP plumbing around them
//! (TLS, security headers, metrics, graceful shutdown).

pub mod api;
pub mod auth;
pub mod console;
pub mod detection;
pub mod error;
pub mod events;
pub mod extract;
pub mod i18n;
pub mod intel;
pub mod notify;
mod observe;
pub mod respond;
pub mod risk_report;
pub mod state;
mod tls;
pub mod vuln_import;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use yunshou_store::Store;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How the server is reached.
#[derive(Debug, Clone)]
pub enum Tls {
    /// Plain HTTP (loopback or behind a TLS-terminating proxy).
    Off,
    /// Certificate and key files (PEM).
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// A self-signed certificate made once and kept in the data directory.
    SelfSigned,
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The SMTP relay work-order notices are mailed through, if any.
    pub smtp: Option<notify::SmtpRelay>,
    /// Data directory (for the self-signed certificate).
    pub data_dir: PathBuf,
    /// TLS mode.
    pub tls: Tls,
    /// Minutes a session may stay unused.
    pub session_idle_minutes: i64,
    /// Syslog listeners: (address, tenant name); TCP and UDP. Off unless given.
    pub syslog_tcp: Vec<(SocketAddr, String)>,
    /// Syslog over UDP.
    pub syslog_udp: Vec<(SocketAddr, String)>,
    /// Syslog over TLS (the server's certificate, or the self-signed one).
    pub syslog_tls: Vec<(SocketAddr, String)>,
    /// Log files to follow: (path, tenant name).
    pub tail: Vec<(PathBuf, String)>,
    /// NetFlow v5/v9 and IPFIX collectors over UDP: (address, tenant name).
    pub netflow: Vec<(SocketAddr, String)>,
    /// Sigma rules for streaming detection (yunshou's pack plus these directories).
    pub rules: detection::RuleSources,
    /// Lines to feed the pipeline once at start: (tenant id, lines) — the demo's day of logs.
    pub initial_events: Vec<(String, Vec<String>)>,
}

/// Builds the whole application: API, OpenAPI document, console, health and metrics.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    let api = api_router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { error::ApiError::not_found() });
    Router::new()
        .merge(api)
        .merge(console::router())
        .route("/healthz", get(observe::healthz))
        .route("/metrics", get(observe::metrics))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::security_headers,
        ))
        .with_state(state)
}

/// The shared state for a store.
pub fn state(store: Arc<Store>, secure_cookies: bool, session_idle_minutes: i64) -> AppState {
    AppState {
        store,
        auth_cache: Default::default(),
        metrics: observe::metrics_handle(),
        secure_cookies,
        session_idle_minutes,
        pipeline: None,
        detection: None,
        intel: Default::default(),
        respond: Arc::new(respond::Responder::ephemeral()),
    }
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish (up to 30 s).
/// Prints `listening on <url>` once the socket is bound.
pub async fn serve(store: Arc<Store>, config: ServerConfig) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls_config = match &config.tls {
        Tls::Off => None,
        Tls::Files { cert, key } => Some(tls::from_files(cert, key).await?),
        Tls::SelfSigned => Some(tls::self_signed(&config.data_dir).await?),
    };
    let enricher = Arc::new(events::AssetEnricher::default());
    enricher.refresh(&store).await?;
    let rules = config.rules.clone();
    let book =
        Arc::new(tokio::task::spawn_blocking(move || detection::RuleBook::load(&rules)).await??);
    println!(
        "detection: {} rules, {} correlations loaded; {} documents failed",
        book.engine.stats.rules,
        book.engine.stats.correlations,
        book.errors().len()
    );
    for e in book.errors().iter().take(20) {
        tracing::warn!(file = %e.file.display(), document = e.document, reason = e.reason, "rule not loaded");
    }
    let intel = Arc::new(intel::IntelBook::default());
    intel.rebuild(&store).await?;
    let detector =
        Arc::new(detection::StreamDetector::new(book, intel.clone(), store.clone()).await?);
    // Off the runtime's workers: replaying the log records detections, which blocks on the
    // store.
    let (data_dir, enrich, detect) = (config.data_dir.clone(), enricher.clone(), detector.clone());
    let pipeline = tokio::task::spawn_blocking(move || {
        yunshou_ingest::Pipeline::start(
            &data_dir,
            Arc::new(yunshou_ingest::normalise::Parsers),
            enrich,
            detect,
        )
    })
    .await?
    .context("starting the event pipeline")?;
    tokio::spawn(enricher.refresh_forever(store.clone()));
    tokio::spawn(events::seal_and_retain_forever(
        store.clone(),
        pipeline.clone(),
    ));
    if !config.initial_events.is_empty() {
        tokio::spawn(feed(pipeline.clone(), config.initial_events.clone()));
    }
    for (addr, tenant) in &config.syslog_tcp {
        let id = tenant_id(&store, tenant).await?;
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("syslog tcp: cannot listen on {addr}"))?;
        println!("syslog tcp on {} for tenant {tenant}", l.local_addr()?);
        tokio::spawn(yunshou_ingest::syslog::serve_tcp(l, id, pipeline.clone()));
    }
    if !config.syslog_tls.is_empty() {
        let rustls = match &tls_config {
            Some(c) => c.clone(),
            None => tls::self_signed(&config.data_dir).await?,
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(rustls.get_inner());
        for (addr, tenant) in &config.syslog_tls {
            let id = tenant_id(&store, tenant).await?;
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("syslog tls: cannot listen on {addr}"))?;
            println!("syslog tls on {} for tenant {tenant}", l.local_addr()?);
            tokio::spawn(yunshou_ingest::syslog::serve_tls(
                l,
                acceptor.clone(),
                id,
                pipeline.clone(),
            ));
        }
    }
    for (spec, tenant) in &config.tail {
        let id = tenant_id(&store, tenant).await?;
        let (format, path) = yunshou_ingest::normalise::split_format(spec);
        println!(
            "following {} ({format}) for tenant {tenant}",
            path.display()
        );
        tokio::spawn(yunshou_ingest::files::tail(
            path,
            id,
            format,
            pipeline.clone(),
            config.data_dir.join("tail"),
        ));
    }
    for (addr, tenant) in &config.syslog_udp {
        let id = tenant_id(&store, tenant).await?;
        let sock = tokio::net::UdpSocket::bind(addr)
            .await
            .with_context(|| format!("syslog udp: cannot listen on {addr}"))?;
        println!("syslog udp on {} for tenant {tenant}", sock.local_addr()?);
        tokio::spawn(yunshou_ingest::syslog::serve_udp(
            sock,
            id,
            pipeline.clone(),
        ));
    }
    for (addr, tenant) in &config.netflow {
        let id = tenant_id(&store, tenant).await?;
        let sock = tokio::net::UdpSocket::bind(addr)
            .await
            .with_context(|| format!("netflow: cannot listen on {addr}"))?;
        println!("netflow on {} for tenant {tenant}", sock.local_addr()?);
        tokio::spawn(yunshou_ingest::netflow::serve_netflow(
            sock,
            id,
            pipeline.clone(),
        ));
    }
    let mut state = state(
        store.clone(),
        tls_config.is_some(),
        config.session_idle_minutes,
    );
    state.pipeline = Some(pipeline);
    state.detection = Some(detector);
    state.intel = intel;
    state.respond = Arc::new(respond::Responder::load(
        &config.data_dir,
        config
            .smtp
            .as_ref()
            .map(|s| format!("{}:{}", s.host, s.port)),
        config
            .smtp
            .as_ref()
            .map(|s| s.from.clone())
            .unwrap_or_else(|| "yunshou@localhost".into()),
    )?);
    tokio::spawn(respond::runner::trigger_round(state.clone()));
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();

    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let scheme = if tls_config.is_some() {
        "https"
    } else {
        "http"
    };
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, scheme, "listening");

    let handle = axum_server::Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    tokio::spawn(expire_sessions(store.clone(), config.session_idle_minutes));
    tokio::spawn(notify::deliver_forever(store.clone(), config.smtp.clone()));
    tokio::spawn(escalate_overdue(store.clone()));
    match tls_config {
        None => {
            axum_server::from_tcp(listener)
                .handle(handle)
                .serve(app)
                .await?
        }
        Some(tls) => {
            axum_server::from_tcp_rustls(listener, tls)
                .handle(handle)
                .serve(app)
                .await?
        }
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Feeds lines through the pipeline like any source (the demo's day of logs).
async fn feed(pipeline: yunshou_ingest::Pipeline, events: Vec<(String, Vec<String>)>) {
    for (tenant, lines) in events {
        for chunk in lines.chunks(500) {
            let now = chrono::Utc::now().timestamp_micros();
            let batch = chunk
                .iter()
                .map(|line| yunshou_ingest::RawRecord {
                    tenant: tenant.clone(),
                    source: "demo".into(),
                    format: "auto".into(),
                    peer: None,
                    received_us: now,
                    line: line.clone(),
                })
                .collect();
            if let Err(e) = pipeline.submit_waiting(batch).await {
                tracing::warn!(error = %e, "feeding the demo's events failed");
                return;
            }
        }
    }
}

async fn tenant_id(store: &Store, name: &str) -> anyhow::Result<String> {
    let (tenant, _) = store
        .operator_scope(name)
        .await
        .with_context(|| format!("syslog: no tenant named `{name}`"))?;
    Ok(tenant.id)
}

async fn shutdown_on_signal(handle: axum_server::Handle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
    handle.graceful_shutdown(Some(Duration::from_secs(30)));
}

async fn expire_sessions(store: Arc<Store>, idle_minutes: i64) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        let cutoff =
            yunshou_store::time_text(chrono::Utc::now() - chrono::Duration::minutes(idle_minutes));
        if let Err(e) = store.expire_idle_sessions(&cutoff).await {
            tracing::warn!(error = %e, "expiring idle sessions failed");
        }
    }
}

/// Escalates overdue work orders once a minute (I.3.c): each is escalated once, with a
/// history entry and a notice to the tenant's webhook and mail recipients.
async fn escalate_overdue(store: Arc<Store>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match store.escalate_overdue_work_orders().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "escalated overdue work orders"),
            Err(e) => tracing::warn!(error = %e, "escalating overdue work orders failed"),
        }
    }
}
