//! The playbook as written in YAML. Every struct refuses unknown keys so a misspelt option
//! is an error rather than a silently ignored safety setting.
//!
//! Strings documented as *templates* may contain `{{ path }}` references (see
//! [`crate::template`]); every other string is taken literally.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// A declarative response playbook; build one with [`crate::parse`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    /// Stable identifier, `[a-z0-9-]`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the playbook is for.
    pub description: String,
    /// A disabled playbook never matches.
    pub enabled: bool,
    /// When the playbook applies.
    pub trigger: Trigger,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// What starts a playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A detection alert.
    Alert,
    /// A security incident (GB/T 20986 classification).
    Incident,
}

/// The trigger: `alert: {…}` or `incident: {…}` with the conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Matches alerts.
    Alert(AlertConditions),
    /// Matches incidents.
    Incident(IncidentConditions),
}

impl Trigger {
    /// Which kind of object this trigger matches.
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::Alert(_) => TriggerKind::Alert,
            Trigger::Incident(_) => TriggerKind::Incident,
        }
    }
}

/// Alert severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational (`info` is accepted too).
    #[serde(alias = "info")]
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// Conditions on an alert; an absent condition always holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConditions {
    /// The alert's `rule_id` is one of these.
    #[serde(default, deserialize_with = "one_or_many")]
    pub rule_id: Vec<String>,
    /// The alert's `severity` is at least this.
    #[serde(default)]
    pub severity_at_least: Option<Severity>,
    /// One of these is among the alert's `tags`, `tactics` or `techniques`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub tags_any: Vec<String>,
    /// The alert's `title` contains this (case-insensitive).
    #[serde(default)]
    pub title_contains: Option<String>,
}

/// Incident level under GB/T 20986: I is the most severe (特别重大), IV the least (一般).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IncidentLevel {
    /// 特别重大.
    I,
    /// 重大.
    II,
    /// 较大.
    III,
    /// 一般.
    IV,
}

/// Conditions on an incident; an absent condition always holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentConditions {
    /// The incident's class code (`NA`, `MP`, …) is one of these.
    #[serde(default, deserialize_with = "one_or_many")]
    pub category: Vec<String>,
    /// The incident's subclass code is one of these.
    #[serde(default, deserialize_with = "one_or_many")]
    pub subcategory: Vec<String>,
    /// The incident is at least this severe: `II` matches levels I and II.
    #[serde(default)]
    pub level_at_most: Option<IncidentLevel>,
    /// The incident's phase is one of these.
    #[serde(default, deserialize_with = "one_or_many")]
    pub phase: Vec<String>,
}

/// Accepts `x` or `[x, y]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// `approval: required` — the only value; disruptive actions need approval regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Someone must approve the step before it runs.
    Required,
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Identifier, `[a-z0-9-]`, unique in the playbook; the step's output is `steps.<id>`.
    pub id: String,
    /// Optional display name.
    pub name: Option<String>,
    /// Declared approval requirement.
    pub approval: Option<Approval>,
    /// What the step does.
    #[serde(flatten)]
    pub action: Action,
}

impl Step {
    /// True when the step may only run once approved: disruptive actions always, any other
    /// step when it declares `approval: required`.
    pub fn needs_approval(&self) -> bool {
        self.approval.is_some()
            || matches!(self.action, Action::BlockIp(_) | Action::DisableAccount(_))
    }
}

/// A step's action with its parameters (the YAML `action:` name and `with:` map).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "with")]
pub enum Action {
    /// `enrich`: ask the platform about a value.
    Enrich(Enrich),
    /// `notify`: send a message.
    Notify(Notify),
    /// `block_ip`: block an address on a firewall.
    BlockIp(BlockIp),
    /// `disable_account`: disable an account through an identity system's HTTP API.
    DisableAccount(DisableAccount),
    /// `create_work_order`: open a work order in the platform.
    CreateWorkOrder(CreateWorkOrder),
}

impl Action {
    /// The action's name as written in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Enrich(_) => "enrich",
            Action::Notify(_) => "notify",
            Action::BlockIp(_) => "block_ip",
            Action::DisableAccount(_) => "disable_account",
            Action::CreateWorkOrder(_) => "create_work_order",
        }
    }
}

/// Where an enrichment is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrichSource {
    /// The asset ledger.
    Ledger,
    /// Threat intelligence.
    Intel,
    /// Event search.
    Search,
}

impl EnrichSource {
    /// The name passed to [`crate::Host::enrich`].
    pub fn as_str(self) -> &'static str {
        match self {
            EnrichSource::Ledger => "ledger",
            EnrichSource::Intel => "intel",
            EnrichSource::Search => "search",
        }
    }
}

