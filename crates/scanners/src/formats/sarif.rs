//! SARIF 2.1.0 from any tool: each run's results, with their rules (driver and extensions),
//! the repository from `versionControlProvenance`, and `file:line` locations.

use std::collections::HashMap;
use std::io::BufRead;

use serde::Deserialize;
use yunshou_model::finding::{normalise_cves, normalise_cwes, Severity, Target};

use crate::emit::Out;
use crate::fields::{self, blank, clean, paragraphs};
use crate::ParseError;

#[derive(Deserialize)]
struct Log {
    version: Option<String>,
    runs: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    #[serde(default)]
    results: Option<Vec<SarifResult>>,
    #[serde(default)]
    version_control_provenance: Vec<Provenance>,
    #[serde(default)]
    invocations: Vec<Invocation>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Component,
    #[serde(default)]
    extensions: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    name: String,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: Option<String>,
    short_description: Option<Message>,
    full_description: Option<Message>,
    help: Option<Message>,
    help_uri: Option<String>,
    #[serde(default)]
    message_strings: HashMap<String, Message>,
    default_configuration: Option<Configuration>,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize)]
struct Configuration {
    level: Option<String>,
}

#[derive(Deserialize, Default)]
struct Properties {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(rename = "security-severity")]
    security_severity: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Message {
    text: Option<String>,
    id: Option<String>,
    #[serde(default)]
    arguments: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provenance {
    repository_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    start_time_utc: Option<String>,
    end_time_utc: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: Option<String>,
    rule_index: Option<usize>,
    rule: Option<RuleRef>,
    kind: Option<String>,
    level: Option<String>,
    message: Message,
    #[serde(default)]
    locations: Vec<Location>,
    #[serde(default)]
    suppressions: Vec<Suppression>,
    #[serde(default)]
    properties: Properties,
    provenance: Option<ResultProvenance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleRef {
    id: Option<String>,
    index: Option<usize>,
    tool_component: Option<ComponentRef>,
}

#[derive(Deserialize)]
struct ComponentRef {
    index: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: Option<u64>,
    snippet: Option<Message>,
}

#[derive(Deserialize)]
struct Suppression {
    kind: Option<String>,
    status: Option<String>,
    state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultProvenance {
    last_detection_time_utc: Option<String>,
}

/// Fills `{0}`, `{1}` … with the arguments (SARIF §3.11.5).
fn format_message(template: &str, args: &[String]) -> String {
    let mut s = template.to_string();
    for (i, a) in args.iter().enumerate() {
        s = s.replace(&format!("{{{i}}}"), a);
    }
    s
}

fn level_severity(level: &str) -> Option<Severity> {
    Some(match level {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "note" => Severity::Low,
        "none" => Severity::Info,
        _ => return None,
    })
}

pub(crate) fn parse<E>(input: &mut dyn BufRead, out: &mut Out<E>) -> Result<(), ParseError<E>> {
    let log: Log = super::read_json(input, out)?;
    if let Some(v) = &log.version {
        if !v.starts_with("2.") {
            return Err(out.invalid("version", format!("SARIF version {v} is not 2.x")));
        }
    }
    for (r, run) in log.runs.into_iter().enumerate() {
        let source = clean(&run.tool.driver.name)
            .map(|n| n.to_lowercase().replace(char::is_whitespace, "-"))
            .unwrap_or_else(|| "sarif".to_string());
        let components: Vec<&Component> = std::iter::once(&run.tool.driver)
            .chain(run.tool.extensions.iter())
            .collect();
        let by_id: HashMap<&str, &Rule> = components
            .iter()
            .flat_map(|c| c.rules.iter())
            .map(|rule| (rule.id.as_str(), rule))
            .collect();
        let base = Target {
            repository: run
                .version_control_provenance
                .iter()
                .find_map(|p| p.repository_uri.as_deref().and_then(clean)),
            ..Default::default()
        };
        out.scanned(&base)?;
        let run_time = run
            .invocations
            .iter()
            .find_map(|i| i.end_time_utc.clone().or(i.start_time_utc.clone()));
        let run_time = match run_time.as_deref().and_then(clean) {
            Some(t) => Some(
                fields::rfc3339(&t)
                    .map_err(|m| out.invalid(format!("runs[{r}].invocations"), m))?,
            ),
            None => None,
        };
        out.scan_time(run_time.as_deref());

        for (i, res) in run.results.unwrap_or_default().into_iter().enumerate() {
            let at = || format!("runs[{r}].results[{i}]");
            if let Some(kind) = res.kind.as_deref() {
                if !matches!(kind, "fail" | "open" | "review") {
                    out.skip(format!("SARIF result of kind \"{kind}\": not a failure"));
                    continue;
                }
            }
            let component = res
                .rule
                .as_ref()
                .and_then(|r| r.tool_component.as_ref())
                .and_then(|c| c.index)
                .and_then(|i| components.get(i + 1).copied());
            let rule_id = res
                .rule_id
                .clone()
                .or_else(|| res.rule.as_ref().and_then(|r| r.id.clone()));
            let index = res.rule_index.or(res.rule.as_ref().and_then(|r| r.index));
            let rule: Option<&Rule> = match (component, index) {
                (Some(c), Some(ix)) => c.rules.get(ix),
                (None, Some(ix)) => run.tool.driver.rules.get(ix),
                _ => None,
            }
            .or_else(|| rule_id.as_deref().and_then(|id| by_id.get(id).copied()));
            let rule_id = rule_id.or_else(|| rule.map(|r| r.id.clone()));

            let message = match (&res.message.text, &res.message.id) {
                (Some(t), _) => format_message(t, &res.message.arguments),
                (None, Some(id)) => rule
                    .and_then(|r| r.message_strings.get(id))
                    .and_then(|m| m.text.as_deref())
                    .map(|t| format_message(t, &res.message.arguments))
                    .unwrap_or_default(),
                (None, None) => String::new(),
            };
            let level = res
                .level
                .clone()
                .or_else(|| rule.and_then(|r| r.default_configuration.as_ref()?.level.clone()))
                .unwrap_or_else(|| "warning".to_string());
            let security = res
                .properties
                .security_severity
                .as_ref()
                .or(rule.and_then(|r| r.properties.security_severity.as_ref()))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            let (severity, raw) = match &security {
                Some(s) => (
                    fields::cvss_severity(s)
                        .map_err(|m| out.invalid(at(), format!("security-severity {m}")))?
                        .unwrap_or(Severity::Info),
                    s.clone(),
                ),
                None => (
                    level_severity(&level).ok_or_else(|| {
                        out.invalid(
                            at(),
                            format!("level \"{level}\" is not error, warning, note or none"),
                        )
                    })?,
                    level.clone(),
                ),
            };

            let physical = res
                .locations
                .iter()
                .find_map(|l| l.physical_location.as_ref());
            let uri = physical
                .and_then(|p| p.artifact_location.as_ref())
                .and_then(|a| a.uri.as_deref())
                .and_then(clean);
            let region = physical.and_then(|p| p.region.as_ref());
            let line = region.and_then(|r| r.start_line);

            let mut f = blank(&source);
            f.target = Target {
                location: uri.map(|u| match line {
                    Some(l) => format!("{u}:{l}"),
                    None => u,
                }),
                ..base.clone()
            };
            f.check_id = rule_id.clone();
            let short = rule
                .and_then(|r| r.short_description.as_ref()?.text.as_deref())
                .and_then(clean)
                .or_else(|| rule.and_then(|r| r.name.as_deref()).and_then(clean));
            f.title = short
                .or_else(|| message.lines().next().and_then(clean))
                .or_else(|| rule_id.clone())
                .unwrap_or_default();
            let suppressed = res
                .suppressions
                .iter()
                .find(|s| {
                    let status = s.status.as_deref().or(s.state.as_deref());
                    status.is_none_or(|st| st == "accepted")
                })
                .map(|s| {
                    format!(
                        "Suppressed in the tool ({}, accepted).",
                        s.kind.as_deref().unwrap_or("unknown kind")
                    )
                });
            let full = rule.and_then(|r| r.full_description.as_ref()?.text.as_deref());
            f.description = paragraphs([Some(message.as_str()), full, suppressed.as_deref()]);
            f.solution = rule
                .and_then(|r| r.help.as_ref()?.text.as_deref())
                .and_then(clean);
            f.evidence = region
                .and_then(|r| r.snippet.as_ref()?.text.as_deref())
                .and_then(clean);
            let tags: Vec<&str> = rule
                .map(|r| r.properties.tags.iter().map(String::as_str).collect())
                .unwrap_or_default();
            // `external/cwe/cwe-079`, `CWE-79`; CVE ids as rule ids (container scanners).
            f.cwes = normalise_cwes(tags.iter().filter_map(|t| {
                let lower = t.to_ascii_lowercase();
                let n = lower.rsplit(['/', '-']).next()?;
                lower
                    .contains("cwe")
                    .then(|| n.trim_start_matches('0').to_string())
            }));
            f.cves = normalise_cves(tags.iter().copied().chain(rule_id.as_deref()));
            f.severity = severity;
            f.severity_raw = Some(raw);
            f.references = rule.and_then(|r| r.help_uri.clone()).into_iter().collect();
            f.seen_at = match res
                .provenance
                .as_ref()
                .and_then(|p| p.last_detection_time_utc.as_deref())
                .and_then(clean)
            {
                Some(t) => Some(fields::rfc3339(&t).map_err(|m| out.invalid(at(), m))?),
                None => run_time.clone(),
            };
            f.category = Some("application".to_string());
            out.finding(f, at)?;
        }
    }
    Ok(())
}
