//! Server settings: command-line flags, then `YUNSHOU_*` environment variables, then the
//! TOML file given by `--config`, then defaults. Every default works without a file.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use yunshou_server::{ServerConfig, Tls};

/// Flags of `serve` and `demo`.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Data directory (database, audit anchor, certificates). Default `./data`.
    #[arg(long, env = "YUNSHOU_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on. Default `127.0.0.1:8080`; port 0 picks a free port.
    #[arg(long, env = "YUNSHOU_LISTEN")]
    listen: Option<SocketAddr>,
    /// TOML configuration file.
    #[arg(long, env = "YUNSHOU_CONFIG")]
    config: Option<PathBuf>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate created once in the data directory.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls_self_signed: bool,
    /// Seed the demo organisations before serving.
    #[arg(long)]
    demo: bool,
    /// Minutes a console session or sign-in token may stay unused. Default 30.
    #[arg(long, env = "YUNSHOU_SESSION_IDLE_MINUTES")]
    session_idle_minutes: Option<i64>,
    /// Receive syslog over TCP on this address (newline or octet-counted framing).
    #[arg(long)]
    syslog_tcp: Option<SocketAddr>,
    /// Receive syslog over UDP on this address.
    #[arg(long)]
    syslog_udp: Option<SocketAddr>,
    /// Receive syslog over TLS (RFC 5425) on this address, with the server's certificate
    /// (or the self-signed one in the data directory).
    #[arg(long)]
    syslog_tls: Option<SocketAddr>,
    /// Follow this log file (repeatable): new lines are ingested, across rotation, resuming
    /// after a restart where they stopped. `FORMAT:PATH` names the parser
    /// (`postgresql:/var/log/postgresql/postgresql-15-main.log`); otherwise it is detected.
    #[arg(long)]
    tail: Vec<PathBuf>,
    /// Receive NetFlow v5/v9 and IPFIX over UDP on this address (tenant: --syslog-tenant).
    #[arg(long)]
    netflow: Option<SocketAddr>,
    /// Tenant the syslog listeners' and followed files' events belong to. Default `default`.
    #[arg(long)]
    syslog_tenant: Option<String>,
    /// A directory of Sigma rules for streaming detection (repeatable), in addition to
    /// yunshou's own pack. With --demo, SigmaHQ's rules from `../shared/fixtures/sigma` are
    /// added when that folder exists.
    #[arg(long)]
    rules: Vec<PathBuf>,
    /// Detect with the given --rules only, without yunshou's own pack.
    #[arg(long)]
    no_builtin_rules: bool,
    /// The SMTP relay (`host:port`) work-order notices are mailed through. Off unless given.
    #[arg(long, env = "YUNSHOU_SMTP_RELAY")]
    smtp_relay: Option<String>,
    /// The sender of those e-mails. Default `yunshou@localhost`.
    #[arg(long, env = "YUNSHOU_SMTP_FROM")]
    smtp_from: Option<String>,
}

/// The `yunshou.toml` file. Unknown keys are an error, so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    demo: Option<bool>,
    session_idle_minutes: Option<i64>,
    syslog_tcp: Option<SocketAddr>,
    syslog_udp: Option<SocketAddr>,
    syslog_tls: Option<SocketAddr>,
    syslog_tenant: Option<String>,
    tail: Option<Vec<PathBuf>>,
    netflow: Option<SocketAddr>,
    rules: Option<Vec<PathBuf>>,
    no_builtin_rules: Option<bool>,
    smtp_relay: Option<String>,
    smtp_from: Option<String>,
}

/// Settings after every source was applied.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls: Tls,
    pub demo: bool,
    pub session_idle_minutes: i64,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tls: Option<SocketAddr>,
    pub syslog_tenant: String,
    pub tail: Vec<PathBuf>,
    pub netflow: Option<SocketAddr>,
    pub rules: Vec<PathBuf>,
    pub no_builtin_rules: bool,
    pub smtp: Option<yunshou_server::notify::SmtpRelay>,
}

