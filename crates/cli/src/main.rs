//! `yunshou`: argument parsing and wiring. The work happens in the library crates.

mod config;
mod events;
mod evidence;
mod findings;
mod hunt;
mod import;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use yunshou_model::{Actor, Role, TenantKind};
use yunshou_store::Store;

#[derive(Parser)]
#[command(
    name = "yunshou",
    version,
    about = "云守 yunshou — security operations for government-cloud data centres"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: API, web console, everything on embedded storage.
    Serve(config::ServeArgs),
    /// Seed the demo organisations into the data directory, then serve them.
    Demo {
        #[command(flatten)]
        serve: config::ServeArgs,
        /// Seed and exit without serving.
        #[arg(long)]
        seed_only: bool,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Work with the event store.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Import log files into a tenant's event store, offline (no server on the data directory).
    Ingest(events::IngestArgs),
    /// Send log files to a receiver over TCP, UDP or HTTP (tests, benchmarks).
    Replay(events::ReplayArgs),
    /// Run Sigma rules over event files (EVTX, JSON, JSONL) and print the matches.
    Hunt(hunt::HuntArgs),
    /// Import data from files into a tenant.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Export a tenant's data to files.
    #[command(subcommand)]
    Export(import::ExportCommand),
    /// List and count a tenant's vulnerability findings.
    #[command(subcommand)]
    Findings(findings::FindingsCommand),
    /// Work with evidence packages exported from incidents.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Check every tenant's sealed partitions against their SM3 manifest chain; exits 0 when
    /// intact, 1 naming each changed, removed or added partition or file.
    Verify {
        #[command(flatten)]
        dir: DataDir,
    },
}

