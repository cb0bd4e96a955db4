//! Rendering steps: templates resolved, values checked, the exact command or request built.
//! The same rendering serves dry-runs, approvals (what is being approved) and the run itself,
//! so what people see is what runs.

use serde::Serialize;
use serde_json::{json, Value};

use crate::adapters::{http::HttpCall, notify, ssh};
use crate::model::*;
use crate::safety;
use crate::template::{render_json, Rendered, Scope, Template, REDACTED};
use crate::Host;

/// A step as it would run, for people and the audit trail (secrets redacted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    /// Step id.
    pub id: String,
    /// Action name (`block_ip`).
    pub action: String,
    /// True when the step may only run once approved.
    pub needs_approval: bool,
    /// One line for people.
    pub summary: String,
    /// The command, request or message exactly as it would be sent, secrets redacted.
    pub rendered: Value,
}

/// Why a step cannot be rendered; nothing has run when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// No step at this index.
    #[error("the playbook has no step {0}")]
    NoSuchStep(usize),
    /// A template could not be resolved (a missing value or secret).
    #[error("step {step}: {field}: {message}")]
    Template {
        /// Step id.
        step: String,
        /// Field path, `steps[2].with.ip`.
        field: String,
        /// What is missing.
        message: String,
    },
    /// A resolved value was refused (an IP that isn't one, a bad URL or recipient).
    #[error("step {step}: {field}: {message}")]
    Refused {
        /// Step id.
        step: String,
        /// Field path.
        field: String,
        /// Why.
        message: String,
    },
}

/// What [`crate::run_step`] carries out.
pub(crate) enum Op {
    Enrich {
        source: &'static str,
        value: String,
    },
    WorkOrder {
        title: String,
        description: String,
        assignee: Option<String>,
        priority: String,
    },
    Ssh {
        argv: Vec<String>,
    },
    Http(HttpCall),
    Email {
        to: Vec<String>,
        cc: Vec<String>,
        subject: String,
        text: String,
    },
}

/// A rendered step: the record to show and the operation to run.
pub(crate) struct Prepared {
    pub planned: PlannedStep,
    pub op: Op,
    /// Key facts added to the step's output (`ip`, `account`).
    pub facts: Value,
}

/// Renders every step of `pb` against `context` without running anything. A reference to an
/// earlier step's output (`{{ steps.enrich-ip.owner }}`) that is not in the context yet is
/// shown as written; checks on such values happen when the step runs.
pub fn plan(
    pb: &Playbook,
    context: &Value,
    host: &dyn Host,
) -> Result<Vec<PlannedStep>, StepError> {
    (0..pb.steps.len())
        .map(|i| prepare(pb, i, context, host, true).map(|p| p.planned))
        .collect()
}

pub(crate) fn prepare(
    pb: &Playbook,
    index: usize,
    context: &Value,
    host: &dyn Host,
    allow_deferred: bool,
) -> Result<Prepared, StepError> {
    let step = pb.steps.get(index).ok_or(StepError::NoSuchStep(index))?;
    let mut ctx = context.clone();
    if let Value::Object(map) = &mut ctx {
        map.insert("playbook".into(), json!({"id": pb.id, "name": pb.name}));
    }
    let secret = |n: &str| host.secret(n);
    let r = Renderer {
        step,
        at: format!("steps[{index}].with"),
        ctx,
        secret: &secret,
        allow_deferred,
    };
    let (summary, rendered, op, facts) = r.action()?;
    Ok(Prepared {
        planned: PlannedStep {
            id: step.id.clone(),
            action: step.action.name().to_string(),
            needs_approval: step.needs_approval(),
            summary,
            rendered,
        },
        op,
        facts,
    })
}

type Parts = (String, Value, Op, Value);

struct Renderer<'a> {
    step: &'a Step,
    at: String,
    ctx: Value,
    secret: &'a dyn Fn(&str) -> Option<String>,
    allow_deferred: bool,
}

