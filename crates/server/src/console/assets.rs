//! The asset ledger in the console (clause I.1): list with filters and grouped counts, detail
//! with history, create and edit forms, lifecycle moves, and the internet exposure view.
//! Every action goes through the same functions as the API.

use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::assets::{self as api, AssetFilter};
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use yunshou_model::asset::{Asset, Exposure, Lifecycle, Port, KNOWN_KINDS};
use yunshou_model::Permission;
use yunshou_store::{AssetChange, AssetGroup, ChangeOutcome, Page};

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "assets.html")]
struct LedgerPage {
    l: Layout,
    f: AssetFilter,
    assets: Vec<Asset>,
    total: i64,
    offset: i64,
    groups: Vec<(String, i64)>,
    group_by: String,
    query_string: String,
    can_write: bool,
    exposure_view: bool,
    saved: Vec<yunshou_store::SavedQuery>,
    trend: String,
    exposed_ports: Vec<yunshou_store::ExposedPort>,
}

impl LedgerPage {
    fn mine(&self, q: &yunshou_store::SavedQuery) -> bool {
        q.user_id == self.l.p.user.id
    }
    fn v<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
    fn state(&self, a: &Asset) -> &'static str {
        state_label(&self.l, a.lifecycle)
    }
    fn page_link(&self, offset: i64) -> String {
        format!(
            "{}?{}{}offset={offset}",
            if self.exposure_view {
                "/assets/exposure"
            } else {
                "/assets"
            },
            self.query_string,
            if self.query_string.is_empty() {
                ""
            } else {
                "&"
            }
        )
    }
    fn prev_offset(&self) -> i64 {
        (self.offset - PAGE_SIZE).max(0)
    }
    fn next_offset(&self) -> i64 {
        self.offset + PAGE_SIZE
    }
    fn has_next(&self) -> bool {
        self.offset + PAGE_SIZE < self.total
    }
    fn group_max(&self) -> i64 {
        self.groups.iter().map(|g| g.1).max().unwrap_or(1).max(1)
    }
    fn bar(&self, n: &i64) -> i64 {
        n * 100 / self.group_max()
    }
    fn internet_ports(&self, a: &Asset) -> String {
        a.fields
            .ports
            .iter()
            .filter(|p| p.exposure == Exposure::Internet)
            .map(|p| format!("{}/{}", p.port, p.protocol))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn state_label(l: &Layout, s: Lifecycle) -> &'static str {
    l.t.get(&format!("lifecycle.{}", s.as_str()))
}

