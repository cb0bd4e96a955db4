use chrono::Utc;
use yunshou_model::Actor;
use yunshou_respond::classification::{Level, OperatorKind};
use yunshou_respond::phases::Phase;
use yunshou_store::incidents::{IncidentFilter, IncidentStatus};
use yunshou_store::Store;

use super::evidence::{checksum, pcap};
use super::{first, incidents, seed_response};
use crate::CUSTOMERS;

#[test]
fn pcap_is_well_formed() {
    let p = pcap("45.155.205.233", "10.20.11.23", 22, Utc::now());
    assert_eq!(&p[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert_eq!(p.len(), 24 + 3 * (16 + 54));
    // Each IP header's checksum verifies (sums to zero).
    for k in 0..3 {
        let ip = 24 + k * 70 + 16 + 14;
        assert_eq!(checksum(&[&p[ip..ip + 20]]), 0);
        let tcp = &p[ip + 20..ip + 40];
        let mut pseudo = p[ip + 12..ip + 20].to_vec();
        pseudo.extend_from_slice(&[0, 6, 0, 20]);
        assert_eq!(checksum(&[&pseudo, tcp]), 0);
        assert_eq!(tcp[13], 0x02, "SYN");
    }
}

#[tokio::test]
async fn seeds_plans_drills_playbooks_and_incidents_in_every_phase() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.bootstrap(Some(crate::DEMO_PASSWORD)).await.unwrap();
    crate::seed(&store).await.unwrap();
    let tenant = CUSTOMERS[0].0;
    seed_response(&store, tenant).await.unwrap();
    seed_response(&store, tenant).await.unwrap(); // twice changes nothing
    let archivable = incidents(&store, tenant, "li.qiang").await.unwrap();
    assert!(incidents(&store, tenant, "li.qiang")
        .await
        .unwrap()
        .is_empty());
    let (_, scope) = store.operator_scope(tenant).await.unwrap();

    assert_eq!(
        store.operator_kind(&scope).await.unwrap(),
        OperatorKind::StateOrgan
    );
    let plans = store.current_plans(&scope).await.unwrap();
    assert_eq!(plans.len(), 10);
    let na = plans.iter().find(|p| p.category == "NA").unwrap();
    assert_eq!(na.version, 2);
    assert_eq!(na.note, "补充封禁审批流程");
    assert!(plans.iter().all(|p| p.content.contacts.len() == 6));
    let drills = store.drills(&scope).await.unwrap();
    assert!(drills
        .iter()
        .any(|d| d.status == "done" && d.steps.len() == 6));
    assert!(drills.iter().any(|d| d.status == "scheduled"));
    let done = drills.iter().find(|d| d.status == "done").unwrap();
    let items = store
        .improvement_items(&scope, "drill", &done.id)
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .any(|i| i.status == "closed" && i.link == "预案 NA v2"));
    assert!(items.iter().any(|i| i.status == "open"));
    let playbooks = store.playbooks(&scope).await.unwrap();
    assert_eq!(playbooks.len(), 3);
    assert!(playbooks.iter().all(|p| p.enabled));

    let (all, total) = store
        .incidents(&scope, &IncidentFilter::default(), first(100))
        .await
        .unwrap();
    assert_eq!(total, 5);
    let open_in = |phase: Phase| {
        all.iter()
            .any(|i| i.phase == phase && i.status == IncidentStatus::Open)
    };
    assert!(open_in(Phase::Diagnosis));
    assert!(open_in(Phase::Containment));
    assert!(open_in(Phase::Recovery));
    assert!(open_in(Phase::Optimization));
    assert!(all
        .iter()
        .any(|i| i.status == IncidentStatus::Closed && i.phase == Phase::Diagnosis));
    let containment = all.iter().find(|i| i.phase == Phase::Containment).unwrap();
    assert_eq!(containment.level, Some(Level::III));
    assert!(containment.level_confirmed);
    let detail = store
        .incident_detail(&scope, &containment.id)
        .await
        .unwrap();
    assert!(
        !detail.notices.is_empty(),
        "a level III incident owes reports"
    );
    assert!(!detail.incident.records.containment_actions.is_empty());
    assert!(!detail.observables.is_empty());

    assert_eq!(archivable.len(), 1);
    let detail = store.incident_detail(&scope, &archivable[0]).await.unwrap();
    assert_eq!(detail.incident.phase, Phase::Optimization);
    assert!(detail.missing.is_empty(), "{:?}", detail.missing);
    assert_eq!(detail.incident.level, Some(Level::II));
    assert!(detail.tasks.iter().all(|t| t.done_at.is_some()));
    assert!(!detail.tasks.is_empty());
    assert!(detail.notices.iter().all(|n| n.reported_at.is_some()));
    assert_eq!(detail.improvement_items.len(), 3);
    let evidence = store.evidence(&scope, &archivable[0]).await.unwrap();
    assert_eq!(evidence.len(), 3);
    assert!(evidence.iter().any(|e| e.kind == "pcap"));
    let custody = store.custody_log(&scope, &archivable[0]).await.unwrap();
    assert!(custody.iter().any(|c| c.action == "view"));
    assert!(custody.iter().any(|c| c.action == "transfer"));
    assert!(
        yunshou_evidence::custody::verify_chain(&custody).is_empty(),
        "custody chain intact"
    );
    let archived = store
        .archive_incident(&scope, &archivable[0], &[("md", b"# report".to_vec())], &{
            let u = store.user_by_username("li.qiang").await.unwrap().unwrap();
            Actor {
                user_id: Some(u.id),
                name: u.username,
                source_ip: None,
            }
        })
        .await
        .unwrap();
    assert_eq!(archived.status, IncidentStatus::Archived);

    // The other organisation, with its own responder and operator kind.
    let other = CUSTOMERS[1].0;
    seed_response(&store, other).await.unwrap();
    let ids = incidents(&store, other, "qh.responder").await.unwrap();
    assert_eq!(ids.len(), 1);
    let (_, qh) = store.operator_scope(other).await.unwrap();
    assert_eq!(store.operator_kind(&qh).await.unwrap(), OperatorKind::Other);
    let detail = store.incident_detail(&qh, &ids[0]).await.unwrap();
    assert!(detail.missing.is_empty(), "{:?}", detail.missing);
    assert!(store.audit_verify().await.unwrap().is_intact());
}
