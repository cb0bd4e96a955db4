//! YAML → [`Playbook`], with every problem reported against its path.
//!
//! Two passes: serde checks the shape (types, unknown keys) and stops at the first shape
//! error of each part; then the semantic checks (ids, templates, names that end up in
//! commands) run over everything and report all they find.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use crate::model::*;
use crate::safety;
use crate::template::{json_strings, Template};

/// One problem in a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: `steps[2].with.ip`, or `.` for the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why a playbook was refused: every problem found, each with its path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid playbook: {}", .problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("; "))]
pub struct ParseError {
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

impl ParseError {
    fn one(path: impl Into<String>, message: impl Into<String>) -> ParseError {
        ParseError {
            problems: vec![Problem {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    enabled: bool,
    trigger: Trigger,
    steps: Vec<RawStep>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    approval: Option<Approval>,
    action: ActionName,
    #[serde(default)]
    with: Value,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ActionName {
    Enrich,
    Notify,
    BlockIp,
    DisableAccount,
    CreateWorkOrder,
}

/// Parses and validates a playbook.
pub fn parse(yaml: &str) -> Result<Playbook, ParseError> {
    // Through a JSON tree: serde_yaml_ng reads enums only from YAML tags (`!alert`), while
    // playbooks write them as one-key maps (`alert: {…}`), which the JSON tree accepts.
    let tree: Value =
        serde_yaml_ng::from_str(yaml).map_err(|e| ParseError::one(".", e.to_string()))?;
    let raw: RawPlaybook = serde_path_to_error::deserialize(tree)
        .map_err(|e| ParseError::one(e.path().to_string(), e.into_inner().to_string()))?;

    let mut problems = Vec::new();
    let mut steps = Vec::new();
    for (i, rs) in raw.steps.into_iter().enumerate() {
        let at = format!("steps[{i}].with");
        let action = match rs.action {
            ActionName::Enrich => typed(rs.with, &at).map(Action::Enrich),
            ActionName::Notify => typed(rs.with, &at).map(Action::Notify),
            ActionName::BlockIp => typed(rs.with, &at).map(Action::BlockIp),
            ActionName::DisableAccount => typed(rs.with, &at).map(Action::DisableAccount),
            ActionName::CreateWorkOrder => typed(rs.with, &at).map(Action::CreateWorkOrder),
        };
        match action {
            Ok(action) => steps.push(Step {
                id: rs.id,
                name: rs.name,
                approval: rs.approval,
                action,
            }),
            Err(p) => problems.push(p),
        }
    }
    if !problems.is_empty() {
        return Err(ParseError { problems });
    }
    let pb = Playbook {
        id: raw.id,
        name: raw.name,
        description: raw.description,
        enabled: raw.enabled,
        trigger: raw.trigger,
        steps,
    };
    check(&pb, &mut problems);
    if problems.is_empty() {
        Ok(pb)
    } else {
        Err(ParseError { problems })
    }
}

fn typed<T: serde::de::DeserializeOwned>(with: Value, at: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(with).map_err(|e| {
        let sub = e.path().to_string();
        let path = if sub == "." {
            at.to_string()
        } else {
            format!("{at}.{sub}")
        };
        Problem {
            path,
            message: e.into_inner().to_string(),
        }
    })
}

/// Collects problems for one playbook.
struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
    root: &'static str,
    earlier: HashSet<String>,
}

impl Checker<'_> {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn result(&mut self, path: &str, r: Result<(), String>) {
        if let Err(m) = r {
            self.report(path, m);
        }
    }

    /// A template field: syntax and references; `locals` are step-local names (`ip`).
    /// Returns the parsed template when valid.
    fn template(&mut self, path: &str, text: &str, locals: &[&str]) -> Option<Template> {
        let t = match Template::parse(text) {
            Ok(t) => t,
            Err(m) => {
                self.report(path, m);
                return None;
            }
        };
        let mut ok = true;
        for r in t.refs() {
            let dotted = r.join(".");
            let first = r[0].as_str();
            let problem = if first == self.root || first == "playbook" {
                None
            } else if first == "secrets" {
                (r.len() != 2).then(|| format!("`{dotted}`: use secrets.NAME"))
            } else if first == "steps" {
                match r.get(1) {
                    Some(id) if self.earlier.contains(id) => None,
                    Some(id) => Some(format!("`{dotted}`: no earlier step `{id}`")),
                    None => Some(format!("`{dotted}`: use steps.<id>.<field>")),
                }
            } else if locals.contains(&first) && r.len() == 1 {
                None
            } else if first == "alert" || first == "incident" {
                Some(format!(
                    "`{dotted}`: this playbook is triggered by {}s",
                    self.root
                ))
            } else {
                Some(format!("`{dotted}`: unknown name `{first}`"))
            };
            if let Some(m) = problem {
                self.report(path, m);
                ok = false;
            }
        }
        ok.then_some(t)
    }

    fn url(&mut self, path: &str, text: &str, locals: &[&str]) {
        self.template(path, text, locals);
        self.result(path, safety::url_scheme(text));
    }

    fn http(&mut self, path: &str, req: &HttpRequest, locals: &[&str]) {
        self.url(&format!("{path}.url"), &req.url, locals);
        for (k, v) in &req.headers {
            self.template(&format!("{path}.headers.{k}"), v, locals);
        }
        if let Some(body) = &req.body {
            self.json(&format!("{path}.body"), body, locals);
        }
    }

    fn json(&mut self, path: &str, tpl: &Value, locals: &[&str]) {
        let mut strings = Vec::new();
        json_strings(tpl, path, &mut strings);
        for (p, s) in strings {
            self.template(&p, &s, locals);
        }
    }

    fn ssh(&mut self, path: &str, t: &SshTarget) {
        self.result(&format!("{path}.host"), safety::ssh_host(&t.host));
        self.result(&format!("{path}.user"), safety::ssh_user(&t.user));
        self.result(
            &format!("{path}.identity_file"),
            safety::abs_path(&t.identity_file),
        );
        self.result(
            &format!("{path}.known_hosts"),
            safety::abs_path(&t.known_hosts),
        );
        if t.port == 0 {
            self.report(&format!("{path}.port"), "port 0");
        }
    }

    fn step(&mut self, at: &str, step: &Step) {
        let with = format!("{at}.with");
        let w = with.as_str();
        match &step.action {
            Action::Enrich(e) => {
                self.template(&format!("{w}.value"), &e.value, &[]);
            }
            Action::Notify(n) => self.notify(w, n),
            Action::BlockIp(b) => {
                let p = format!("{w}.ip");
                if let Some(t) = self.template(&p, &b.ip, &[]) {
                    if t.is_literal() {
                        self.result(&p, safety::ip_target(&b.ip).map(|_| ()));
                    }
                }
                if let Some(t) = &b.timeout {
                    self.result(&format!("{w}.timeout"), safety::nft_timeout(t));
                    if !matches!(b.adapter, BlockAdapter::Nftables(_)) {
                        self.report(
                            &format!("{w}.timeout"),
                            "only the nftables adapter supports a timeout",
                        );
                    }
                }
                match &b.adapter {
                    BlockAdapter::Nftables(n) => {
                        let a = format!("{w}.adapter.nftables");
                        self.ssh(&format!("{a}.ssh"), &n.ssh);
                        self.result(&format!("{a}.family"), safety::nft_family(&n.family));
                        self.result(&format!("{a}.table"), safety::object_name(&n.table));
                        self.result(&format!("{a}.set"), safety::object_name(&n.set));
                    }
                    BlockAdapter::Iptables(t) => {
                        let a = format!("{w}.adapter.iptables");
                        self.ssh(&format!("{a}.ssh"), &t.ssh);
                        self.result(&format!("{a}.chain"), safety::object_name(&t.chain));
                    }
                    BlockAdapter::Http(req) => {
                        self.http(&format!("{w}.adapter.http"), req, &["ip"])
                    }
                }
            }
            Action::DisableAccount(d) => {
                let p = format!("{w}.account");
                if let Some(t) = self.template(&p, &d.account, &[]) {
                    if t.is_literal() {
                        self.result(&p, safety::account(&d.account));
                    }
                }
                self.http(&format!("{w}.request"), &d.request, &["account"]);
            }
            Action::CreateWorkOrder(c) => {
                if c.title.trim().is_empty() {
                    self.report(&format!("{w}.title"), "empty title");
                }
                self.template(&format!("{w}.title"), &c.title, &[]);
                self.template(&format!("{w}.description"), &c.description, &[]);
                if let Some(a) = &c.assignee {
                    self.template(&format!("{w}.assignee"), a, &[]);
                }
                self.template(&format!("{w}.priority"), &c.priority, &[]);
            }
        }
    }

    fn notify(&mut self, w: &str, n: &Notify) {
        match n {
            Notify::Webhook(h) => {
                let a = format!("{w}.webhook");
                self.url(&format!("{a}.url"), &h.url, &[]);
                for (k, v) in &h.headers {
                    self.template(&format!("{a}.headers.{k}"), v, &[]);
                }
                self.template(&format!("{a}.title"), &h.title, &[]);
                self.template(&format!("{a}.text"), &h.text, &[]);
                if let Some(b) = &h.body {
                    self.json(&format!("{a}.body"), b, &[]);
                }
            }
            Notify::Email(m) => {
                let a = format!("{w}.email");
                if m.to.is_empty() {
                    self.report(&format!("{a}.to"), "no recipient");
                }
                for (i, r) in m.to.iter().enumerate() {
                    self.template(&format!("{a}.to[{i}]"), r, &[]);
                }
                for (i, r) in m.cc.iter().enumerate() {
                    self.template(&format!("{a}.cc[{i}]"), r, &[]);
                }
                self.template(&format!("{a}.subject"), &m.subject, &[]);
                self.template(&format!("{a}.text"), &m.text, &[]);
            }
            Notify::Wecom(c) => {
                let a = format!("{w}.wecom");
                self.url(&format!("{a}.url"), &c.url, &[]);
                self.template(&format!("{a}.text"), &c.text, &[]);
            }
            Notify::Dingtalk(d) => {
                let a = format!("{w}.dingtalk");
                self.url(&format!("{a}.url"), &d.url, &[]);
                self.template(&format!("{a}.title"), &d.title, &[]);
                self.template(&format!("{a}.text"), &d.text, &[]);
                if let Some(s) = &d.secret {
                    self.template(&format!("{a}.secret"), s, &[]);
                }
            }
        }
    }
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check(pb: &Playbook, problems: &mut Vec<Problem>) {
    let mut c = Checker {
        problems,
        root: match pb.trigger.kind() {
            TriggerKind::Alert => "alert",
            TriggerKind::Incident => "incident",
        },
        earlier: HashSet::new(),
    };
    if !valid_id(&pb.id) {
        c.report("id", format!("`{}` is not an id of [a-z0-9-]", pb.id));
    }
    if pb.name.trim().is_empty() {
        c.report("name", "empty name");
    }
    if pb.steps.is_empty() {
        c.report("steps", "a playbook needs at least one step");
    }
    for (i, step) in pb.steps.iter().enumerate() {
        let at = format!("steps[{i}]");
        if !valid_id(&step.id) {
            c.report(
                &format!("{at}.id"),
                format!("`{}` is not an id of [a-z0-9-]", step.id),
            );
        } else if c.earlier.contains(&step.id) {
            c.report(
                &format!("{at}.id"),
                format!("step id `{}` is used twice", step.id),
            );
        }
        c.step(&at, step);
        c.earlier.insert(step.id.clone());
    }
}
