//! Running one step and recording its outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::adapters::{http, notify, ssh};
use crate::model::Playbook;
use crate::plan::{prepare, Op};

/// What the host platform answers for the steps it owns, and where secrets come from.
#[async_trait::async_trait]
pub trait Host: Send + Sync {
    /// Looks `value` up in `source` (`ledger`, `intel` or `search`).
    async fn enrich(&self, source: &str, value: &str) -> Result<Value, String>;
    /// Opens a work order and returns its id.
    async fn create_work_order(
        &self,
        title: &str,
        description: &str,
        assignee: Option<&str>,
        priority: &str,
    ) -> Result<String, String>;
    /// The secret `{{ secrets.NAME }}` stands for; `None` when it is not set.
    fn secret(&self, name: &str) -> Option<String>;
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It ran and the target confirmed it.
    Succeeded,
    /// It was refused before running, or it ran and failed.
    Failed,
    /// Nothing ran: a dry run, or a step still waiting for approval.
    Skipped,
}

/// The audited record of one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutcome {
    /// Step id.
    pub step_id: String,
    /// Action name.
    pub action: String,
    /// How it ended.
    pub status: StepStatus,
    /// One line for people (secrets redacted).
    pub detail: String,
    /// What the step produced; later steps read it as `steps.<id>`.
    pub output: Value,
    /// The command or request as rendered (secrets redacted); `null` when rendering failed.
    pub rendered: Value,
    /// Who approved it, for steps that need approval.
    pub approved_by: Option<String>,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: DateTime<Utc>,
}

/// How [`run_step`] runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Describe what would run; run nothing.
    pub dry_run: bool,
    /// SMTP relay for e-mail notices, `host:port`.
    pub smtp_relay: Option<String>,
    /// Sender address of e-mail notices.
    pub smtp_from: String,
    /// Deadline for each command, request or platform call.
    pub timeout: Duration,
    /// The approver of this step. A step that needs approval is not run without one (the
    /// platform records approvals; this is the last guard).
    pub approved_by: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dry_run: false,
            smtp_relay: None,
            smtp_from: "yunshou@localhost".into(),
            timeout: Duration::from_secs(30),
            approved_by: None,
        }
    }
}

/// The context for a run: `{"alert": subject}` or `{"incident": subject}` with an empty
/// `steps` map that [`with_step_output`] fills.
pub fn context(kind: crate::TriggerKind, subject: &Value) -> Value {
    let key = match kind {
        crate::TriggerKind::Alert => "alert",
        crate::TriggerKind::Incident => "incident",
    };
    json!({ key: subject, "steps": {} })
}

/// Adds a step's output to the context as `steps.<id>`.
pub fn with_step_output(context: &mut Value, outcome: &StepOutcome) {
    if !context.is_object() {
        *context = json!({});
    }
    let steps = context
        .as_object_mut()
        .expect("made an object above")
        .entry("steps")
        .or_insert_with(|| json!({}));
    if !steps.is_object() {
        *steps = json!({});
    }
    steps[&outcome.step_id] = outcome.output.clone();
}

/// Runs one step. The step is rendered first; a template or safety error fails it before
/// anything is sent. With `dry_run` the rendered step is returned as a skipped outcome.
pub async fn run_step(
    pb: &Playbook,
    step_index: usize,
    context: &Value,
    host: &dyn Host,
    options: &RunOptions,
) -> StepOutcome {
    let started_at = Utc::now();
    let (step_id, action) = match pb.steps.get(step_index) {
        Some(s) => (s.id.clone(), s.action.name().to_string()),
        None => (format!("#{step_index}"), String::new()),
    };
    let finish = |status, detail: String, output, rendered| StepOutcome {
        step_id: step_id.clone(),
        action: action.clone(),
        status,
        detail,
        output,
        rendered,
        approved_by: options.approved_by.clone(),
        started_at,
        finished_at: Utc::now(),
    };
    let prepared = match prepare(pb, step_index, context, host, options.dry_run) {
        Ok(p) => p,
        Err(e) => return finish(StepStatus::Failed, e.to_string(), Value::Null, Value::Null),
    };
    let rendered = prepared.planned.rendered.clone();
    if options.dry_run {
        let detail = format!("dry run: {}", prepared.planned.summary);
        let output = json!({"dry_run": true, "rendered": rendered});
        return finish(StepStatus::Skipped, detail, output, rendered);
    }
    if prepared.planned.needs_approval && options.approved_by.is_none() {
        let detail = format!("not run: needs approval ({})", prepared.planned.summary);
        return finish(StepStatus::Skipped, detail, Value::Null, rendered);
    }
    let summary = prepared.planned.summary.clone();
    let mut facts = prepared.facts;
    match execute(prepared.op, host, options).await {
        Ok(output) => {
            // Key facts (the blocked ip, the account) go with the target's answer.
            let output = match (&mut facts, output) {
                (Value::Object(f), Value::Object(o)) => {
                    f.extend(o);
                    facts
                }
                (Value::Null, o) => o,
                (_, o) => o,
            };
            finish(StepStatus::Succeeded, summary, output, rendered)
        }
        Err(e) => finish(
            StepStatus::Failed,
            format!("{summary}: {e}"),
            facts,
            rendered,
        ),
    }
}

async fn execute(op: Op, host: &dyn Host, options: &RunOptions) -> Result<Value, String> {
    let deadline = options.timeout;
    let limit = |what: &str| format!("{what} did not answer within {deadline:?}");
    match op {
        Op::Enrich { source, value } => tokio::time::timeout(deadline, host.enrich(source, &value))
            .await
            .map_err(|_| limit("enrichment"))?,
        Op::WorkOrder {
            title,
            description,
            assignee,
            priority,
        } => {
            let call = host.create_work_order(&title, &description, assignee.as_deref(), &priority);
            let id = tokio::time::timeout(deadline, call)
                .await
                .map_err(|_| limit("the work-order service"))??;
            Ok(json!({"work_order_id": id}))
        }
        Op::Ssh { argv } => {
            let done = ssh::run(&argv, deadline).await?;
            if done.code == Some(0) {
                Ok(json!({"exit_code": 0, "stdout": done.stdout}))
            } else {
                let code = done.code.map_or("a signal".to_string(), |c| c.to_string());
                Err(format!("exit {code}: {}", done.stderr))
            }
        }
        Op::Http(call) => {
            let answer = http::send(&call, deadline).await?;
            Ok(json!({"status": answer.status, "response": answer.body}))
        }
        Op::Email {
            to,
            cc,
            subject,
            text,
        } => {
            let relay = options
                .smtp_relay
                .as_deref()
                .ok_or("no SMTP relay is configured")?;
            let mail = notify::Mail {
                relay,
                from: &options.smtp_from,
                to: &to,
                cc: &cc,
                subject: &subject,
                text: &text,
            };
            let reply = notify::send_mail(&mail, deadline).await?;
            Ok(json!({"to": to, "relay_reply": reply}))
        }
    }
}