impl Settings {
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            listen: self.listen,
            smtp: self.smtp.clone(),
            data_dir: self.data_dir.clone(),
            tls: self.tls.clone(),
            session_idle_minutes: self.session_idle_minutes,
            syslog_tcp: self
                .syslog_tcp
                .map(|a| (a, self.syslog_tenant.clone()))
                .into_iter()
                .collect(),
            syslog_udp: self
                .syslog_udp
                .map(|a| (a, self.syslog_tenant.clone()))
                .into_iter()
                .collect(),
            syslog_tls: self
                .syslog_tls
                .map(|a| (a, self.syslog_tenant.clone()))
                .into_iter()
                .collect(),
            tail: self
                .tail
                .iter()
                .map(|p| (p.clone(), self.syslog_tenant.clone()))
                .collect(),
            initial_events: vec![],
            rules: yunshou_server::detection::RuleSources {
                dirs: self.rules.clone(),
                no_builtin: self.no_builtin_rules,
            },
            netflow: self
                .netflow
                .map(|a| (a, self.syslog_tenant.clone()))
                .into_iter()
                .collect(),
        }
    }
}

impl ServeArgs {
    /// Applies the sources in order of precedence and validates the result.
    pub fn resolve(&self) -> Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("{}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let cert = self.tls_cert.clone().or(file.tls_cert);
        let key = self.tls_key.clone().or(file.tls_key);
        let self_signed = self.tls_self_signed || file.tls_self_signed.unwrap_or(false);
        let tls = match (cert, key, self_signed) {
            (Some(_), Some(_), true) => {
                bail!("choose either tls_cert/tls_key or tls_self_signed, not both")
            }
            (Some(cert), Some(key), false) => Tls::Files { cert, key },
            (None, None, true) => Tls::SelfSigned,
            (None, None, false) => Tls::Off,
            _ => bail!("tls_cert and tls_key must be given together"),
        };
        let session_idle_minutes = self
            .session_idle_minutes
            .or(file.session_idle_minutes)
            .unwrap_or(30);
        if !(1..=720).contains(&session_idle_minutes) {
            bail!("session_idle_minutes: must be between 1 and 720");
        }
        let smtp = match self.smtp_relay.clone().or(file.smtp_relay) {
            None => None,
            Some(relay) => {
                let (host, port) = relay
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                    .filter(|(h, _)| !h.is_empty())
                    .with_context(|| format!("smtp_relay: `{relay}` is not host:port"))?;
                let from = self
                    .smtp_from
                    .clone()
                    .or(file.smtp_from)
                    .unwrap_or_else(|| "yunshou@localhost".into());
                if !from.contains('@') {
                    bail!("smtp_from: `{from}` is not an e-mail address");
                }
                Some(yunshou_server::notify::SmtpRelay { host, port, from })
            }
        };
        Ok(Settings {
            smtp,
            data_dir: self
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./data")),
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("literal")),
            tls,
            demo: self.demo || file.demo.unwrap_or(false),
            session_idle_minutes,
            syslog_tcp: self.syslog_tcp.or(file.syslog_tcp),
            syslog_udp: self.syslog_udp.or(file.syslog_udp),
            syslog_tls: self.syslog_tls.or(file.syslog_tls),
            tail: if self.tail.is_empty() {
                file.tail.unwrap_or_default()
            } else {
                self.tail.clone()
            },
            netflow: self.netflow.or(file.netflow),
            rules: if self.rules.is_empty() {
                file.rules.unwrap_or_default()
            } else {
                self.rules.clone()
            },
            no_builtin_rules: self.no_builtin_rules || file.no_builtin_rules.unwrap_or(false),
            syslog_tenant: self
                .syslog_tenant
                .clone()
                .or(file.syslog_tenant)
                .unwrap_or_else(|| "default".into()),
        })
    }
}
