//! Change rules of the asset ledger (I.1.d): which changes raise a change alert, and which
//! are held for review before they take effect.
//!
//! A rule is a [`Condition`] plus what to do when it holds ([`RuleAction`]). Rules are checked
//! against the asset before and after a change; each rule that holds yields a [`RuleMatch`]
//! whose reasons say, in terms an asset owner understands, what happened.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yunshou_model::asset::{Asset, Exposure};

/// What a rule looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// A port becomes reachable from the internet: a new internet-facing port, or an internal
    /// one exposed. Also holds for a new asset created with internet-facing ports.
    NewInternetPort,
    /// Any change to an asset whose value (before or after) is at least `min_value`.
    HighValueChanged {
        /// Asset value 1–5 from which the rule applies.
        min_value: u8,
    },
    /// The accountable owner is removed.
    OwnerRemoved,
    /// The fingerprint changed: banners, TLS certificate, CPE names or hashes.
    FingerprintChanged,
    /// Any of the named attributes changed (names as in the API, e.g. `zone`, `lifecycle`).
    FieldChanged {
        /// Attribute names.
        fields: Vec<String>,
    },
}

/// What happens when a rule holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// The change takes effect and a change alert is raised.
    Alert,
    /// The change is held until someone else approves it; rejecting discards it.
    RequireApproval,
}

/// How urgent a change alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 低
    Low,
    /// 中
    Medium,
    /// 高
    High,
}

impl Severity {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Severity> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// A rule as the operator defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    /// Name shown on alerts.
    pub name: String,
    /// What the rule looks for.
    pub condition: Condition,
    /// What happens when it holds.
    pub action: RuleAction,
    /// Severity of the alerts it raises.
    #[serde(default = "medium")]
    pub severity: Severity,
    /// Webhook to notify (`http://` or `https://`), if any.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Whether the rule is checked.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn medium() -> Severity {
    Severity::Medium
}
fn enabled() -> bool {
    true
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChangeRule {
    /// Identifier.
    pub id: String,
    /// The definition.
    #[serde(flatten)]
    pub definition: RuleDefinition,
}

/// A rule that held for a change, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RuleMatch {
    /// The rule.
    pub rule_id: String,
    /// Its name.
    pub rule_name: String,
    /// Its action.
    pub action: RuleAction,
    /// Its severity.
    pub severity: Severity,
    /// Its webhook.
    pub webhook_url: Option<String>,
    /// What happened, one line each.
    pub reasons: Vec<String>,
}

/// Names of the attributes the API may use in [`Condition::FieldChanged`]: the asset's
/// fields plus its lifecycle and risk note.
pub fn known_field(name: &str) -> bool {
    const EXTRA: [&str; 2] = ["lifecycle", "risk_note"];
    EXTRA.contains(&name)
        || serde_json::to_value(yunshou_model::asset::AssetFields::default())
            .expect("fields serialise")
            .get(name)
            .is_some()
}

impl RuleDefinition {
    /// Checks the definition; the error names the field.
    pub fn validate(&mut self) -> Result<(), String> {
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err("name: 1–100 characters".into());
        }
        match &mut self.condition {
            Condition::HighValueChanged { min_value } if !(1..=5).contains(min_value) => {
                return Err("condition.min_value: 1–5".into())
            }
            Condition::FieldChanged { fields } => {
                fields.iter_mut().for_each(|f| *f = f.trim().to_string());
                if fields.is_empty() {
                    return Err("condition.fields: name at least one attribute".into());
                }
                if let Some(bad) = fields.iter().find(|f| !known_field(f)) {
                    return Err(format!("condition.fields: unknown attribute '{bad}'"));
                }
            }
            _ => {}
        }
        if let Some(url) = &mut self.webhook_url {
            *url = url.trim().to_string();
            if url.is_empty() {
                self.webhook_url = None;
            } else if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.len() > 2000
                || url.chars().any(char::is_whitespace)
            {
                return Err("webhook_url: an http:// or https:// address".into());
            }
        }
        Ok(())
    }
}

/// Top-level keys whose values differ between two JSON objects, sorted.
pub fn changed_fields(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return vec![];
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect()
}

fn internet_ports(asset: &Asset) -> Vec<(u16, &str)> {
    asset
        .fields
        .ports
        .iter()
        .filter(|p| p.exposure == Exposure::Internet)
        .map(|p| (p.port, p.protocol.as_str()))
        .collect()
}