fn filter_query(f: &AssetFilter) -> String {
    let port = f.port.map(|p| p.to_string());
    let pairs: Vec<(&str, &str)> = [
        ("q", f.q.as_deref()),
        ("ip", f.ip.as_deref()),
        ("domain", f.domain.as_deref()),
        ("port", port.as_deref()),
        ("middleware", f.middleware.as_deref()),
        ("application", f.application.as_deref()),
        ("tech", f.tech.as_deref()),
        ("state", f.state.as_deref()),
        ("business_type", f.business_type.as_deref()),
        ("owner", f.owner.as_deref()),
        ("kind", f.kind.as_deref()),
        ("exposure", f.exposure.as_deref()),
        ("sort", f.sort.as_deref()),
        ("group_by", f.group_by.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn ledger(
    state: &AppState,
    l: Layout,
    mut f: AssetFilter,
    exposure_view: bool,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AssetsRead)?.clone();
    if exposure_view {
        f.exposure = Some("internet".into());
    }
    let query = f.query().map_err(ConsoleError::back("/assets"))?;
    let sort = match f.sort.as_deref().unwrap_or("priority") {
        "name" => yunshou_store::AssetSort::Name,
        "updated" => yunshou_store::AssetSort::Updated,
        _ => yunshou_store::AssetSort::Priority,
    };
    let offset = f.offset.unwrap_or(0).max(0);
    let (assets, total) = state
        .store
        .list_assets(
            &scope,
            &query,
            sort,
            Page {
                limit: PAGE_SIZE,
                offset,
            },
        )
        .await?;
    let group_by = f
        .group_by
        .clone()
        .filter(|g| AssetGroup::parse(g).is_some())
        .unwrap_or_else(|| {
            if exposure_view {
                "business_system".into()
            } else {
                "business_type".into()
            }
        });
    let group = AssetGroup::parse(&group_by).expect("checked");
    let groups = state
        .store
        .count_assets(&scope, &query, group)
        .await?
        .into_iter()
        .map(|(k, n)| (k.unwrap_or_else(|| "—".into()), n))
        .collect();
    let query_string = filter_query(&AssetFilter {
        offset: None,
        limit: None,
        ..f.clone()
    });
    let can_write = l.p.can(Permission::AssetsWrite);
    let saved = state
        .store
        .saved_queries(&scope, yunshou_store::SavedKind::Assets, &l.p.user.id)
        .await?;
    let (trend, exposed_ports) = if exposure_view {
        let points = state.store.exposure_trend(&scope, 30).await?;
        let labels: Vec<String> = points.iter().map(|p| p.day[5..].to_string()).collect();
        let svg = super::svg::line_chart(
            l.t.get("exposure.trend"),
            &labels,
            &[
                super::svg::Series {
                    name: l.t.get("exposure.assets"),
                    class: "line-a",
                    values: points.iter().map(|p| p.internet_assets).collect(),
                },
                super::svg::Series {
                    name: l.t.get("asset.internet_ports"),
                    class: "line-b",
                    values: points.iter().map(|p| p.internet_ports).collect(),
                },
            ],
        );
        (svg, state.store.exposed_ports(&scope).await?)
    } else {
        (String::new(), vec![])
    };
    let flash = l.flash.is_some();
    let html = LedgerPage {
        l,
        f,
        assets,
        total,
        offset,
        groups,
        group_by,
        query_string,
        can_write,
        exposure_view,
        saved,
        trend,
        exposed_ports,
    }
    .render()?;
    Ok(page(flash, html))
}

/// `GET /assets`.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<AssetFilter>,
) -> Result<Response, ConsoleError> {
    ledger(&state, l, f, false).await
}

/// `GET /assets/exposure`: the internet-facing surface (I.1.e, least exposure).
pub async fn exposure(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<AssetFilter>,
) -> Result<Response, ConsoleError> {
    ledger(&state, l, f, true).await
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    l: Layout,
    a: Asset,
    history: Vec<AssetChange>,
    can_write: bool,
    next_states: Vec<Lifecycle>,
    relations: Vec<RelationRow>,
    graph: String,
    alerts: Vec<yunshou_store::ChangeAlert>,
}

/// A relation as the asset page lists it: seen from the asset.
struct RelationRow {
    id: String,
    outgoing: bool,
    label: &'static str,
    other_id: String,
    other_name: String,
    note: String,
}

impl AssetPage {
    fn state(&self, s: &Lifecycle) -> &'static str {
        state_label(&self.l, *s)
    }
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
    fn opt<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("—")
    }
    fn rating(&self, v: &Option<u8>) -> String {
        v.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
    }
    fn list(&self, v: &[String]) -> String {
        if v.is_empty() {
            "—".into()
        } else {
            v.join("、")
        }
    }
    /// The valuation with its inputs, so the operator sees how the value came about.
    fn valuation(&self) -> String {
        let f = &self.a.fields;
        match (f.confidentiality, f.integrity, f.availability) {
            (Some(c), Some(i), Some(a)) => format!(
                "max(round(log2((2^{c} + 2^{i} + 2^{a}) / 3)), {}) = max({}, {}) = {}",
                f.business_importance.unwrap_or(1),
                yunshou_model::asset::cia_value(c, i, a),
                f.business_importance.unwrap_or(1),
                self.a.value.unwrap_or(0)
            ),
            _ => self.l.t.get("asset.unvalued").to_string(),
        }
    }
    fn sensitivity(&self) -> &'static str {
        match self.a.fields.sensitivity {
            Some(yunshou_model::asset::Sensitivity::High) => self.l.t.get("sensitivity.high"),
            Some(yunshou_model::asset::Sensitivity::Medium) => self.l.t.get("sensitivity.medium"),
            Some(yunshou_model::asset::Sensitivity::Low) => self.l.t.get("sensitivity.low"),
            None => "—",
        }
    }
    fn priority_formula(&self) -> String {
        format!(
            "{} × {} × {} = {} → P{}",
            self.a.value.unwrap_or(1),
            self.a.fields.business_importance.unwrap_or(1),
            if self.a.internet_facing { 2 } else { 1 },
            self.a.priority.score,
            self.a.priority.level
        )
    }
    fn changes(&self, c: &AssetChange) -> String {
        c.changed
            .iter()
            .take(6)
            .map(|k| {
                let show = |v: Option<&Value>| match v {
                    None | Some(Value::Null) => "∅".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                };
                format!(
                    "{k}: {} → {}",
                    show(c.before.as_ref().and_then(|b| b.get(k))),
                    show(c.after.get(k))
                )
            })
            .collect::<Vec<_>>()
            .join("；")
    }
}

