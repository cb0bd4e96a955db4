//! Findings on a real SQLite file: an import is all or nothing, deduplication across
//! scanners, re-import closing and reopening, unknown hosts discovered into the ledger, the
//! work-order state machine (no close without a retest, no self-approval), tenant isolation;
//! threats and the risk register.

mod common;

use common::store;

use yunshou_model::asset::{AssetFields, Lifecycle};
use yunshou_model::finding::{
    normalise_cves, ReportItem, ReportedFinding, ScannedTarget, Severity, Target,
};
use yunshou_model::work_order::{WorkOrderAction, WorkOrderState};
use yunshou_model::Actor;
use yunshou_store::alerts::{DetectionKind, Entities, NewDetection, Severity as AlertSeverity};
use yunshou_store::finding_import::{ImportMeta, ImportSummary};
use yunshou_store::findings::{FindingFilter, FindingStatus};
use yunshou_store::risks::RiskFields;
use yunshou_store::threats::ThreatFields;
use yunshou_store::work_orders::{WorkOrderChange, WorkOrderFilter};
use yunshou_store::{Error, Page, Store, TenantScope};

fn finding(source: &str, ip: &str, port: u16, cve: &str, severity: Severity) -> ReportItem {
    ReportItem::Finding(Box::new(ReportedFinding {
        source: source.into(),
        check_id: Some(format!("{source}-{cve}")),
        target: Target {
            ip: Some(ip.into()),
            port: Some(port),
            protocol: Some("tcp".into()),
            ..Default::default()
        },
        title: format!("{cve} on {port}"),
        description: Some("desc".into()),
        solution: Some("upgrade".into()),
        evidence: None,
        cves: normalise_cves([cve]),
        cwes: vec![],
        cvss3: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
        cvss4: None,
        cvss2: None,
        severity,
        severity_raw: None,
        references: vec![],
        seen_at: None,
        known_exploited: false,
        epss: None,
        category: Some("network".into()),
        method: Some("scan".into()),
    }))
}

fn scanned(ip: &str) -> ReportItem {
    ReportItem::Scanned(ScannedTarget {
        target: Target {
            ip: Some(ip.into()),
            ..Default::default()
        },
    })
}

async fn import(
    store: &Store,
    scope: &TenantScope,
    source: &str,
    items: Vec<ReportItem>,
) -> ImportSummary {
    let meta = ImportMeta {
        format: source.into(),
        source: source.into(),
        file_name: format!("{source}.xml"),
        sha256: String::new(),
    };
    let actor = Actor::cli();
    let mut imp = store.begin_findings_import(scope, meta).await.unwrap();
    for item in items {
        imp.add(item, &actor).await.unwrap();
    }
    imp.finish(&actor).await.unwrap()
}

async fn add_asset(
    store: &Store,
    scope: &TenantScope,
    name: &str,
    ip: &str,
    owner: &str,
) -> String {
    let fields = AssetFields {
        name: name.into(),
        kind: "host".into(),
        ips: vec![ip.into()],
        owner: Some(owner.into()),
        confidentiality: Some(4),
        integrity: Some(4),
        availability: Some(4),
        ..Default::default()
    };
    store
        .create_asset(scope, fields, Lifecycle::Onboarding, &Actor::cli())
        .await
        .unwrap()
        .0
        .id
}

fn actor(name: &str) -> Actor {
    Actor {
        user_id: None,
        name: name.into(),
        source_ip: None,
    }
}

