//! The tenant's vulnerability-management settings in the console (I.3.b–c): the GB/T 20984
//! method and tables, SLA days per risk level, which findings get a work order, and where
//! notices go. Everyone who reads findings sees them; `RiskManage` saves them through
//! `Store::set_vuln_settings`, which lists every reason a document is refused.

use super::{done, page, Console, ConsoleError, ConsoleForm, Layout};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use yunshou_identify::risk::{RiskMethod, RiskTables};
use yunshou_model::work_order::SlaDays;
use yunshou_model::Permission;
use yunshou_store::vuln_settings::VulnSettings;

/// The settings form as typed: every field text, so a refused form comes back as it was.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct SettingsForm {
    #[serde(default)]
    risk_method: String,
    #[serde(default)]
    sla_5: String,
    #[serde(default)]
    sla_4: String,
    #[serde(default)]
    sla_3: String,
    #[serde(default)]
    sla_2: String,
    #[serde(default)]
    sla_1: String,
    #[serde(default)]
    work_order_min_level: String,
    #[serde(default)]
    notify_webhook: String,
    /// One address a line.
    #[serde(default)]
    notify_email: String,
    /// `name = address`, one a line.
    #[serde(default)]
    contacts: String,
    /// `RiskTables` as JSON.
    #[serde(default)]
    risk_tables: String,
}

/// The risk tables as JSON an editor can read: one table row a line (pretty-printing puts
/// every number on a line of its own), the name first.
fn tables_json(tables: &RiskTables) -> String {
    use serde_json::Value;
    let Ok(Value::Object(map)) = serde_json::to_value(tables) else {
        return serde_json::to_string_pretty(tables).unwrap_or_default();
    };
    let compact = |v: &Value| match v {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(Value::to_string).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| *k != "name");
    let fields: Vec<String> = keys
        .into_iter()
        .map(|k| {
            let v = &map[k];
            let body = match v {
                Value::Array(rows) if rows.iter().all(Value::is_array) => {
                    let rows: Vec<String> =
                        rows.iter().map(|r| format!("    {}", compact(r))).collect();
                    format!("[\n{}\n  ]", rows.join(",\n"))
                }
                other => compact(other),
            };
            format!("  {}: {body}", Value::String(k.clone()))
        })
        .collect();
    format!("{{\n{}\n}}", fields.join(",\n"))
}

impl SettingsForm {
    /// The form showing `s`.
    fn of(s: &VulnSettings) -> SettingsForm {
        let d = &s.sla_days;
        SettingsForm {
            risk_method: s.risk_method.as_str().into(),
            sla_5: d.very_high.to_string(),
            sla_4: d.high.to_string(),
            sla_3: d.medium.to_string(),
            sla_2: d.low.to_string(),
            sla_1: d.very_low.to_string(),
            work_order_min_level: s.work_order_min_level.to_string(),
            notify_webhook: s.notify_webhook.clone().unwrap_or_default(),
            notify_email: s.notify_email.join("\n"),
            contacts: s
                .contacts
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            risk_tables: tables_json(&s.risk_tables),
        }
    }

