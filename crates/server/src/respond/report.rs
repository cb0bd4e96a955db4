//! The response report (R.2.b): timeline, classification, actions, evidence, root cause,
//! recovery and lessons — built once as a document and rendered to HTML or to PDF (with an
//! embedded CJK font), so both say the same. Archiving (R.2.c) freezes both with the
//! incident.

use crate::console::svg::esc;
use crate::i18n::Lang;
use yunshou_model::Actor;
use yunshou_pdfdoc::{Block, Document};
use yunshou_respond::classification;
use yunshou_store::incident_parts::IncidentDetail;
use yunshou_store::incidents::Incident;
use yunshou_store::{Store, TenantScope};

fn l(lang: Lang, zh: &'static str, en: &'static str) -> String {
    match lang {
        Lang::Zh => zh.into(),
        Lang::En => en.into(),
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("—").to_string()
}

fn category_text(inc: &Incident, lang: Lang) -> String {
    match inc.category.as_deref().and_then(classification::category) {
        Some(c) => {
            let name = if lang == Lang::Zh { c.zh } else { c.en };
            format!("{name} ({})", c.code)
        }
        None => "—".into(),
    }
}

fn level_text(inc: &Incident, lang: Lang) -> String {
    match inc.level {
        Some(level) => {
            let name = if lang == Lang::Zh {
                level.zh()
            } else {
                level.en()
            };
            let confirmed = if inc.level_confirmed {
                l(lang, "已确认", "confirmed")
            } else {
                l(lang, "待确认", "not confirmed")
            };
            format!("{name}（{} 级）{confirmed}", level.as_str())
        }
        None => "—".into(),
    }
}

/// Builds the report of an incident.
pub async fn build(
    store: &Store,
    scope: &TenantScope,
    tenant_name: &str,
    id: &str,
    lang: Lang,
) -> yunshou_store::Result<Document> {
    let d = store.incident_detail(scope, id).await?;
    let evidence = store.evidence(scope, id).await?;
    let custody = store.custody_log(scope, id).await?;
    let runs = store.playbook_runs(scope, Some(id)).await?;
    Ok(document(&d, &evidence, &custody, &runs, tenant_name, lang))
}

/// The document itself, from the incident's records.
pub fn document(
    d: &IncidentDetail,
    evidence: &[yunshou_store::evidence_vault::EvidenceItem],
    custody: &[yunshou_evidence::custody::CustodyEntry],
    runs: &[yunshou_store::playbook_runs::PlaybookRun],
    tenant_name: &str,
    lang: Lang,
) -> Document {
    let inc = &d.incident;
    let r = &inc.records;
    let mut b = Vec::new();
    let h = |level: u8, zh: &'static str, en: &'static str| Block::Heading {
        level,
        text: l(lang, zh, en),
    };
    b.push(h(1, "一、事件概况", "1. Overview"));
    let grading = inc
        .grading
        .map(|g| serde_json::to_value(g).unwrap_or_default().to_string())
        .unwrap_or_else(|| "—".into());
    b.push(Block::KeyValues(vec![
        (l(lang, "事件编号", "Incident"), inc.label.clone()),
        (l(lang, "单位", "Organisation"), tenant_name.to_string()),
        (l(lang, "事件名称", "Title"), inc.title.clone()),
        (l(lang, "事件分类", "Category"), category_text(inc, lang)),
        (
            l(lang, "事件子类", "Subcategory"),
            or_dash(Some(&inc.subcategory)),
        ),
        (l(lang, "事件级别", "Level"), level_text(inc, lang)),
        (l(lang, "定级要素", "Grading inputs"), grading),
        (
            l(lang, "当前阶段", "Phase"),
            format!("{} ({})", inc.phase.zh(), inc.phase.as_str()),
        ),
        (l(lang, "状态", "Status"), inc.status.as_str().to_string()),
        (l(lang, "负责人", "Owner"), or_dash(inc.owner.as_deref())),
        (
            l(lang, "发生时间", "Occurred"),
            or_dash(inc.occurred_at.as_deref()),
        ),
        (l(lang, "发现时间", "Detected"), inc.detected_at.clone()),
        (l(lang, "来源", "Source"), inc.source.clone()),
    ]));
    if !inc.description.is_empty() {
        b.push(Block::Paragraph(inc.description.clone()));
    }

    b.push(h(1, "二、处置过程", "2. Handling"));
    b.push(h(2, "各阶段", "Phases"));
    b.push(Block::Table {
        headers: vec![
            l(lang, "阶段", "Phase"),
            l(lang, "进入", "Entered"),
            l(lang, "离开", "Left"),
            l(lang, "操作人", "By"),
        ],
        rows: d
            .phases
            .iter()
            .map(|p| {
                vec![
                    p.phase.zh().to_string(),
                    p.entered_at.clone(),
                    or_dash(p.left_at.as_deref()),
                    p.entered_by.clone(),
                ]
            })
            .collect(),
        widths: Some(vec![1.0, 2.0, 2.0, 1.2]),
    });
    if let Some(a) = &r.activation {
        b.push(h(2, "诊断与启动决定", "Diagnosis and activation"));
        b.push(Block::KeyValues(vec![
            (l(lang, "决定", "Decision"), format!("{:?}", a.decision)),
            (l(lang, "理由", "Reason"), a.reason.clone()),
            (l(lang, "联系人", "Contacted"), a.contacted.join("、")),
            (
                l(lang, "决定人", "Decided by"),
                format!("{} {}", a.decided_by, a.decided_at),
            ),
        ]));
    }
    if !r.containment_actions.is_empty() {
        b.push(h(2, "抑制措施", "Containment actions"));
        b.push(Block::Table {
            headers: vec![
                l(lang, "措施", "Action"),
                l(lang, "对象", "Target"),
                l(lang, "结果", "Result"),
                l(lang, "执行人", "By"),
                l(lang, "时间", "At"),
            ],
            rows: r
                .containment_actions
                .iter()
                .map(|a| {
                    vec![
                        a.action.clone(),
                        a.target.clone(),
                        a.result.clone(),
                        a.by.clone(),
                        a.at.clone(),
                    ]
                })
                .collect(),
            widths: Some(vec![2.0, 1.4, 1.6, 1.0, 1.6]),
        });
    }
    if !runs.is_empty() {
        b.push(h(2, "剧本执行", "Playbook runs"));
        b.push(Block::Table {
            headers: vec![
                l(lang, "剧本", "Playbook"),
                l(lang, "方式", "Mode"),
                l(lang, "状态", "Status"),
                l(lang, "开始", "Started"),
                l(lang, "发起人", "By"),
            ],
            rows: runs
                .iter()
                .map(|run| {
                    vec![
                        run.playbook_name.clone(),
                        if run.dry_run {
                            "dry-run".into()
                        } else {
                            "run".into()
                        },
                        run.status.clone(),
                        run.started_at.clone(),
                        run.started_by.clone(),
                    ]
                })
                .collect(),
            widths: None,
        });
    }
    b.push(h(
        2,
        "根本原因与弱点修复",
        "Root cause and the weakness fixed",
    ));
    b.push(Block::KeyValues(vec![
        (
            l(lang, "根本原因", "Root cause"),
            or_dash(r.root_cause.as_deref()),
        ),
        (
            l(lang, "被利用弱点", "Exploited weakness"),
            r.weakness_fixed
                .as_ref()
                .map(|w| {
                    format!(
                        "{}{}{}",
                        w.description,
                        if w.fixed { " ✓" } else { "" },
                        w.finding_id
                            .as_deref()
                            .map(|f| format!(" (finding {f})"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "—".into()),
        ),
    ]));
    b.push(h(2, "恢复与跟踪", "Recovery and tracking"));
    let recovery = r.recovery.as_ref().map(|c| {
        format!(
            "{}；{} {}；{} {}；{} {}",
            c.systems.join("、"),
            l(lang, "完整性", "integrity"),
            if c.integrity_verified { "✓" } else { "✗" },
            l(lang, "可用性", "availability"),
            if c.availability_verified {
                "✓"
            } else {
                "✗"
            },
            c.note,
            c.verified_by
        )
    });
    let monitoring = r
        .monitoring
        .as_ref()
        .map(|m| format!("{} d: {}", m.days, m.observations));
    b.push(Block::KeyValues(vec![
        (
            l(lang, "恢复验证", "Recovery verified"),
            recovery.unwrap_or_else(|| "—".into()),
        ),
        (
            l(lang, "跟踪监测", "Follow-up monitoring"),
            monitoring.unwrap_or_else(|| "—".into()),
        ),
    ]));

    b.push(h(1, "三、关联对象与证据", "3. Links and evidence"));
    if !d.links.is_empty() {
        b.push(Block::Table {
            headers: vec![
                l(lang, "类型", "Kind"),
                l(lang, "对象", "Record"),
                "ID".into(),
            ],
            rows: d
                .links
                .iter()
                .map(|x| vec![x.kind.clone(), x.label.clone(), x.ref_id.clone()])
                .collect(),
            widths: Some(vec![0.8, 3.0, 2.2]),
        });
    }
    if !d.observables.is_empty() {
        b.push(h(2, "可观察对象", "Observables"));
        b.push(Block::Table {
            headers: vec![
                l(lang, "类型", "Kind"),
                l(lang, "值", "Value"),
                l(lang, "说明", "Note"),
            ],
            rows: d
                .observables
                .iter()
                .map(|o| vec![o.kind.clone(), o.value.clone(), o.note.clone()])
                .collect(),
            widths: Some(vec![0.8, 2.6, 2.6]),
        });
    }
    b.push(h(2, "证据清单", "Evidence"));
    if evidence.is_empty() {
        b.push(Block::Note(l(lang, "无", "None")));
    } else {
        b.push(Block::Table {
            headers: vec![
                l(lang, "名称", "Name"),
                l(lang, "类型", "Kind"),
                l(lang, "大小", "Bytes"),
                "SHA-256 / SM3".into(),
                l(lang, "收集人与时间", "Collected"),
            ],
            rows: evidence
                .iter()
                .map(|e| {
                    vec![
                        e.name.clone(),
                        e.kind.clone(),
                        e.size.to_string(),
                        format!("{}\n{}", e.sha256, e.sm3),
                        format!("{} {}", e.collector, e.collected_at),
                    ]
                })
                .collect(),
            widths: Some(vec![1.6, 0.7, 0.8, 3.4, 1.6]),
        });
    }
    if let Some(last) = custody.last() {
        b.push(Block::Note(format!(
            "{} {} · {} {}",
            l(lang, "监管链条目", "Custody entries"),
            custody.len(),
            l(lang, "链头 SM3", "head SM3"),
            last.hash
        )));
    }

    b.push(h(1, "四、报告与总结", "4. Reporting and review"));
    if !d.notices.is_empty() {
        b.push(Block::Table {
            headers: vec![
                l(lang, "报告对象", "To"),
                l(lang, "时限", "Due"),
                l(lang, "已报告", "Reported"),
                l(lang, "说明", "Note"),
            ],
            rows: d
                .notices
                .iter()
                .map(|n| {
                    vec![
                        n.recipient.clone(),
                        n.due_at.clone(),
                        or_dash(n.reported_at.as_deref()),
                        or_dash(n.note.as_deref()),
                    ]
                })
                .collect(),
            widths: None,
        });
    }
    b.push(Block::KeyValues(vec![
        (
            l(lang, "经验教训", "Lessons"),
            or_dash(r.lessons.as_deref()),
        ),
        (
            l(lang, "复盘会议", "Review meeting"),
            or_dash(r.review_meeting.as_deref()),
        ),
    ]));
    if !d.improvement_items.is_empty() {
        b.push(h(2, "改进措施", "Improvements"));
        b.push(Block::Table {
            headers: vec![
                l(lang, "措施", "Item"),
                l(lang, "类别", "Kind"),
                l(lang, "关联", "Link"),
                l(lang, "状态", "Status"),
            ],
            rows: d
                .improvement_items
                .iter()
                .map(|i| {
                    vec![
                        i.title.clone(),
                        i.kind.clone(),
                        i.link.clone(),
                        i.status.clone(),
                    ]
                })
                .collect(),
            widths: Some(vec![3.0, 0.8, 2.0, 0.8]),
        });
    }
    b.push(h(1, "五、处置时间线", "5. Timeline"));
    b.push(Block::Table {
        headers: vec![
            l(lang, "时间", "At"),
            l(lang, "人员", "Who"),
            l(lang, "事项", "What"),
            l(lang, "内容", "Detail"),
        ],
        rows: d
            .timeline
            .iter()
            .map(|t| {
                vec![
                    t.at.clone(),
                    t.actor.clone(),
                    t.kind.clone(),
                    t.detail.clone(),
                ]
            })
            .collect(),
        widths: Some(vec![1.8, 1.0, 0.9, 3.3]),
    });
    Document {
        title: format!(
            "{}：{} {}",
            l(lang, "网络安全事件响应报告", "Incident response report"),
            inc.label,
            inc.title
        ),
        subtitle: Some(format!("{tenant_name} · {}", yunshou_store::now_text())),
        author: "yunshou".into(),
        blocks: b,
    }
}

fn esc_lines(s: &str) -> String {
    esc(s).replace('\n', "<br>")
}

/// The report as a standalone HTML page (every value escaped).
pub fn html(doc: &Document, lang: Lang) -> String {
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<link rel=\"stylesheet\" href=\"/static/app.css\">\n</head>\n<body class=\"report\">\n<main>\n<h1 id=\"report-title\">{}</h1>\n",
        lang.tag(),
        esc(&doc.title),
        esc(&doc.title)
    );
    if let Some(s) = &doc.subtitle {
        o.push_str(&format!("<p>{}</p>\n", esc(s)));
    }
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text } => {
                let n = (*level).clamp(1, 3) + 1;
                o.push_str(&format!("<h{n}>{}</h{n}>\n", esc(text)));
            }
            Block::Paragraph(t) => o.push_str(&format!("<p>{}</p>\n", esc_lines(t))),
            Block::Note(t) => o.push_str(&format!("<p class=\"muted\">{}</p>\n", esc_lines(t))),
            Block::KeyValues(kv) => {
                o.push_str("<table class=\"kv\">\n");
                for (k, v) in kv {
                    o.push_str(&format!(
                        "<tr><th>{}</th><td>{}</td></tr>\n",
                        esc(k),
                        esc_lines(v)
                    ));
                }
                o.push_str("</table>\n");
            }
            Block::Table { headers, rows, .. } => {
                o.push_str("<table>\n<thead><tr>");
                for h in headers {
                    o.push_str(&format!("<th>{}</th>", esc(h)));
                }
                o.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    o.push_str("<tr>");
                    for c in row {
                        o.push_str(&format!("<td>{}</td>", esc_lines(c)));
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</tbody></table>\n");
            }
            Block::Bullets(items) => {
                o.push_str("<ul>");
                for i in items {
                    o.push_str(&format!("<li>{}</li>", esc_lines(i)));
                }
                o.push_str("</ul>\n");
            }
            Block::PageBreak => {}
        }
    }
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

/// The report as PDF with the responder's CJK font.
pub fn pdf(doc: &Document, responder: &super::Responder) -> Result<Vec<u8>, String> {
    let font = responder.font()?;
    yunshou_pdfdoc::render(doc, font).map_err(|e| e.to_string())
}

/// Archives an incident: renders its report (HTML and, when a CJK font is installed, PDF)
/// and freezes both with it. Without a font the archive is refused rather than made without
/// its PDF.
pub async fn archive(
    store: &Store,
    responder: &super::Responder,
    scope: &TenantScope,
    tenant_name: &str,
    id: &str,
    actor: &Actor,
) -> Result<Incident, ArchiveError> {
    let doc = build(store, scope, tenant_name, id, Lang::Zh).await?;
    let html = html(&doc, Lang::Zh).into_bytes();
    let doc_for_pdf = doc.clone();
    let font = responder.font().map_err(ArchiveError::Pdf)?.clone();
    let pdf = tokio::task::spawn_blocking(move || yunshou_pdfdoc::render(&doc_for_pdf, &font))
        .await
        .map_err(|e| ArchiveError::Pdf(e.to_string()))?
        .map_err(|e| ArchiveError::Pdf(e.to_string()))?;
    Ok(store
        .archive_incident(scope, id, &[("html", html), ("pdf", pdf)], actor)
        .await?)
}

/// Why archiving failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The store refused (state, missing records) or failed.
    #[error(transparent)]
    Store(#[from] yunshou_store::Error),
    /// The PDF could not be made (usually: no CJK font installed).
    #[error("PDF report: {0}")]
    Pdf(String),
}