/// `enrich` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrich {
    /// Which lookup.
    pub source: EnrichSource,
    /// Template: the value looked up (an address, a host name, a query).
    pub value: String,
}

/// `notify` parameters: exactly one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Notify {
    /// A generic JSON webhook.
    Webhook(Webhook),
    /// E-mail through the platform's SMTP relay.
    Email(Email),
    /// A WeCom (企业微信) group robot.
    Wecom(Wecom),
    /// A DingTalk (钉钉) group robot.
    Dingtalk(Dingtalk),
}

/// Generic webhook: POSTs `body`, or `{"title", "text", "playbook", "step"}` without one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Template: http(s) URL.
    pub url: String,
    /// Templates: extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Template.
    #[serde(default)]
    pub title: String,
    /// Template.
    #[serde(default)]
    pub text: String,
    /// JSON template replacing the default body.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

/// E-mail notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    /// Templates: recipients.
    #[serde(deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    /// Templates: copy recipients.
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<String>,
    /// Template.
    pub subject: String,
    /// Template: plain-text body.
    pub text: String,
}

/// WeCom robot: `{"msgtype":"markdown","markdown":{"content":…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wecom {
    /// Template: the robot's webhook URL (its `key` usually from `{{ secrets.… }}`).
    pub url: String,
    /// Template: markdown content.
    pub text: String,
}

/// DingTalk robot: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dingtalk {
    /// Template: the robot's webhook URL.
    pub url: String,
    /// Template.
    pub title: String,
    /// Template: markdown text.
    pub text: String,
    /// Template: the robot's signing secret; when set, `timestamp` and `sign` are added.
    #[serde(default)]
    pub secret: Option<String>,
}

/// `block_ip` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockIp {
    /// Template: the address or CIDR to block; must parse as one.
    pub ip: String,
    /// nftables element timeout such as `1h`, `30m`, `7d` (nftables adapter only).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Where the block is applied.
    pub adapter: BlockAdapter,
}

/// How an address is blocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BlockAdapter {
    /// `nft add element <family> <table> <set> { <ip> }` over SSH.
    Nftables(NftablesTarget),
    /// `iptables -I <chain> -s <ip> -j DROP` (ip6tables for IPv6) over SSH.
    Iptables(IptablesTarget),
    /// A firewall's HTTP API; templates may use `{{ ip }}`.
    Http(HttpRequest),
}

/// nftables set on a host reached over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NftablesTarget {
    /// The host.
    pub ssh: SshTarget,
    /// `ip`, `ip6`, `inet`, `bridge` or `netdev`.
    #[serde(default = "inet")]
    pub family: String,
    /// Table name, `[A-Za-z0-9_-]{1,32}`.
    pub table: String,
    /// Set name, `[A-Za-z0-9_-]{1,32}`.
    pub set: String,
}

fn inet() -> String {
    "inet".into()
}

/// iptables chain on a host reached over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IptablesTarget {
    /// The host.
    pub ssh: SshTarget,
    /// Chain name, `[A-Za-z0-9_-]{1,32}`.
    #[serde(default = "input")]
    pub chain: String,
}

fn input() -> String {
    "INPUT".into()
}

/// A host reached with the system `ssh` client in batch mode (no prompts, known host keys only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshTarget {
    /// Host name or address.
    pub host: String,
    /// Port.
    #[serde(default = "ssh_port")]
    pub port: u16,
    /// Remote user.
    pub user: String,
    /// Absolute path of the private key.
    pub identity_file: String,
    /// Absolute path of the known_hosts file holding the host's key.
    pub known_hosts: String,
    /// Prefix the command with `sudo -n` (for a non-root user).
    #[serde(default)]
    pub sudo: bool,
}

fn ssh_port() -> u16 {
    22
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A generic HTTP request; a 2xx answer is success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// Method.
    #[serde(default = "post")]
    pub method: Method,
    /// Template: http(s) URL; the scheme must be written literally.
    pub url: String,
    /// Templates: request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON template sent as the body (string leaves are templates).
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

fn post() -> Method {
    Method::Post
}

/// `disable_account` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableAccount {
    /// Template: the account; the request's templates may use `{{ account }}`.
    pub account: String,
    /// The identity system's API call.
    pub request: HttpRequest,
}

/// `create_work_order` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkOrder {
    /// Template.
    pub title: String,
    /// Template.
    #[serde(default)]
    pub description: String,
    /// Template: user name.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Template: the platform's priority name.
    #[serde(default = "medium")]
    pub priority: String,
}

fn medium() -> String {
    "medium".into()
}