    /// The settings this form describes, or every reason it cannot (one a line); the
    /// store's own validation follows.
    fn settings(&self) -> Result<VulnSettings, Vec<String>> {
        let mut errors = vec![];
        let risk_method = match self.risk_method.as_str() {
            "multiplication" => RiskMethod::Multiplication,
            "matrix" | "" => RiskMethod::Matrix,
            other => {
                errors.push(format!("risk_method: `{other}`? (matrix, multiplication)"));
                RiskMethod::Matrix
            }
        };
        let mut number = |field: &str, v: &str| -> u32 {
            v.trim().parse::<u32>().unwrap_or_else(|_| {
                errors.push(format!("{field}: a whole number"));
                0
            })
        };
        let sla_days = SlaDays {
            very_high: number("sla_days.very_high", &self.sla_5),
            high: number("sla_days.high", &self.sla_4),
            medium: number("sla_days.medium", &self.sla_3),
            low: number("sla_days.low", &self.sla_2),
            very_low: number("sla_days.very_low", &self.sla_1),
        };
        let work_order_min_level = number("work_order_min_level", &self.work_order_min_level);
        let lines = |s: &str| -> Vec<String> {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut contacts = BTreeMap::new();
        for line in lines(&self.contacts) {
            match line.split_once('=') {
                Some((name, mail)) => {
                    contacts.insert(name.trim().to_string(), mail.trim().to_string());
                }
                None => errors.push(format!("contacts: `{line}` is not `name = address`")),
            }
        }
        let risk_tables = match serde_json::from_str::<RiskTables>(&self.risk_tables) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("risk_tables: {e}"));
                RiskTables::default()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(VulnSettings {
            risk_method,
            risk_tables,
            sla_days,
            work_order_min_level: u8::try_from(work_order_min_level).unwrap_or(0),
            notify_webhook: Some(self.notify_webhook.trim().to_string()).filter(|s| !s.is_empty()),
            notify_email: lines(&self.notify_email),
            contacts,
        })
    }
}

#[derive(Template)]
#[template(path = "vuln_settings.html")]
struct SettingsPage {
    l: Layout,
    f: SettingsForm,
    can_manage: bool,
    /// Why the last save was refused, one reason a line.
    problems: Vec<String>,
}

fn render(l: Layout, f: SettingsForm, problems: Vec<String>) -> Result<Response, ConsoleError> {
    let can_manage = l.p.can(Permission::RiskManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        SettingsPage {
            l,
            f,
            can_manage,
            problems,
        }
        .render()?,
    ))
}

/// `GET /findings/settings`.
pub async fn show(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::FindingsRead)?.clone();
    let settings = state.store.vuln_settings(&scope).await?;
    render(l, SettingsForm::of(&settings), vec![])
}

/// `POST /findings/settings`: saves, or shows the form again with every reason it was
/// refused.
pub async fn save(
    State(state): State<AppState>,
    f: ConsoleForm<SettingsForm>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RiskManage)?.clone();
    let settings = match f.form.settings() {
        Ok(s) => s,
        Err(problems) => return render(f.layout, f.form, problems),
    };
    match state
        .store
        .set_vuln_settings(&scope, &settings, &f.layout.p.actor())
        .await
    {
        Ok(()) => Ok(done("/findings/settings", f.layout.t.get("vset.saved"))),
        Err(yunshou_store::Error::Invalid(reasons)) => {
            let problems = reasons.lines().map(str::to_string).collect();
            render(f.layout, f.form, problems)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_the_settings() {
        let mut s = VulnSettings {
            notify_email: vec!["soc@jn.gov.cn".into(), "duty@jn.gov.cn".into()],
            notify_webhook: Some("https://soc.jn.gov.cn/hook".into()),
            risk_method: RiskMethod::Multiplication,
            ..Default::default()
        };
        s.contacts
            .insert("张伟".into(), "zhang.wei@jn.gov.cn".into());
        let f = SettingsForm::of(&s);
        assert_eq!(f.contacts, "张伟 = zhang.wei@jn.gov.cn");
        assert_eq!(f.settings().unwrap(), s);
    }

    #[test]
    fn tables_read_a_row_a_line() {
        let t = RiskTables::default();
        let text = tables_json(&t);
        assert!(text.starts_with("{\n  \"name\": "), "{text}");
        assert!(text.contains("\n    [1, 1, 2, 2, 3],\n"), "{text}");
        assert_eq!(serde_json::from_str::<RiskTables>(&text).unwrap(), t);
    }

    #[test]
    fn every_problem_is_listed() {
        let mut f = SettingsForm::of(&VulnSettings::default());
        f.sla_4 = "soon".into();
        f.contacts = "no address here".into();
        f.risk_tables = "{".into();
        f.risk_method = "guess".into();
        let e = f.settings().unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e.iter().any(|x| x.starts_with("sla_days.high")), "{e:?}");
    }
}