/// `GET /assets/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AssetsRead)?.clone();
    let a = state.store.get_asset(&scope, &id).await?;
    let (history, _) = state
        .store
        .asset_history(
            &scope,
            Some(&id),
            Page {
                limit: 100,
                offset: 0,
            },
        )
        .await?;
    let can_write = l.p.can(Permission::AssetsWrite);
    let next_states = a.lifecycle.next_states().to_vec();
    let (graph, n) = super::asset_control::graph_svg(&state, &l, &id, 1).await?;
    let name_of = |id: &str| {
        n.nodes
            .iter()
            .find(|x| x.asset.id == id)
            .map(|x| x.asset.fields.name.clone())
            .unwrap_or_default()
    };
    let relations = n
        .relations
        .iter()
        .map(|r| {
            let outgoing = r.from_id == id;
            let other = if outgoing { &r.to_id } else { &r.from_id };
            RelationRow {
                id: r.id.clone(),
                outgoing,
                label: l.t.get(&format!("relation.{}", r.kind.as_str())),
                other_id: other.clone(),
                other_name: name_of(other),
                note: r.note.clone().unwrap_or_default(),
            }
        })
        .collect();
    let (alerts, _) = state
        .store
        .change_alerts(
            &scope,
            &yunshou_store::AlertFilter {
                status: None,
                asset_id: Some(id.clone()),
            },
            Page {
                limit: 20,
                offset: 0,
            },
        )
        .await?;
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        AssetPage {
            l,
            a,
            history,
            can_write,
            next_states,
            relations,
            graph,
            alerts,
        }
        .render()?,
    ))
}

#[derive(Template)]
#[template(path = "asset_form.html")]
struct FormPage {
    l: Layout,
    action: String,
    form: AssetForm,
    kinds: [&'static str; 11],
    creating: bool,
}

/// The editable fields as the form shows them: lists one per line or comma separated; ports
/// one per line as `443/tcp https internet`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    ips: String,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    ports: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    middleware: String,
    #[serde(default)]
    applications: String,
    #[serde(default)]
    tech_stack: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    data_center: String,
    #[serde(default)]
    confidentiality: String,
    #[serde(default)]
    integrity: String,
    #[serde(default)]
    availability: String,
    #[serde(default)]
    sensitivity: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    business_system: String,
    #[serde(default)]
    business_type: String,
    #[serde(default)]
    business_importance: String,
    #[serde(default)]
    lifecycle: String,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['\n', ',', '，', '、'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `443/tcp https internet` lines (protocol, service and exposure optional).
fn parse_ports(s: &str) -> Result<Vec<Port>, ApiError> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default();
            let (num, protocol) = first.split_once('/').unwrap_or((first, "tcp"));
            let port: u16 = num.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "ports[{i}]: `{line}` does not start with a port number 1–65535"
                ))
            })?;
            let mut service = None;
            let mut exposure = Exposure::Internal;
            for w in words {
                match w {
                    "internet" | "互联网" => exposure = Exposure::Internet,
                    "internal" | "内网" => exposure = Exposure::Internal,
                    other => service = Some(other.to_string()),
                }
            }
            Ok(Port {
                port,
                protocol: protocol.to_string(),
                service,
                exposure,
            })
        })
        .collect()
}

