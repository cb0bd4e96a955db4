//! Incidents on a real SQLite file: tenant isolation, the archive is read-only even to raw
//! SQL, evidence rows and the custody log never change, and the custody chain verifies.

mod common;

use common::store;

use yunshou_model::Actor;
use yunshou_store::evidence_vault::EvidenceIntake;
use yunshou_store::incidents::{IncidentPatch, NewIncident};
use yunshou_store::Error;

fn new_incident(title: &str) -> NewIncident {
    NewIncident {
        title: title.into(),
        category: Some("DE".into()),
        subcategory: "技术故障".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn incidents_stay_in_their_tenant_and_archives_never_change() {
    let (dir, store, a, b) = store().await;
    let cli = Actor::cli();
    let inc = store
        .create_incident(&a, &new_incident("核心交换机故障"), "manual", &cli)
        .await
        .unwrap();
    assert_eq!(inc.label, "INC-000001");
    assert!(matches!(
        store.incident(&b, &inc.id).await,
        Err(Error::NotFound)
    ));
    let patch = IncidentPatch {
        title: Some("x".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_incident(&b, &inc.id, &patch, &cli).await,
        Err(Error::NotFound)
    ));
    let item = store
        .take_evidence(
            &a,
            &inc.id,
            EvidenceIntake {
                kind: "file".into(),
                name: "switch.log".into(),
                media_type: "text/plain".into(),
                source: "core-sw-1".into(),
                description: String::new(),
            },
            Box::new(std::io::Cursor::new(b"%LINK-3-UPDOWN".to_vec())),
            &cli,
        )
        .await
        .unwrap();
    // The vault file is read-only and its digests are the intake's.
    let path = dir
        .path()
        .join("evidence/")
        .join(a.tenant_id())
        .join(&inc.id)
        .join(&item.id);
    assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
    assert_eq!(
        item.sm3,
        yunshou_evidence::digest::digest_bytes(b"%LINK-3-UPDOWN").sm3
    );
    assert!(matches!(
        store.evidence_item(&b, &inc.id, &item.id).await,
        Err(Error::NotFound)
    ));
    store
        .record_custody(
            &a,
            &inc.id,
            "transfer",
            Some(&item.id),
            "移交厂商分析",
            &cli,
        )
        .await
        .unwrap();
    let log = store.custody_log(&a, &inc.id).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(yunshou_evidence::custody::verify_chain(&log).is_empty());

    // Raw SQL cannot rewrite evidence or custody rows.
    let db = format!(
        "sqlite://{}",
        dir.path().join(yunshou_store::DB_FILE).display()
    );
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    for sql in [
        "UPDATE evidence SET sha256 = 'x'",
        "DELETE FROM evidence",
        "UPDATE evidence_custody SET detail = 'x'",
        "DELETE FROM evidence_custody",
        "DELETE FROM incidents",
    ] {
        let e = sqlx::query(sql).execute(&mut conn).await;
        assert!(e.is_err(), "{sql} must be refused");
    }
    // A closed incident can be archived; then even raw SQL cannot change it.
    let decline = IncidentPatch {
        owner: Some("值班员".into()),
        phase: Some(yunshou_respond::Phase::Diagnosis),
        ..Default::default()
    };
    store
        .update_incident(&a, &inc.id, &decline, &cli)
        .await
        .unwrap();
    let mut records = serde_json::Map::new();
    records.insert(
        "activation".into(),
        serde_json::json!({"decision": "no_response", "reason": "设备自行恢复"}),
    );
    let close = IncidentPatch {
        records: Some(records),
        status: Some(yunshou_store::incidents::IncidentStatus::Closed),
        ..Default::default()
    };
    store
        .update_incident(&a, &inc.id, &close, &cli)
        .await
        .unwrap();
    store
        .archive_incident(&a, &inc.id, &[("html", b"<p>report</p>".to_vec())], &cli)
        .await
        .unwrap();
    assert!(matches!(
        store.update_incident(&a, &inc.id, &patch, &cli).await,
        Err(Error::Conflict(_))
    ));
    let e = sqlx::query("UPDATE incidents SET title = 'x'")
        .execute(&mut conn)
        .await;
    assert!(e.is_err());
    let e = sqlx::query("UPDATE incident_reports SET content = x'00'")
        .execute(&mut conn)
        .await;
    assert!(e.is_err());
    assert!(store.audit_verify().await.unwrap().first_bad.is_none());
}