#[tokio::test]
async fn an_import_dedups_across_scanners_and_raises_work_orders_for_the_owner() {
    let (_dir, store, a, b) = store().await;
    let asset = add_asset(&store, &a, "web-01", "10.20.1.15", "张伟").await;
    let s = import(
        &store,
        &a,
        "nessus",
        vec![
            scanned("10.20.1.15"),
            finding(
                "nessus",
                "10.20.1.15",
                443,
                "CVE-2021-44228",
                Severity::Critical,
            ),
            finding(
                "nessus",
                "10.20.1.15",
                22,
                "CVE-2023-48795",
                Severity::Medium,
            ),
            // The same weakness twice in one file counts once.
            finding(
                "nessus",
                "10.20.1.15",
                22,
                "CVE-2023-48795",
                Severity::Medium,
            ),
            // An unknown host is discovered into the ledger.
            finding("nessus", "10.20.9.9", 80, "CVE-2019-0001", Severity::Low),
            finding("nessus", "10.20.1.15", 123, "CVE-2000-0001", Severity::Info),
        ],
    )
    .await;
    assert_eq!(
        (s.findings, s.created, s.assets_discovered),
        (5, 4, 1),
        "{s:?}"
    );
    // Hosts running the same product (one CPE) stay apart: the address decides.
    let with_cpe = |ip: &str| match finding("nessus", ip, 3389, "CVE-2019-0708", Severity::Critical)
    {
        ReportItem::Finding(mut f) => {
            f.target.cpe = vec!["cpe:/o:microsoft:windows_server_2008:r2".into()];
            ReportItem::Finding(f)
        }
        other => other,
    };
    let s2 = import(
        &store,
        &a,
        "nessus",
        vec![
            with_cpe("10.20.7.1"),
            with_cpe("10.20.7.2"),
            with_cpe("10.20.7.3"),
        ],
    )
    .await;
    assert_eq!((s2.created, s2.assets_discovered), (3, 3), "{s2:?}");
    // Info findings never get a work order.
    assert_eq!(s.work_orders, 3, "{s:?}");
    let (orders, _) = store
        .work_orders(&a, &WorkOrderFilter::default(), Page::default())
        .await
        .unwrap();
    let on_web = orders
        .iter()
        .filter(|o| o.asset_id == asset)
        .collect::<Vec<_>>();
    assert!(
        on_web.iter().all(|o| o.assignee.as_deref() == Some("张伟")),
        "{on_web:?}"
    );
    assert!(orders.iter().all(|o| o.state == WorkOrderState::Notified));
    // The discovered asset is onboarding and unowned.
    let discovered = store
        .get_asset(
            &a,
            &orders
                .iter()
                .find(|o| o.asset_id != asset)
                .unwrap()
                .asset_id,
        )
        .await
        .unwrap();
    assert_eq!(
        (discovered.lifecycle, discovered.fields.owner.clone()),
        (Lifecycle::Onboarding, None)
    );
    assert_eq!(discovered.fields.ips, vec!["10.20.9.9"]);

    // OpenVAS reports the same CVE on the same port: one finding, two sources.
    let s = import(
        &store,
        &a,
        "openvas",
        vec![finding(
            "openvas",
            "10.20.1.15",
            443,
            "cve-2021-44228",
            Severity::High,
        )],
    )
    .await;
    assert_eq!((s.created, s.updated), (0, 1), "{s:?}");
    let (list, total) = store
        .findings(
            &a,
            &FindingFilter {
                cve: Some("CVE-2021-44228".into()),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(list[0].sources, vec!["nessus", "openvas"]);
    // The internet-unexposed critical on a value-4 asset sits at the top of the queue.
    let (queue, _) = store
        .findings(&a, &FindingFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(queue[0].cves, vec!["CVE-2021-44228"]);
    assert!(queue[0].risk["steps"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(queue[0].cvss_score, Some(9.8));
    // The other tenant sees none of it.
    assert_eq!(
        store
            .count_findings(&b, &FindingFilter::default())
            .await
            .unwrap(),
        0
    );
    assert!(matches!(
        store.finding(&b, &queue[0].id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.work_order(&b, &orders[0].id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn a_failed_import_leaves_nothing() {
    let (_dir, store, a, _) = store().await;
    let meta = ImportMeta {
        format: "nessus".into(),
        source: "nessus".into(),
        file_name: "x.nessus".into(),
        sha256: String::new(),
    };
    let actor = Actor::cli();
    let mut imp = store.begin_findings_import(&a, meta).await.unwrap();
    imp.add(
        finding("nessus", "10.0.0.1", 80, "CVE-2020-0001", Severity::High),
        &actor,
    )
    .await
    .unwrap();
    let untitled = ReportItem::Finding(Box::new(ReportedFinding {
        title: " ".into(),
        ..match finding("nessus", "10.0.0.1", 80, "CVE-2020-0002", Severity::High) {
            ReportItem::Finding(f) => *f,
            _ => unreachable!(),
        }
    }));
    assert!(matches!(
        imp.add(untitled, &actor).await,
        Err(Error::Invalid(_))
    ));
    drop(imp);
    assert_eq!(
        store
            .count_findings(&a, &FindingFilter::default())
            .await
            .unwrap(),
        0
    );
    let (assets, _) = store
        .list_assets(&a, &Default::default(), Default::default(), Page::default())
        .await
        .unwrap();
    assert!(
        assets.is_empty(),
        "the discovered asset went with the import"
    );
    assert!(store.finding_imports(&a, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn reimport_closes_what_is_gone_and_reopens_regressions() {
    let (_dir, store, a, _) = store().await;
    add_asset(&store, &a, "db-01", "10.20.2.20", "李娜").await;
    let both = || {
        vec![
            scanned("10.20.2.20"),
            finding(
                "nessus",
                "10.20.2.20",
                3306,
                "CVE-2022-0001",
                Severity::High,
            ),
            finding("nessus", "10.20.2.20", 22, "CVE-2022-0002", Severity::High),
        ]
    };
    import(&store, &a, "nessus", both()).await;
    // Another scanner's scan of the host does not close Nessus's findings.
    let s = import(&store, &a, "openvas", vec![scanned("10.20.2.20")]).await;
    assert_eq!(s.not_seen, 0);
    // The next Nessus scan no longer sees 22: not seen, awaiting retest.
    let s = import(
        &store,
        &a,
        "nessus",
        vec![
            scanned("10.20.2.20"),
            finding(
                "nessus",
                "10.20.2.20",
                3306,
                "CVE-2022-0001",
                Severity::High,
            ),
        ],
    )
    .await;
    assert_eq!((s.updated, s.not_seen, s.retest_passed), (1, 1, 0), "{s:?}");
    let gone = store
        .findings(
            &a,
            &FindingFilter {
                cve: Some("CVE-2022-0002".into()),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap()
        .0
        .remove(0);
    assert_eq!(gone.status, FindingStatus::NotSeen);
    assert_eq!(
        gone.work_order.as_ref().unwrap().state,
        WorkOrderState::Retest
    );
    // Still gone at the following scan: the retest passed — fixed, work order closed.
    let s = import(
        &store,
        &a,
        "nessus",
        vec![
            scanned("10.20.2.20"),
            finding(
                "nessus",
                "10.20.2.20",
                3306,
                "CVE-2022-0001",
                Severity::High,
            ),
        ],
    )
    .await;
    assert_eq!(s.retest_passed, 1, "{s:?}");
    let fixed = store.finding(&a, &gone.id).await.unwrap();
    assert_eq!(fixed.status, FindingStatus::Fixed);
    let order = store
        .work_order(&a, &fixed.work_order.unwrap().id)
        .await
        .unwrap();
    assert_eq!(order.order.state, WorkOrderState::Closed);
    assert!(
        order
            .history
            .iter()
            .any(|h| h.action == "retest_pass_by_import"),
        "{:?}",
        order.history
    );
    // It comes back: a regression reopens finding and work order.
    let s = import(&store, &a, "nessus", both()).await;
    assert_eq!(s.reopened, 1, "{s:?}");
    let back = store.finding(&a, &gone.id).await.unwrap();
    assert_eq!((back.status, back.reopened), (FindingStatus::Open, 1));
    assert_eq!(back.work_order.unwrap().state, WorkOrderState::Fixing);
    let imports = store.finding_imports(&a, 10).await.unwrap();
    assert_eq!(imports.len(), 5);
    // A later report's texts replace the stored ones on the same row.
    let by_cve = |cve: &str| FindingFilter {
        cve: Some(cve.into()),
        ..Default::default()
    };
    let before = store
        .findings(&a, &by_cve("CVE-2022-0001"), Page::default())
        .await
        .unwrap()
        .0
        .remove(0);
    let mut changed = both();
    if let ReportItem::Finding(f) = &mut changed[1] {
        f.title = "MySQL CVE-2022-0001".into();
        f.evidence = Some("Version: 5.7.40".into());
    }
    let s = import(&store, &a, "nessus", changed).await;
    assert_eq!((s.created, s.updated), (0, 2), "{s:?}");
    let (list, total) = store
        .findings(&a, &by_cve("CVE-2022-0001"), Page::default())
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(list[0].id, before.id);
    assert_eq!(list[0].first_seen, before.first_seen);
    assert_eq!(list[0].title, "MySQL CVE-2022-0001");
    assert_eq!(list[0].evidence.as_deref(), Some("Version: 5.7.40"));
    assert_eq!(list[0].description.as_deref(), Some("desc"));
}

#[tokio::test]
async fn work_orders_close_only_after_a_retest_by_someone_else() {
    let (_dir, store, a, b) = store().await;
    add_asset(&store, &a, "app-01", "10.20.3.30", "王强").await;
    import(
        &store,
        &a,
        "nessus",
        vec![finding(
            "nessus",
            "10.20.3.30",
            8080,
            "CVE-2022-22965",
            Severity::Critical,
        )],
    )
    .await;
    let (orders, _) = store
        .work_orders(&a, &WorkOrderFilter::default(), Page::default())
        .await
        .unwrap();
    let id = orders[0].id.clone();
    let owner = actor("王强");
    let analyst = actor("jn.analyst");
    let step = |action, note: Option<&str>| WorkOrderChange {
        action: Some(action),
        note: note.map(str::to_string),
        assignee: None,
    };
    // No close before a retest, no skipped step.
    let e = store
        .change_work_order(
            &a,
            &id,
            &step(WorkOrderAction::RetestPass, Some("looks fine")),
            &analyst,
        )
        .await;
    assert!(matches!(e, Err(Error::Conflict(m)) if m.contains("only after a retest")));
    let e = store
        .change_work_order(&a, &id, &step(WorkOrderAction::StartFix, None), &owner)
        .await;
    assert!(matches!(e, Err(Error::Conflict(_))));
    // A step needing a note refuses none.
    store
        .change_work_order(&a, &id, &step(WorkOrderAction::Accept, None), &owner)
        .await
        .unwrap();
    store
        .change_work_order(&a, &id, &step(WorkOrderAction::StartFix, None), &owner)
        .await
        .unwrap();
    let e = store
        .change_work_order(&a, &id, &step(WorkOrderAction::RequestRetest, None), &owner)
        .await;
    assert!(matches!(e, Err(Error::Invalid(_))));
    store
        .change_work_order(
            &a,
            &id,
            &step(
                WorkOrderAction::RequestRetest,
                Some("spring-beans 5.3.18 deployed"),
            ),
            &owner,
        )
        .await
        .unwrap();
    // The fixer cannot pass their own retest.
    let e = store
        .change_work_order(
            &a,
            &id,
            &step(WorkOrderAction::RetestPass, Some("ok")),
            &owner,
        )
        .await;
    assert!(matches!(e, Err(Error::Conflict(m)) if m.contains("someone other")));
    // A failed retest goes back to fixing, then a pass closes it and the finding is fixed.
    store
        .change_work_order(
            &a,
            &id,
            &step(WorkOrderAction::RetestFail, Some("still vulnerable")),
            &analyst,
        )
        .await
        .unwrap();
    store
        .change_work_order(
            &a,
            &id,
            &step(WorkOrderAction::RequestRetest, Some("patched again")),
            &owner,
        )
        .await
        .unwrap();
    let done = store
        .change_work_order(
            &a,
            &id,
            &step(
                WorkOrderAction::RetestPass,
                Some("rescan clean, see attachment"),
            ),
            &analyst,
        )
        .await
        .unwrap();
    assert_eq!(done.state, WorkOrderState::Closed);
    assert_eq!(done.failed_retests, 1);
    let att = store
        .attach_to_work_order(
            &a,
            &id,
            "rescan.txt",
            "text/plain",
            b"no findings",
            &analyst,
        )
        .await
        .unwrap();
    assert_eq!(att.size, 11);
    store
        .comment_work_order(&a, &id, "closing note", &analyst)
        .await
        .unwrap();
    let detail = store.work_order(&a, &id).await.unwrap();
    assert_eq!(detail.finding.status, FindingStatus::Fixed);
    let actions: Vec<&str> = detail.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "raise",
            "accept",
            "start_fix",
            "request_retest",
            "retest_fail",
            "request_retest",
            "retest_pass",
            "attach",
            "comment"
        ]
    );
    assert_eq!(
        store
            .work_order_attachment(&a, &id, &att.id)
            .await
            .unwrap()
            .1,
        b"no findings"
    );
    // Bulk changes are all or nothing, naming each refusal.
    let e = store
        .change_work_orders(
            &a,
            std::slice::from_ref(&id),
            &step(WorkOrderAction::Accept, None),
            &owner,
        )
        .await
        .unwrap_err();
    assert_eq!(e.len(), 1);
    // Isolation.
    assert!(store
        .change_work_order(&b, &id, &step(WorkOrderAction::Reopen, Some("x")), &analyst)
        .await
        .is_err());
    assert!(store.work_order_attachment(&b, &id, &att.id).await.is_err());
}

#[tokio::test]
async fn threats_take_their_frequency_from_alerts_and_risks_follow() {
    let (_dir, store, a, _) = store().await;
    let asset = add_asset(&store, &a, "portal", "10.20.4.40", "赵敏").await;
    import(
        &store,
        &a,
        "nessus",
        vec![finding(
            "nessus",
            "10.20.4.40",
            443,
            "CVE-2021-44228",
            Severity::Critical,
        )],
    )
    .await;
    let finding_id = store
        .findings(&a, &FindingFilter::default(), Page::default())
        .await
        .unwrap()
        .0[0]
        .id
        .clone();
    let threat = store
        .create_threat(
            &a,
            ThreatFields {
                name: "外部暴力破解".into(),
                source: "human".into(),
                kind: "unauthorised_actions".into(),
                agent: "organised_group".into(),
                motive: "malicious".into(),
                techniques: vec!["t1110".into()],
                ..Default::default()
            },
            &Actor::cli(),
        )
        .await
        .unwrap();
    // No alerts yet: almost never.
    assert_eq!(threat.frequency_level, 1);
    // Brute-force alerts (ATT&CK T1110.001) from 10 sources over the half-year: at least
    // monthly, level 4 — computed, not typed in.
    let detections: Vec<NewDetection> = (0..10u64)
        .map(|i| NewDetection {
            seq: i + 1,
            rule_id: "ssh-brute".into(),
            title: "SSH brute force".into(),
            kind: DetectionKind::Rule,
            severity: AlertSeverity::High,
            author: None,
            tags: vec!["attack.credential-access".into(), "attack.t1110.001".into()],
            entities: Entities {
                source_ip: Some(format!("203.0.113.{i}")),
                ..Default::default()
            },
            time: chrono::Utc::now() - chrono::Duration::days(i as i64 * 15),
            last_time: chrono::Utc::now() - chrono::Duration::days(i as i64 * 15),
            count: 1,
            events: vec![],
        })
        .collect();
    store
        .record_detections(a.tenant_id(), &detections, 10, chrono::Duration::hours(1))
        .await
        .unwrap();
    store.refresh_threats(&a, &Actor::cli()).await.unwrap();
    let threat = store.threat(&a, &threat.id).await.unwrap();
    assert_eq!(
        threat.frequency_basis["alerts"], 10,
        "{}",
        threat.frequency_basis
    );
    assert_eq!(threat.frequency_level, 4, "{}", threat.frequency_basis);
    assert_eq!(threat.fields.techniques, vec!["T1110"]);
    let bad = ThreatFields {
        name: "x".into(),
        source: "aliens".into(),
        kind: "BAD KIND".into(),
        agent: "x".into(),
        motive: "x".into(),
        techniques: vec!["1110".into()],
        baseline_level: Some(9),
        ..Default::default()
    };
    let Err(Error::Invalid(reasons)) = store.create_threat(&a, bad, &Actor::cli()).await else {
        panic!()
    };
    assert!(reasons.lines().count() >= 6, "{reasons}");

    let risk = store
        .create_risk(
            &a,
            RiskFields {
                asset_id: asset.clone(),
                threat_id: threat.id.clone(),
                finding_id: Some(finding_id),
                ..Default::default()
            },
            &Actor::cli(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            risk.threat_level,
            risk.vulnerability_level_used,
            risk.asset_value
        ),
        (4, 5, 4)
    );
    assert!(!risk.steps.is_empty());
    let map = store.risk_heat_map(&a).await.unwrap();
    assert_eq!(map.cells.iter().flatten().sum::<i64>(), 1);
    let trend = store.risk_trend(&a, 7).await.unwrap();
    assert_eq!(trend.len(), 7);
    assert_eq!(trend.last().unwrap().levels.iter().sum::<i64>(), 1);
    // A treatment needs an owner; closing needs a treatment.
    let mut f = risk.fields.clone();
    f.treatment = Some("reduce".into());
    assert!(store
        .update_risk(&a, &risk.id, f.clone(), &Actor::cli())
        .await
        .is_err());
    f.owner = Some("赵敏".into());
    f.due_date = Some("2026-12-31".into());
    f.residual_level = Some(2);
    f.status = Some("treating".into());
    let treated = store
        .update_risk(&a, &risk.id, f, &Actor::cli())
        .await
        .unwrap();
    assert_eq!(treated.fields.treatment.as_deref(), Some("reduce"));
    // A threat in use cannot be removed.
    assert!(matches!(
        store.delete_threat(&a, &threat.id, &Actor::cli()).await,
        Err(Error::Conflict(_))
    ));
}

/// Named in a target's own words: the address, host name or both.
fn finding_on(target: Target, cve: &str) -> ReportItem {
    match finding("nessus", "0.0.0.0", 443, cve, Severity::High) {
        ReportItem::Finding(mut f) => {
            f.target = Target {
                port: Some(443),
                protocol: Some("tcp".into()),
                ..target
            };
            ReportItem::Finding(f)
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_host_named_two_ways_in_one_report_is_one_asset() {
    // The import reads the ledger as it was when it began and keeps what it discovers in
    // memory: a host it discovered by address must be found again by its name, and a stored
    // host by either.
    let (_dir, store, a, _) = store().await;
    let stored = add_asset(&store, &a, "db-1", "10.0.0.20", "ops").await;
    let host = |ip: Option<&str>, name: Option<&str>| Target {
        ip: ip.map(Into::into),
        hostname: name.map(Into::into),
        ..Default::default()
    };
    let s = import(
        &store,
        &a,
        "nessus",
        vec![
            finding_on(
                host(Some("10.0.0.9"), Some("web-9.gov.example")),
                "CVE-2021-0001",
            ),
            finding_on(host(None, Some("WEB-9.gov.example")), "CVE-2021-0002"),
            finding_on(host(Some("10.0.0.9"), None), "CVE-2021-0003"),
            finding_on(host(None, Some("DB-1")), "CVE-2021-0004"),
            finding_on(host(Some("10.0.0.20"), None), "CVE-2021-0005"),
        ],
    )
    .await;
    assert_eq!((s.created, s.assets_discovered), (5, 1), "{s:?}");
    let (found, _) = store
        .findings(&a, &FindingFilter::default(), Page::default())
        .await
        .unwrap();
    let asset_of = |cve: &str| {
        found
            .iter()
            .find(|f| f.cves.iter().any(|c| c == cve))
            .map(|f| f.asset_id.clone())
            .unwrap()
    };
    let web = asset_of("CVE-2021-0001");
    assert_ne!(web, stored);
    assert_eq!(asset_of("CVE-2021-0002"), web);
    assert_eq!(asset_of("CVE-2021-0003"), web);
    assert_eq!(asset_of("CVE-2021-0004"), stored);
    assert_eq!(asset_of("CVE-2021-0005"), stored);
}

#[tokio::test]
async fn an_import_assesses_each_finding_on_its_own_asset() {
    // An import assesses each combination of vectors, severity and asset exposure once and
    // reuses it: the same check on a valued asset and on a just-discovered one must still
    // get each asset's risk, and another vector on the same asset its own.
    let (_dir, store, a, _) = store().await;
    add_asset(&store, &a, "db-1", "10.0.0.20", "ops").await;
    let mut other_vector = finding("nessus", "10.0.0.20", 443, "CVE-2021-0003", Severity::High);
    if let ReportItem::Finding(f) = &mut other_vector {
        f.cvss3 = Some("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N".into());
    }
    let s = import(
        &store,
        &a,
        "nessus",
        vec![
            finding("nessus", "10.0.0.20", 22, "CVE-2021-0001", Severity::High),
            finding("nessus", "10.0.0.99", 22, "CVE-2021-0001", Severity::High),
            finding("nessus", "10.0.0.20", 80, "CVE-2021-0002", Severity::High),
            other_vector,
        ],
    )
    .await;
    assert_eq!((s.created, s.assets_discovered), (4, 1), "{s:?}");
    let (found, _) = store
        .findings(&a, &FindingFilter::default(), Page::default())
        .await
        .unwrap();
    let on = |port: u16, ip: &str| {
        found
            .iter()
            .find(|f| f.target.port == Some(port) && f.target.ip.as_deref() == Some(ip))
            .unwrap_or_else(|| panic!("no finding on {ip}:{port}"))
    };
    let (valued, discovered) = (on(22, "10.0.0.20"), on(22, "10.0.0.99"));
    assert_eq!(valued.risk["asset_value"], 4, "{}", valued.risk);
    assert!(
        discovered.risk["asset_value"].is_null(),
        "{}",
        discovered.risk
    );
    assert_ne!(valued.risk, discovered.risk);
    // The same inputs: the same assessment, stored once.
    assert_eq!(on(80, "10.0.0.20").risk, valued.risk);
    assert_eq!(on(80, "10.0.0.20").risk_level, valued.risk_level);
    let weaker = on(443, "10.0.0.20");
    assert_eq!(weaker.cvss_score, Some(1.8), "{}", weaker.risk);
    assert!(weaker.risk_level < valued.risk_level, "{}", weaker.risk);
}