#[derive(Args, Clone)]
struct DataDir {
    /// Data directory.
    #[arg(long, env = "YUNSHOU_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Add a customer tenant.
    Add {
        /// Short name: 2–40 of a-z, 0-9, '-'.
        name: String,
        /// Name shown to people (defaults to the short name).
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        dir: DataDir,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        dir: DataDir,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to a tenant with a role; the password is read from standard input.
    Add {
        /// Sign-in name.
        name: String,
        /// The user's home tenant.
        #[arg(long)]
        tenant: String,
        /// Role in that tenant: admin, analyst, responder, asset_owner, auditor, viewer.
        #[arg(long)]
        role: Role,
        /// Name shown to people (defaults to the sign-in name).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Set a user's password (read from standard input). Also unlocks the account.
    Passwd {
        /// Sign-in name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Grant a user a role in a tenant (provider staff working for a customer, for example).
    Grant {
        /// Sign-in name.
        name: String,
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Role.
        #[arg(long)]
        role: Role,
        #[command(flatten)]
        dir: DataDir,
    },
    /// List users, with their roles per tenant.
    List {
        /// Only users holding a role in this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        dir: DataDir,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the SM3 hash chain; exits 0 when intact, 1 naming the first bad row otherwise.
    Verify {
        #[command(flatten)]
        dir: DataDir,
    },
}

/// Transparent huge pages off for this process. The allocator hands freed memory back to
/// the system after a second and takes it again as an import or the ingest churns through
/// batches; with huge pages each of those faults zeroes 2 MiB where a few KiB are touched.
/// A 100,000-finding import spent 7 % of its CPU in the kernel zeroing pages; without huge
/// pages it is 0.1 %, and its peak RSS falls by a quarter.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes a flag of the
    // calling process; it fails harmlessly (EINVAL) on kernels that lack it.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YUNSHOU_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tantivy=warn,evtx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(args, false).await,
        Command::Demo {
            serve: args,
            seed_only,
        } => {
            if seed_only {
                let settings = args.resolve()?;
                open_demo(&settings.data_dir).await?;
                return Ok(ExitCode::SUCCESS);
            }
            serve(args, true).await
        }
        Command::Tenant(c) => tenant(c).await,
        Command::User(c) => user(c).await,
        Command::Audit(AuditCommand::Verify { dir }) => verify(&dir.data_dir).await,
        Command::Events(EventsCommand::Verify { dir }) => verify_events(&dir.data_dir),
        Command::Import(c) => import::import(c).await,
        Command::Ingest(a) => events::ingest(a).await,
        Command::Replay(a) => events::replay(a).await,
        Command::Hunt(a) => hunt::hunt(a),
        Command::Export(c) => import::export(c).await,
        Command::Findings(c) => findings::findings(c).await,
        Command::Evidence(c) => Ok(evidence::evidence(c)),
    }
}

/// Opens the store, creating the provider tenant and `admin` on first start.
async fn open_bootstrapped(
    data_dir: &std::path::Path,
    default_password: Option<&str>,
) -> Result<Arc<Store>> {
    let store = Store::open(data_dir)
        .await
        .with_context(|| format!("opening data directory {}", data_dir.display()))?;
    if let Some((from, to)) = store.audit_recover_anchor().await? {
        eprintln!("warning: audit rows {from}..{to} were not anchored (interrupted write); re-anchored and recorded");
    }
    let env_password = std::env::var("YUNSHOU_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let password = env_password.as_deref().or(default_password);
    if let Some(p) = password {
        yunshou_model::check_password_policy(p)
            .map_err(|e| anyhow::anyhow!("YUNSHOU_ADMIN_PASSWORD: {e}"))?;
    }
    if let Some(generated) = store.bootstrap(password).await? {
        println!("首次启动：已创建租户 default 与管理员 admin。/ First start: created tenant `default` and user `admin`.");
        println!("admin 的初始密码（仅显示这一次）/ initial password for admin (shown once): {generated}");
    }
    Ok(Arc::new(store))
}

/// Opens the data directory with the demo seeded; when it was seeded just now, also returns
/// the demo's day of logs to feed through the pipeline.
async fn open_demo(data_dir: &std::path::Path) -> Result<(Arc<Store>, Vec<(String, Vec<String>)>)> {
    let store = open_bootstrapped(data_dir, Some(yunshou_demo::DEMO_PASSWORD)).await?;
    let summary = yunshou_demo::seed(&store).await?;
    let mut events = vec![];
    if summary.seeded {
        events = yunshou_demo::event_days(&store, chrono::Utc::now()).await?;
        println!(
            "演示数据已写入 / demo data seeded: {} accounts, {} assets",
            summary.users, summary.assets
        );
    }
    println!(
        "演示账号 / demo accounts: admin, chen.jing, jn.admin, jn.analyst, qh.auditor … password: {}",
        yunshou_demo::DEMO_PASSWORD
    );
    Ok((store, events))
}

async fn serve(args: config::ServeArgs, demo: bool) -> Result<ExitCode> {
    let settings = args.resolve()?;
    let mut config = settings.server_config();
    let store = if demo || settings.demo {
        let (store, events) = open_demo(&settings.data_dir).await?;
        if !events.is_empty() {
            tokio::spawn(demo_analysts(store.clone(), settings.data_dir.clone()));
        }
        config.initial_events = events;
        if config.rules.dirs.is_empty() {
            // The demo detects with SigmaHQ's rules too when the fixtures sit beside the clone.
            let sigmahq = std::path::Path::new("../shared/fixtures/sigma/rules");
            if sigmahq.is_dir() {
                config.rules.dirs.push(sigmahq.to_path_buf());
            }
        }
        store
    } else {
        open_bootstrapped(&settings.data_dir, None).await?
    };
    yunshou_server::serve(store, config).await?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's incidents, with the reviewed one archived with its rendered report.
async fn demo_incidents(
    store: &Store,
    data_dir: &std::path::Path,
    tenant: &str,
    responder: &str,
) -> Result<()> {
    let ready = yunshou_demo::respond::incidents(store, tenant, responder).await?;
    let (t, scope) = store.operator_scope(tenant).await?;
    let services =
        yunshou_server::respond::Responder::load(data_dir, None, "yunshou@localhost".into())?;
    let actor = yunshou_model::Actor {
        user_id: None,
        name: responder.to_string(),
        source_ip: None,
    };
    for id in ready {
        yunshou_server::respond::report::archive(
            store,
            &services,
            &scope,
            &t.display_name,
            &id,
            &actor,
        )
        .await?;
    }
    Ok(())
}

/// Once the freshly seeded demo's logs have raised alerts, its analysts work a few of them,
/// and its responders take some into incidents (one reviewed and archived with its report).
async fn demo_analysts(store: Arc<Store>, data_dir: std::path::PathBuf) {
    for (i, (tenant, _)) in yunshou_demo::CUSTOMERS.iter().enumerate() {
        let analyst = if i == 0 { "jn.analyst" } else { "qh.analyst" };
        for _ in 0..120 {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            match yunshou_demo::detection::work_alerts(&store, tenant, analyst).await {
                Ok(0) => continue,
                Ok(_) => {
                    // The threat catalog's frequencies come from these alerts.
                    if let Ok((_, scope)) = store.operator_scope(tenant).await {
                        let actor = yunshou_model::Actor {
                            user_id: None,
                            name: analyst.to_string(),
                            source_ip: None,
                        };
                        if let Err(e) = store.refresh_threats(&scope, &actor).await {
                            tracing::warn!(error = %e, "demo threat refresh");
                        }
                    }
                    let responder = if i == 0 {
                        "jn.responder"
                    } else {
                        "qh.responder"
                    };
                    if let Err(e) = demo_incidents(&store, &data_dir, tenant, responder).await {
                        tracing::warn!(error = %e, "demo incidents");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "demo analysts");
                    break;
                }
            }
        }
    }
}

fn read_password_stdin() -> Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        bail!("--password-stdin: standard input held no password");
    }
    Ok(password)
}

async fn tenant(c: TenantCommand) -> Result<ExitCode> {
    match c {
        TenantCommand::Add {
            name,
            display_name,
            dir,
        } => {
            let store = open_bootstrapped(&dir.data_dir, None).await?;
            let display = display_name.unwrap_or_else(|| name.clone());
            let (_, provider_scope) = store.operator_scope("default").await?;
            let t = store
                .create_tenant(
                    &name,
                    &display,
                    TenantKind::Customer,
                    &Actor::cli(),
                    Some(&provider_scope),
                )
                .await?;
            println!("{}\t{}\t{}", t.id, t.name, t.display_name);
        }
        TenantCommand::List { dir } => {
            let store = open_bootstrapped(&dir.data_dir, None).await?;
            for t in store.all_tenants().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    t.kind.as_str(),
                    t.display_name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn user(c: UserCommand) -> Result<ExitCode> {
    match c {
        UserCommand::Add {
            name,
            tenant,
            role,
            display_name,
            password_stdin: _,
            dir,
        } => {
            let password = read_password_stdin()?;
            let store = open_bootstrapped(&dir.data_dir, None).await?;
            let (_, scope) = store.operator_scope(&tenant).await?;
            let display = display_name.unwrap_or_else(|| name.clone());
            let u = store
                .create_user(&scope, &name, &display, &password, role, &Actor::cli())
                .await?;
            println!("{}\t{}\t{}\t{}", u.user.id, u.user.username, tenant, role);
        }
        UserCommand::Passwd {
            name,
            password_stdin: _,
            dir,
        } => {
            let password = read_password_stdin()?;
            let store = open_bootstrapped(&dir.data_dir, None).await?;
            let u = store
                .user_by_username(&name)
                .await?
                .with_context(|| format!("no user `{name}`"))?;
            let home = store
                .tenant_by_id(&u.home_tenant_id)
                .await?
                .context("user without home tenant")?;
            let (_, scope) = store.operator_scope(&home.name).await?;
            store
                .set_password(&scope, &u.id, &password, &Actor::cli())
                .await?;
            println!("password set for {name}");
        }
        UserCommand::Grant {
            name,
            tenant,
            role,
            dir,
        } => {
            let store = open_bootstrapped(&dir.data_dir, None).await?;
            let u = store
                .user_by_username(&name)
                .await?
                .with_context(|| format!("no user `{name}`"))?;
            let (_, scope) = store.operator_scope(&tenant).await?;
            let after = store
                .grant_role(&scope, &u.id, role, true, &Actor::cli())
                .await?;
            println!(
                "{name} in {tenant}: {}",
                after
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        UserCommand::List { tenant, dir } => {
            let store = open_bootstrapped(&dir.data_dir, None).await?;
            let users = store.all_users().await?;
            let now = yunshou_store::now_text();
            for u in users {
                let grants = store.accessible_tenants(&u.id).await?;
                if let Some(t) = &tenant {
                    if !grants.iter().any(|(g, _)| &g.name == t) {
                        continue;
                    }
                }
                let roles = grants
                    .iter()
                    .map(|(t, rs)| {
                        format!(
                            "{}:{}",
                            t.name,
                            rs.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("+")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                let state = if u.disabled {
                    "disabled"
                } else if u.locked_until.as_deref().is_some_and(|t| t > now.as_str()) {
                    "locked"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{}", u.username, u.display_name, state, roles);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_events(data_dir: &std::path::Path) -> Result<ExitCode> {
    let root = data_dir.join("events");
    if !root.exists() {
        bail!("no event store in {}", data_dir.display());
    }
    let store = yunshou_eventstore::EventStore::open(&root)?;
    let mut problems = 0;
    let mut sealed = 0;
    for tenant in store.tenants()? {
        let report = store.verify(&tenant)?;
        sealed += report.sealed;
        for p in &report.problems {
            println!("{p}");
        }
        problems += report.problems.len();
    }
    if problems == 0 {
        println!("event store intact: {sealed} sealed partitions verified (SM3)");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("event store BROKEN: {problems} problems");
        Ok(ExitCode::from(1))
    }
}

async fn verify(data_dir: &std::path::Path) -> Result<ExitCode> {
    if !data_dir.join(yunshou_store::DB_FILE).exists() {
        bail!("no yunshou database in {}", data_dir.display());
    }
    let store = Store::open(data_dir).await?;
    let report = store.audit_verify().await?;
    match report.first_bad {
        None => {
            println!("audit chain intact: {} rows verified (SM3)", report.rows);
            Ok(ExitCode::SUCCESS)
        }
        Some((seq, why)) => {
            println!("audit chain BROKEN at row {seq}: {why}");
            Ok(ExitCode::from(1))
        }
    }
}