impl Renderer<'_> {
    fn template_err(&self, field: &str, message: String) -> StepError {
        StepError::Template {
            step: self.step.id.clone(),
            field: format!("{}.{field}", self.at),
            message,
        }
    }

    fn refused(&self, field: &str, message: String) -> StepError {
        StepError::Refused {
            step: self.step.id.clone(),
            field: format!("{}.{field}", self.at),
            message,
        }
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            context: &self.ctx,
            secret: self.secret,
            allow_deferred: self.allow_deferred,
        }
    }

    fn text(&self, field: &str, tpl: &str) -> Result<Rendered, StepError> {
        Template::parse(tpl)
            .and_then(|t| t.render(&self.scope()))
            .map_err(|m| self.template_err(field, m))
    }

    /// Adds a step-local name (`ip`, `account`) for the templates that follow.
    fn with_local(&mut self, name: &str, value: &str) {
        if let Value::Object(map) = &mut self.ctx {
            map.insert(name.into(), Value::String(value.into()));
        }
    }

    fn action(mut self) -> Result<Parts, StepError> {
        match &self.step.action {
            Action::Enrich(e) => {
                let v = self.text("value", &e.value)?;
                let source = e.source.as_str();
                Ok((
                    format!("look up {} in {source}", v.shown),
                    json!({"source": source, "value": v.shown}),
                    Op::Enrich {
                        source,
                        value: v.real,
                    },
                    Value::Null,
                ))
            }
            Action::CreateWorkOrder(c) => {
                let title = self.text("title", &c.title)?;
                let description = self.text("description", &c.description)?;
                let assignee = match &c.assignee {
                    Some(a) => Some(self.text("assignee", a)?),
                    None => None,
                };
                let priority = self.text("priority", &c.priority)?;
                Ok((
                    format!(
                        "create work order “{}” (priority {}{})",
                        title.shown,
                        priority.shown,
                        assignee
                            .as_ref()
                            .map(|a| format!(", assignee {}", a.shown))
                            .unwrap_or_default()
                    ),
                    json!({
                        "title": title.shown,
                        "description": description.shown,
                        "assignee": assignee.as_ref().map(|a| a.shown.clone()),
                        "priority": priority.shown,
                    }),
                    Op::WorkOrder {
                        title: title.real,
                        description: description.real,
                        assignee: assignee.map(|a| a.real),
                        priority: priority.real,
                    },
                    Value::Null,
                ))
            }
            Action::Notify(n) => self.notify(n),
            Action::BlockIp(b) => {
                let ip = self.text("ip", &b.ip)?;
                let target = if ip.deferred {
                    None
                } else {
                    Some(safety::ip_target(&ip.real).map_err(|m| self.refused("ip", m))?)
                };
                let ip_text = target.as_ref().map_or(ip.real.clone(), |t| t.text.clone());
                let facts = json!({"ip": ip_text});
                match &b.adapter {
                    BlockAdapter::Nftables(n) => {
                        let remote = ssh::nft_command(n, &ip_text, b.timeout.as_deref());
                        Ok(self.ssh_parts("nftables", &n.ssh, remote, &ip_text, facts))
                    }
                    BlockAdapter::Iptables(t) => {
                        let v6 = target.as_ref().is_some_and(|t| t.v6);
                        let remote = ssh::iptables_command(t, &ip_text, v6);
                        Ok(self.ssh_parts("iptables", &t.ssh, remote, &ip_text, facts))
                    }
                    BlockAdapter::Http(req) => {
                        self.with_local("ip", &ip_text);
                        let (call, shown) = self.http("adapter.http", req)?;
                        Ok((
                            format!(
                                "block {ip_text}: {} {}",
                                call.method.as_str(),
                                shown["url"].as_str().unwrap_or("")
                            ),
                            json!({"adapter": "http", "ip": ip_text, "request": shown}),
                            Op::Http(call),
                            facts,
                        ))
                    }
                }
            }
            Action::DisableAccount(d) => {
                let account = self.text("account", &d.account)?;
                if !account.deferred {
                    safety::account(&account.real).map_err(|m| self.refused("account", m))?;
                }
                self.with_local("account", &account.real);
                let (call, shown) = self.http("request", &d.request)?;
                Ok((
                    format!(
                        "disable account {}: {} {}",
                        account.shown,
                        call.method.as_str(),
                        shown["url"].as_str().unwrap_or("")
                    ),
                    json!({"account": account.shown, "request": shown}),
                    Op::Http(call),
                    json!({"account": account.real}),
                ))
            }
        }
    }

    fn ssh_parts(
        &self,
        adapter: &str,
        target: &SshTarget,
        remote: Vec<String>,
        ip: &str,
        facts: Value,
    ) -> Parts {
        let argv = ssh::argv(target, &remote);
        (
            format!(
                "block {ip} with {adapter} on {}@{}:{}: {}",
                target.user,
                target.host,
                target.port,
                ssh::join_remote(&remote)
            ),
            json!({"adapter": adapter, "ip": ip, "argv": argv, "remote_command": remote}),
            Op::Ssh { argv },
            facts,
        )
    }

    /// Renders a generic request; returns the call and its redacted form.
    fn http(&self, field: &str, req: &HttpRequest) -> Result<(HttpCall, Value), StepError> {
        let url = self.url(&format!("{field}.url"), &req.url)?;
        let mut headers = Vec::new();
        let mut shown_headers = serde_json::Map::new();
        for (k, v) in &req.headers {
            let r = self.text(&format!("{field}.headers.{k}"), v)?;
            let shown = if safety::sensitive_header(k) {
                REDACTED.to_string()
            } else {
                r.shown
            };
            shown_headers.insert(k.clone(), Value::String(shown));
            headers.push((k.clone(), r.real));
        }
        let (body, shown_body) = match &req.body {
            Some(tpl) => {
                let (real, shown, _) = render_json(tpl, &self.scope())
                    .map_err(|m| self.template_err(&format!("{field}.body"), m))?;
                (Some(real), shown)
            }
            None => (None, Value::Null),
        };
        let shown = json!({
            "method": req.method.as_str(),
            "url": url.shown,
            "headers": shown_headers,
            "body": shown_body,
        });
        Ok((
            HttpCall {
                method: req.method,
                url: url.real,
                shown_url: url.shown,
                headers,
                body,
                robot: false,
            },
            shown,
        ))
    }

    /// Renders a URL and checks it is http(s) (unless it still waits on a step's output).
    fn url(&self, field: &str, tpl: &str) -> Result<Rendered, StepError> {
        let r = self.text(field, tpl)?;
        if !r.deferred {
            safety::url_scheme(&r.real).map_err(|m| self.refused(field, m))?;
            reqwest::Url::parse(&r.real)
                .map_err(|e| self.refused(field, format!("`{}`: {e}", r.shown)))?;
        }
        Ok(r)
    }

    fn notify(&self, n: &Notify) -> Result<Parts, StepError> {
        match n {
            Notify::Email(m) => {
                let render_all = |list: &[String],
                                  name: &str|
                 -> Result<Vec<Rendered>, StepError> {
                    let mut out = Vec::new();
                    for (i, r) in list.iter().enumerate() {
                        let field = format!("email.{name}[{i}]");
                        let v = self.text(&field, r)?;
                        if !v.deferred {
                            notify::check_mailbox(&v.real).map_err(|m| self.refused(&field, m))?;
                        }
                        out.push(v);
                    }
                    Ok(out)
                };
                let to = render_all(&m.to, "to")?;
                let cc = render_all(&m.cc, "cc")?;
                let subject = self.text("email.subject", &m.subject)?;
                let text = self.text("email.text", &m.text)?;
                let shown = |l: &[Rendered]| l.iter().map(|r| r.shown.clone()).collect::<Vec<_>>();
                let real = |l: Vec<Rendered>| l.into_iter().map(|r| r.real).collect::<Vec<_>>();
                Ok((
                    format!("mail “{}” to {}", subject.shown, shown(&to).join(", ")),
                    json!({"channel": "email", "to": shown(&to), "cc": shown(&cc), "subject": subject.shown, "text": text.shown}),
                    Op::Email {
                        to: real(to),
                        cc: real(cc),
                        subject: subject.real,
                        text: text.real,
                    },
                    Value::Null,
                ))
            }
            Notify::Webhook(h) => {
                let url = self.url("webhook.url", &h.url)?;
                let title = self.text("webhook.title", &h.title)?;
                let text = self.text("webhook.text", &h.text)?;
                let req = HttpRequest {
                    method: Method::Post,
                    url: h.url.clone(),
                    headers: h.headers.clone(),
                    body: None,
                };
                let (mut call, mut shown) = self.http("webhook", &req)?;
                let (body, shown_body) = match &h.body {
                    Some(tpl) => {
                        let (real, shown, _) = render_json(tpl, &self.scope())
                            .map_err(|m| self.template_err("webhook.body", m))?;
                        (real, shown)
                    }
                    None => {
                        let base =
                            json!({"playbook": self.ctx["playbook"]["id"], "step": self.step.id});
                        let mut real = base.clone();
                        real["title"] = json!(title.real);
                        real["text"] = json!(text.real);
                        let mut shown = base;
                        shown["title"] = json!(title.shown);
                        shown["text"] = json!(text.shown);
                        (real, shown)
                    }
                };
                call.body = Some(body);
                shown["body"] = shown_body;
                Ok((
                    format!("POST webhook {}: {}", url.shown, title.shown),
                    json!({"channel": "webhook", "request": shown}),
                    Op::Http(call),
                    Value::Null,
                ))
            }
            Notify::Wecom(w) => {
                let url = self.url("wecom.url", &w.url)?;
                let text = self.text("wecom.text", &w.text)?;
                let body = notify::wecom_body(&text.real);
                let shown_body = notify::wecom_body(&text.shown);
                Ok(self.robot("wecom", url, body, shown_body))
            }
            Notify::Dingtalk(d) => {
                let mut url = self.url("dingtalk.url", &d.url)?;
                let title = self.text("dingtalk.title", &d.title)?;
                let text = self.text("dingtalk.text", &d.text)?;
                if let Some(s) = &d.secret {
                    let secret = self.text("dingtalk.secret", s)?;
                    if !url.deferred {
                        let ts = chrono::Utc::now().timestamp_millis();
                        url.real = notify::dingtalk_signed_url(&url.real, &secret.real, ts)
                            .map_err(|m| self.refused("dingtalk.url", m))?;
                        url.shown = format!(
                            "{}{}timestamp={ts}&sign={REDACTED}",
                            url.shown,
                            if url.shown.contains('?') { '&' } else { '?' }
                        );
                    }
                }
                let body = notify::dingtalk_body(&title.real, &text.real);
                let shown_body = notify::dingtalk_body(&title.shown, &text.shown);
                Ok(self.robot("dingtalk", url, body, shown_body))
            }
        }
    }

    fn robot(&self, channel: &str, url: Rendered, body: Value, shown_body: Value) -> Parts {
        (
            format!("{channel} robot message to {}", url.shown),
            json!({"channel": channel, "request": {"method": "POST", "url": url.shown, "body": shown_body}}),
            Op::Http(HttpCall {
                method: Method::Post,
                url: url.real,
                shown_url: url.shown,
                headers: Vec::new(),
                body: Some(body),
                robot: true,
            }),
            Value::Null,
        )
    }
}
