//! Detection alerts on a real SQLite file: deduplication per rule and entity, replays not
//! recorded twice, suppressions with expiry, the lifecycle, webhooks queued, tenant isolation.

mod common;

use common::store;

use chrono::{Duration, Utc};
use yunshou_model::Actor;
use yunshou_store::alerts::{
    AlertFilter, AlertState, AlertUpdate, DetectionKind, Entities, NewDetection, NewTrigger,
    Resolution, Severity,
};
use yunshou_store::{Error, Page};

fn detection(seq: u64, ip: &str, minutes_ago: i64) -> NewDetection {
    NewDetection {
        seq,
        rule_id: "rule-ssh".into(),
        title: "SSH failure".into(),
        kind: DetectionKind::Rule,
        severity: Severity::High,
        author: Some("yunshou".into()),
        tags: vec!["attack.credential-access".into(), "attack.t1110.001".into()],
        entities: Entities {
            host: Some("web-01".into()),
            source_ip: Some(ip.into()),
            ..Default::default()
        },
        time: Utc::now() - Duration::minutes(minutes_ago),
        last_time: Utc::now() - Duration::minutes(minutes_ago),
        count: 1,
        events: vec![],
    }
}

const WINDOW: i64 = 60;

#[tokio::test]
async fn detections_fold_per_rule_and_entity_and_replays_count_once() {
    let (_dir, store, a, b) = store().await;
    let w = Duration::minutes(WINDOW);
    let batch = [
        detection(1, "203.0.113.7", 10),
        detection(2, "203.0.113.7", 9),
        detection(3, "198.51.100.4", 8),
    ];
    let out = store
        .record_detections(a.tenant_id(), &batch, 3, w)
        .await
        .unwrap();
    assert_eq!((out.raised, out.folded, out.replayed), (2, 1, 0));
    // The log replayed after a crash: the same sequences again, plus one new.
    let again = [
        detection(2, "203.0.113.7", 9),
        detection(4, "203.0.113.7", 1),
    ];
    let out = store
        .record_detections(a.tenant_id(), &again, 4, w)
        .await
        .unwrap();
    assert_eq!((out.raised, out.folded, out.replayed), (0, 1, 1));
    let (list, total) = store
        .alerts(&a, &AlertFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(total, 2);
    let ssh = list
        .iter()
        .find(|x| x.entities.source_ip.as_deref() == Some("203.0.113.7"))
        .unwrap();
    assert_eq!(ssh.count, 3);
    assert_eq!(ssh.tactics, ["credential-access"]);
    assert_eq!(ssh.techniques, ["T1110.001"]);
    assert!(ssh.first_seen < ssh.last_seen);
    // Outside the window, a new alert.
    let late = [detection(5, "203.0.113.7", -(WINDOW + 5))];
    let out = store
        .record_detections(a.tenant_id(), &late, 5, w)
        .await
        .unwrap();
    assert_eq!(out.raised, 1);
    // Filters.
    let by_entity = AlertFilter {
        entity: Some("198.51.100".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .alerts(&a, &by_entity, Page::default())
            .await
            .unwrap()
            .1,
        1
    );
    let critical = AlertFilter {
        min_severity: Some(Severity::Critical),
        ..Default::default()
    };
    assert_eq!(
        store
            .alerts(&a, &critical, Page::default())
            .await
            .unwrap()
            .1,
        0
    );
    // The other tenant sees nothing and cannot reach the alert.
    assert_eq!(
        store
            .alerts(&b, &AlertFilter::default(), Page::default())
            .await
            .unwrap()
            .1,
        0
    );
    assert!(matches!(
        store.alert(&b, &ssh.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store
            .update_alert(
                &b,
                &ssh.id,
                &AlertUpdate {
                    status: Some(AlertState::Closed),
                    resolution: Some(Resolution::Benign),
                    assignee: None
                },
                &Actor::cli()
            )
            .await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn lifecycle_needs_a_resolution_to_close_and_a_closed_alert_takes_no_more() {
    let (_dir, store, a, _) = store().await;
    let w = Duration::minutes(WINDOW);
    store
        .record_detections(a.tenant_id(), &[detection(1, "203.0.113.7", 5)], 1, w)
        .await
        .unwrap();
    let id = store
        .alerts(&a, &AlertFilter::default(), Page::default())
        .await
        .unwrap()
        .0[0]
        .id
        .clone();
    let cli = Actor::cli();
    let set = |status, resolution| AlertUpdate {
        status: Some(status),
        resolution,
        assignee: None,
    };
    assert!(matches!(
        store.update_alert(&a, &id, &set(AlertState::Closed, None), &cli).await,
        Err(Error::Invalid(m)) if m.starts_with("resolution")
    ));
    store
        .update_alert(&a, &id, &set(AlertState::Investigating, None), &cli)
        .await
        .unwrap();
    assert!(matches!(
        store
            .update_alert(&a, &id, &set(AlertState::Acknowledged, None), &cli)
            .await,
        Err(Error::Invalid(_))
    ));
    let closed = store
        .update_alert(
            &a,
            &id,
            &set(AlertState::Closed, Some(Resolution::FalsePositive)),
            &cli,
        )
        .await
        .unwrap();
    assert_eq!(closed.resolution, Some(Resolution::FalsePositive));
    let unknown = AlertUpdate {
        assignee: Some("nobody".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_alert(&a, &id, &unknown, &cli).await,
        Err(Error::Invalid(_))
    ));
    store
        .comment_alert(&a, &id, "扫描器误报，已加白", &cli)
        .await
        .unwrap();
    // A closed alert is not folded into: the next detection raises a new one.
    let out = store
        .record_detections(a.tenant_id(), &[detection(2, "203.0.113.7", 1)], 2, w)
        .await
        .unwrap();
    assert_eq!(out.raised, 1);
    let detail = store.alert(&a, &id).await.unwrap();
    assert_eq!(detail.comments.len(), 1);
    assert!(store.audit_verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn suppressions_drop_matching_detections_until_they_expire_and_webhooks_are_queued() {
    let (_dir, store, a, _) = store().await;
    let w = Duration::minutes(WINDOW);
    let cli = Actor::cli();
    store
        .add_alert_webhook(&a, "http://127.0.0.1:9/hook", Severity::High, &cli)
        .await
        .unwrap();
    assert!(store
        .add_alert_webhook(&a, "file:///etc/passwd", Severity::High, &cli)
        .await
        .is_err());
    let s = store
        .add_suppression(
            &a,
            Some("rule-ssh"),
            "ip",
            "203.0.113.7",
            "vulnerability scanner",
            Utc::now() + Duration::days(1),
            &cli,
        )
        .await
        .unwrap();
    assert!(store
        .add_suppression(
            &a,
            None,
            "ip",
            "1.2.3.4",
            "forever",
            Utc::now() + Duration::days(400),
            &cli
        )
        .await
        .is_err());
    assert!(store
        .add_suppression(
            &a,
            None,
            "colour",
            "red",
            "x",
            Utc::now() + Duration::days(1),
            &cli
        )
        .await
        .is_err());
    let out = store
        .record_detections(
            a.tenant_id(),
            &[
                detection(1, "203.0.113.7", 3),
                detection(2, "198.51.100.4", 2),
            ],
            2,
            w,
        )
        .await
        .unwrap();
    assert_eq!((out.suppressed, out.raised), (1, 1));
    assert_eq!(store.suppressions(&a).await.unwrap()[0].suppressed, 1);
    let due = store.due_notifications(10, true).await.unwrap();
    assert_eq!(due.len(), 1, "one new alert, one webhook");
    assert_eq!(due[0].topic, "alert.new");
    assert!(due[0].payload.contains("198.51.100.4"));
    store.end_suppression(&a, &s.id, &cli).await.unwrap();
    let out = store
        .record_detections(a.tenant_id(), &[detection(3, "203.0.113.7", 1)], 3, w)
        .await
        .unwrap();
    assert_eq!((out.suppressed, out.raised), (0, 1));
}

/// One flush's detections of one rule and entity, recorded as if one by one: the first
/// folds into the stored alert, the next (past its window) raises a new one, and the last
/// folds into the alert the same batch raised. Both alerts keep their counts and events.
#[tokio::test]
async fn one_batch_folds_into_stored_and_newly_raised_alerts_in_order() {
    let (_dir, store, a, _b) = store().await;
    let w = Duration::minutes(WINDOW);
    let base = Utc::now() - Duration::minutes(300);
    let at = |seq: u64, minutes: i64, until: i64| {
        let mut d = detection(seq, "203.0.113.7", 0);
        d.time = base + Duration::minutes(minutes);
        d.last_time = base + Duration::minutes(until);
        let event = serde_json::json!({ "seq": seq });
        d.events = vec![NewTrigger::new(
            Some(seq),
            yunshou_store::time_text(d.time),
            &event,
        )];
        d
    };
    let out = store
        .record_detections(a.tenant_id(), &[at(1, 0, 0)], 1, w)
        .await
        .unwrap();
    assert_eq!(out.raised, 1);
    let batch = [at(2, 10, 10), at(3, 100, 150), at(4, 170, 170)];
    let out = store
        .record_detections(a.tenant_id(), &batch, 4, w)
        .await
        .unwrap();
    assert_eq!((out.raised, out.folded), (1, 2));
    let (mut list, total) = store
        .alerts(&a, &AlertFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(total, 2);
    list.sort_by(|x, y| x.first_seen.cmp(&y.first_seen));
    assert_eq!(list[0].count, 2);
    assert_eq!(
        list[0].last_seen,
        yunshou_store::time_text(base + Duration::minutes(10))
    );
    assert_eq!(event_seqs(&store, &a, &list[0].id).await, [1, 2]);
    assert_eq!(list[1].count, 2);
    assert_eq!(
        list[1].first_seen,
        yunshou_store::time_text(base + Duration::minutes(100))
    );
    assert_eq!(
        list[1].last_seen,
        yunshou_store::time_text(base + Duration::minutes(170))
    );
    assert_eq!(event_seqs(&store, &a, &list[1].id).await, [3, 4]);
}

/// The sequences of an alert's events, as the test events carry them.
async fn event_seqs(
    store: &yunshou_store::Store,
    scope: &yunshou_store::TenantScope,
    id: &str,
) -> Vec<u64> {
    let detail = store.alert(scope, id).await.unwrap();
    detail
        .events
        .iter()
        .map(|e| e.event["seq"].as_u64().unwrap())
        .collect()
}