impl AssetForm {
    fn from_asset(a: &Asset) -> AssetForm {
        let f = &a.fields;
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let n = |v: Option<u8>| v.map(|v| v.to_string()).unwrap_or_default();
        AssetForm {
            name: f.name.clone(),
            kind: f.kind.clone(),
            ips: f.ips.join("\n"),
            domains: f.domains.join("\n"),
            ports: f
                .ports
                .iter()
                .map(|p| {
                    format!(
                        "{}/{} {} {}",
                        p.port,
                        p.protocol,
                        p.service.clone().unwrap_or_default(),
                        if p.exposure == Exposure::Internet {
                            "internet"
                        } else {
                            "internal"
                        }
                    )
                    .replace("  ", " ")
                })
                .collect::<Vec<_>>()
                .join("\n"),
            os: o(&f.os),
            middleware: f.middleware.join("\n"),
            applications: f.applications.join("\n"),
            tech_stack: f.tech_stack.join("\n"),
            zone: o(&f.zone),
            data_center: o(&f.data_center),
            confidentiality: n(f.confidentiality),
            integrity: n(f.integrity),
            availability: n(f.availability),
            sensitivity: f
                .sensitivity
                .map(|s| {
                    serde_json::to_value(s)
                        .unwrap()
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .unwrap_or_default(),
            owner: o(&f.owner),
            department: o(&f.department),
            business_system: o(&f.business_system),
            business_type: o(&f.business_type),
            business_importance: n(f.business_importance),
            lifecycle: a.lifecycle.as_str().into(),
        }
    }

    /// The form as a JSON merge patch of the asset's fields: empty inputs clear the field.
    fn to_patch(&self) -> Result<Value, ApiError> {
        let text = |v: &str| {
            if v.trim().is_empty() {
                Value::Null
            } else {
                Value::String(v.trim().to_string())
            }
        };
        let rating = |field: &str, v: &str| -> Result<Value, ApiError> {
            if v.trim().is_empty() {
                return Ok(Value::Null);
            }
            v.trim()
                .parse::<u8>()
                .map(|n| json!(n))
                .map_err(|_| ApiError::bad_request(format!("{field}: must be 1–5")))
        };
        Ok(json!({
            "name": self.name.trim(),
            "kind": self.kind.trim(),
            "ips": split_list(&self.ips),
            "domains": split_list(&self.domains),
            "ports": parse_ports(&self.ports)?,
            "os": text(&self.os),
            "middleware": split_list(&self.middleware),
            "applications": split_list(&self.applications),
            "tech_stack": split_list(&self.tech_stack),
            "zone": text(&self.zone),
            "data_center": text(&self.data_center),
            "confidentiality": rating("confidentiality", &self.confidentiality)?,
            "integrity": rating("integrity", &self.integrity)?,
            "availability": rating("availability", &self.availability)?,
            "sensitivity": text(&self.sensitivity),
            "owner": text(&self.owner),
            "department": text(&self.department),
            "business_system": text(&self.business_system),
            "business_type": text(&self.business_type),
            "business_importance": rating("business_importance", &self.business_importance)?,
        }))
    }
}

impl FormPage {
    fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "kind" => &self.form.kind,
            "confidentiality" => &self.form.confidentiality,
            "integrity" => &self.form.integrity,
            "availability" => &self.form.availability,
            "business_importance" => &self.form.business_importance,
            "sensitivity" => &self.form.sensitivity,
            "lifecycle" => &self.form.lifecycle,
            _ => return false,
        };
        current == value
    }
}