impl Condition {
    /// Why the condition holds for this change, or nothing when it does not. `before` is
    /// `None` for a new asset.
    pub fn reasons(&self, before: Option<&Asset>, after: &Asset) -> Vec<String> {
        match self {
            Condition::NewInternetPort => {
                let old = before.map(internet_ports).unwrap_or_default();
                internet_ports(after)
                    .into_iter()
                    .filter(|p| !old.contains(p))
                    .map(|(port, proto)| format!("port {port}/{proto} is now internet-facing"))
                    .collect()
            }
            Condition::HighValueChanged { min_value } => {
                let Some(before) = before else { return vec![] };
                let value = before.value.max(after.value).unwrap_or(0);
                if value < *min_value {
                    return vec![];
                }
                let changed = changed_fields(
                    &serde_json::to_value(before).expect("asset serialises"),
                    &serde_json::to_value(after).expect("asset serialises"),
                );
                let changed: Vec<String> = changed
                    .into_iter()
                    .filter(|k| !matches!(k.as_str(), "revision" | "updated_at"))
                    .collect();
                if changed.is_empty() {
                    return vec![];
                }
                vec![format!(
                    "asset of value {value} changed: {}",
                    changed.join(", ")
                )]
            }
            Condition::OwnerRemoved => match before.and_then(|b| b.fields.owner.as_deref()) {
                Some(owner) if after.fields.owner.is_none() => {
                    vec![format!("owner {owner} removed")]
                }
                _ => vec![],
            },
            Condition::FingerprintChanged => match before {
                Some(b) if b.fields.fingerprint != after.fields.fingerprint => {
                    let (old, new) = (&b.fields.fingerprint, &after.fields.fingerprint);
                    let mut parts = vec![];
                    for (name, differs) in [
                        ("banners", old.banners != new.banners),
                        ("TLS certificate", old.tls != new.tls),
                        ("CPE", old.cpe != new.cpe),
                        ("hashes", old.hashes != new.hashes),
                    ] {
                        if differs {
                            parts.push(name);
                        }
                    }
                    vec![format!("fingerprint changed: {}", parts.join(", "))]
                }
                _ => vec![],
            },
            Condition::FieldChanged { fields } => {
                let Some(before) = before else { return vec![] };
                let changed = changed_fields(
                    &serde_json::to_value(before).expect("asset serialises"),
                    &serde_json::to_value(after).expect("asset serialises"),
                );
                fields
                    .iter()
                    .filter(|f| changed.contains(f))
                    .map(|f| format!("{f} changed"))
                    .collect()
            }
        }
    }
}

/// Every enabled rule that holds for the change from `before` to `after`.
pub fn evaluate(rules: &[ChangeRule], before: Option<&Asset>, after: &Asset) -> Vec<RuleMatch> {
    rules
        .iter()
        .filter(|r| r.definition.enabled)
        .filter_map(|r| {
            let reasons = r.definition.condition.reasons(before, after);
            (!reasons.is_empty()).then(|| RuleMatch {
                rule_id: r.id.clone(),
                rule_name: r.definition.name.clone(),
                action: r.definition.action,
                severity: r.definition.severity,
                webhook_url: r.definition.webhook_url.clone(),
                reasons,
            })
        })
        .collect()
}