/// `GET /assets/new`.
pub async fn new_form(Console(l): Console) -> Result<Response, ConsoleError> {
    l.p.require(Permission::AssetsWrite)?;
    let flash = l.flash.is_some();
    let form = AssetForm {
        kind: "host".into(),
        lifecycle: "planned".into(),
        ..Default::default()
    };
    Ok(page(
        flash,
        FormPage {
            l,
            action: "/assets".into(),
            form,
            kinds: KNOWN_KINDS,
            creating: true,
        }
        .render()?,
    ))
}

/// `POST /assets`.
pub async fn create(
    State(state): State<AppState>,
    f: ConsoleForm<AssetForm>,
) -> Result<Response, ConsoleError> {
    let back = "/assets/new";
    let mut body = f.form.to_patch().map_err(ConsoleError::back(back))?;
    // A new asset: drop cleared fields rather than patching them.
    if let Some(obj) = body.as_object_mut() {
        obj.retain(|_, v| !v.is_null());
        obj.insert(
            "lifecycle".into(),
            json!(if f.form.lifecycle.is_empty() {
                "planned"
            } else {
                f.form.lifecycle.as_str()
            }),
        );
    }
    let asset = api::create(&state, &f.layout.p, body)
        .await
        .map_err(ConsoleError::back(back))?;
    Ok(done(
        &format!("/assets/{}", asset.id),
        f.layout.t.get("asset.created"),
    ))
}

/// `GET /assets/{id}/edit`.
pub async fn edit_form(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AssetsWrite)?.clone();
    let a = state.store.get_asset(&scope, &id).await?;
    let flash = l.flash.is_some();
    let form = AssetForm::from_asset(&a);
    Ok(page(
        flash,
        FormPage {
            l,
            action: format!("/assets/{id}"),
            form,
            kinds: KNOWN_KINDS,
            creating: false,
        }
        .render()?,
    ))
}

/// `POST /assets/{id}`: saves the edit form.
pub async fn update(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<AssetForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/assets/{id}/edit");
    let patch = f.form.to_patch().map_err(ConsoleError::back(&back))?;
    let outcome = api::patch(&state, &f.layout.p, &id, &patch, None)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(changed(&format!("/assets/{id}"), &f.layout.t, &outcome))
}

#[derive(Deserialize)]
pub struct LifecycleForm {
    to: String,
    #[serde(default)]
    risk_note: String,
}

/// `POST /assets/{id}/lifecycle`.
pub async fn move_lifecycle(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<LifecycleForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/assets/{id}");
    let scope = f.layout.p.require(Permission::AssetsWrite)?;
    let to = Lifecycle::parse(&f.form.to).ok_or_else(|| {
        ConsoleError::Page(
            StatusCode::BAD_REQUEST,
            format!("to: unknown state `{}`", f.form.to),
        )
    })?;
    let note = Some(f.form.risk_note.as_str()).filter(|n| !n.trim().is_empty());
    let outcome = state
        .store
        .set_lifecycle(scope, &id, to, note, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(changed(&back, &f.layout.t, &outcome))
}

/// Back to `to`, saying whether the change took effect or waits for approval.
fn changed(to: &str, t: &crate::i18n::I18n, outcome: &ChangeOutcome) -> Response {
    match outcome {
        ChangeOutcome::Applied { .. } => done(to, t.get("users.updated")),
        ChangeOutcome::Held { .. } => done(to, t.get("asset.change_held")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_from_lines() {
        let p = parse_ports("443/tcp https internet\n 53/udp dns\n8080\n").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(
            (p[0].port, p[0].protocol.as_str(), p[0].exposure),
            (443, "tcp", Exposure::Internet)
        );
        assert_eq!(
            (p[1].protocol.as_str(), p[1].service.as_deref()),
            ("udp", Some("dns"))
        );
        assert_eq!(p[2].exposure, Exposure::Internal);
        assert!(parse_ports("https 443")
            .unwrap_err()
            .detail
            .starts_with("ports[0]"));
    }

    #[test]
    fn lists_split_on_lines_and_commas() {
        assert_eq!(split_list("a, b\nc、d，e\n\n"), ["a", "b", "c", "d", "e"]);
    }
}