/// The rules a new tenant starts with: the four examples of I.1.d.
pub fn default_rules() -> Vec<RuleDefinition> {
    let rule = |name: &str, condition, action, severity| RuleDefinition {
        name: name.into(),
        condition,
        action,
        severity,
        webhook_url: None,
        enabled: true,
    };
    vec![
        rule(
            "新增互联网暴露端口",
            Condition::NewInternetPort,
            RuleAction::RequireApproval,
            Severity::High,
        ),
        rule(
            "高价值资产变更",
            Condition::HighValueChanged { min_value: 4 },
            RuleAction::Alert,
            Severity::Medium,
        ),
        rule(
            "责任人被移除",
            Condition::OwnerRemoved,
            RuleAction::Alert,
            Severity::High,
        ),
        rule(
            "指纹变化",
            Condition::FingerprintChanged,
            RuleAction::Alert,
            Severity::Low,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunshou_model::asset::{AssetFields, Lifecycle, Port, Priority};

    fn asset(fields: AssetFields) -> Asset {
        Asset {
            id: "a1".into(),
            tenant_id: "t".into(),
            lifecycle: Lifecycle::InService,
            value: fields.value(),
            internet_facing: fields.internet_facing(),
            priority: Priority { score: 0, level: 4 },
            fields,
            risk_note: None,
            revision: 1,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-01T00:00:00.000000Z".into(),
        }
    }

    fn base() -> AssetFields {
        AssetFields {
            name: "门户".into(),
            kind: "host".into(),
            owner: Some("张三".into()),
            confidentiality: Some(5),
            integrity: Some(4),
            availability: Some(4),
            ports: vec![Port {
                port: 22,
                protocol: "tcp".into(),
                service: Some("ssh".into()),
                exposure: Exposure::Internal,
            }],
            ..Default::default()
        }
    }

    fn rules() -> Vec<ChangeRule> {
        default_rules()
            .into_iter()
            .enumerate()
            .map(|(i, definition)| ChangeRule {
                id: format!("r{i}"),
                definition,
            })
            .collect()
    }

    fn names(m: &[RuleMatch]) -> Vec<&str> {
        m.iter().map(|m| m.rule_id.as_str()).collect()
    }

    #[test]
    fn exposing_an_internal_port_is_a_new_internet_port() {
        let before = asset(base());
        let mut f = base();
        f.ports[0].exposure = Exposure::Internet;
        let after = asset(f);
        let m = evaluate(&rules(), Some(&before), &after);
        assert_eq!(names(&m), ["r0", "r1"]);
        assert_eq!(m[0].reasons, ["port 22/tcp is now internet-facing"]);
        assert_eq!(m[0].action, RuleAction::RequireApproval);
    }

    #[test]
    fn an_unchanged_internet_port_does_not_fire_again() {
        let mut f = base();
        f.ports[0].exposure = Exposure::Internet;
        let before = asset(f.clone());
        f.zone = Some("互联网区".into());
        let after = asset(f);
        assert_eq!(names(&evaluate(&rules(), Some(&before), &after)), ["r1"]);
    }

    #[test]
    fn a_new_asset_with_internet_ports_fires_only_the_port_rule() {
        let mut f = base();
        f.ports[0].exposure = Exposure::Internet;
        assert_eq!(names(&evaluate(&rules(), None, &asset(f))), ["r0"]);
        assert!(evaluate(&rules(), None, &asset(base())).is_empty());
    }

    #[test]
    fn low_value_changes_are_quiet_and_owner_removal_is_not() {
        let mut f = base();
        f.confidentiality = Some(1);
        f.integrity = Some(1);
        f.availability = Some(1);
        let before = asset(f.clone());
        f.department = Some("信息中心".into());
        assert!(evaluate(&rules(), Some(&before), &asset(f.clone())).is_empty());
        f.owner = None;
        let m = evaluate(&rules(), Some(&before), &asset(f));
        assert_eq!(names(&m), ["r2"]);
        assert_eq!(m[0].reasons, ["owner 张三 removed"]);
    }

    #[test]
    fn fingerprint_and_field_rules_name_what_changed() {
        let before = asset(base());
        let mut f = base();
        f.fingerprint.cpe = vec!["cpe:2.3:a:nginx:nginx:1.25.3:*:*:*:*:*:*:*".into()];
        let m = evaluate(&rules(), Some(&before), &asset(f.clone()));
        assert_eq!(names(&m), ["r1", "r3"]);
        assert_eq!(m[1].reasons, ["fingerprint changed: CPE"]);
        let zone = ChangeRule {
            id: "z".into(),
            definition: RuleDefinition {
                name: "zone".into(),
                condition: Condition::FieldChanged {
                    fields: vec!["zone".into(), "lifecycle".into()],
                },
                action: RuleAction::Alert,
                severity: Severity::Low,
                webhook_url: None,
                enabled: true,
            },
        };
        assert!(evaluate(
            std::slice::from_ref(&zone),
            Some(&before),
            &asset(f.clone())
        )
        .is_empty());
        let mut moved = asset(f);
        moved.lifecycle = Lifecycle::Changing;
        let m = evaluate(&[zone], Some(&before), &moved);
        assert_eq!(m[0].reasons, ["lifecycle changed"]);
    }

    #[test]
    fn disabled_rules_never_fire() {
        let mut rules = rules();
        rules.iter_mut().for_each(|r| r.definition.enabled = false);
        let before = asset(base());
        let mut f = base();
        f.owner = None;
        assert!(evaluate(&rules, Some(&before), &asset(f)).is_empty());
    }

    #[test]
    fn definitions_are_validated_by_field() {
        let mut d = default_rules().remove(0);
        d.webhook_url = Some("ftp://x".into());
        assert!(d.validate().unwrap_err().starts_with("webhook_url"));
        d.webhook_url = Some("  ".into());
        d.validate().unwrap();
        assert_eq!(d.webhook_url, None);
        d.condition = Condition::FieldChanged {
            fields: vec!["colour".into()],
        };
        assert_eq!(
            d.validate().unwrap_err(),
            "condition.fields: unknown attribute 'colour'"
        );
        d.condition = Condition::HighValueChanged { min_value: 9 };
        assert!(d.validate().unwrap_err().starts_with("condition.min_value"));
        assert!(known_field("owner") && known_field("lifecycle") && !known_field("x"));
    }
}
