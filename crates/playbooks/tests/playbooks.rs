//! Parsing, triggers, planning and approvals: everything decided before a step runs.

mod common;

use common::{alert, TestHost};
use serde_json::json;
use yunshou_playbooks::*;

fn example(name: &str) -> String {
    let path = format!("{}/examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn paths(err: ParseError) -> Vec<String> {
    err.problems
        .into_iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect()
}

#[test]
fn the_examples_parse() {
    for name in ["ssh-brute-force", "ransomware-incident", "leaked-account"] {
        let pb = parse(&example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pb.id, name);
        assert!(!pb.steps.is_empty());
    }
    let pb = parse(&example("ssh-brute-force")).unwrap();
    assert!(matches!(pb.trigger, Trigger::Alert(_)));
    let needs: Vec<bool> = pb.steps.iter().map(Step::needs_approval).collect();
    assert_eq!(needs, [false, false, true]);
    let pb = parse(&example("leaked-account")).unwrap();
    assert!(
        pb.steps[0].needs_approval(),
        "disable_account always needs approval"
    );
}

#[test]
fn alert_triggers() {
    let pb = parse(&example("ssh-brute-force")).unwrap();
    let a = alert("203.0.113.7");
    assert!(pb.matches(TriggerKind::Alert, &a));
    assert!(!pb.matches(TriggerKind::Incident, &a));
    let mut low = a.clone();
    low["severity"] = json!("low");
    assert!(
        !pb.matches(TriggerKind::Alert, &low),
        "below severity_at_least"
    );
    let mut other = a.clone();
    other["rule_id"] = json!("web-sqli");
    assert!(!pb.matches(TriggerKind::Alert, &other));
    let mut untagged = a.clone();
    untagged["tactics"] = json!([]);
    untagged["techniques"] = json!([]);
    assert!(!pb.matches(TriggerKind::Alert, &untagged));
    untagged["tags"] = json!(["T1110"]);
    assert!(pb.matches(TriggerKind::Alert, &untagged), "tags count too");

    let mut disabled = pb.clone();
    disabled.enabled = false;
    assert!(!disabled.matches(TriggerKind::Alert, &a));

    let title = parse(
        "id: t\nname: t\ntrigger: {alert: {title_contains: 暴力破解, severity_at_least: info}}\nsteps: [{id: s, action: enrich, with: {source: search, value: x}}]",
    )
    .unwrap();
    assert!(title.matches(TriggerKind::Alert, &a));
}

#[test]
fn incident_triggers() {
    let pb = parse(&example("ransomware-incident")).unwrap();
    let inc = json!({"title": "财务系统勒索软件", "category": "MP", "subcategory": "勒索软件", "level": "II", "phase": "diagnosis"});
    assert!(pb.matches(TriggerKind::Incident, &inc));
    // level_at_most: III matches I, II, III, not IV.
    for (level, expected) in [("I", true), ("III", true), ("IV", false)] {
        let mut i = inc.clone();
        i["level"] = json!(level);
        assert_eq!(
            pb.matches(TriggerKind::Incident, &i),
            expected,
            "level {level}"
        );
    }
    let mut na = inc.clone();
    na["category"] = json!("NA");
    assert!(!pb.matches(TriggerKind::Incident, &na));
    let phase = parse(
        "id: p\nname: p\ntrigger: {incident: {category: NA, phase: [containment, eradication]}}\nsteps: [{id: s, action: enrich, with: {source: ledger, value: x}}]",
    )
    .unwrap();
    assert!(phase.matches(
        TriggerKind::Incident,
        &json!({"category": "NA", "phase": "containment"})
    ));
    assert!(!phase.matches(
        TriggerKind::Incident,
        &json!({"category": "NA", "phase": "recovery"})
    ));
    assert!(!phase.matches(TriggerKind::Incident, &json!({"category": "NA"})));
}

const HEAD: &str = "id: x\nname: x\ntrigger:\n  alert: {}\nsteps:\n";

#[test]
fn shape_errors_carry_their_path() {
    let e = parse("id: x\nname: x\ntrigger: {alert: {}}\nsteps: []\ncolour: red\n").unwrap_err();
    assert!(
        e.problems[0].message.contains("unknown field `colour`"),
        "{e}"
    );

    let e = parse(&format!(
        "{HEAD}  - id: a\n    action: enrich\n    with: {{source: intel, value: x, extra: 1}}\n"
    ))
    .unwrap_err();
    assert!(e.problems[0].path.starts_with("steps[0].with"), "{e}");
    assert!(e.problems[0].message.contains("extra"), "{e}");

    let e = parse(&format!(
        "{HEAD}  - id: a\n    action: block_ip\n    with:\n      ip: 1.2.3.4\n      adapter:\n        nftables:\n          ssh: {{host: fw, user: root, identity_file: /k, known_hosts: /h, prot: 22}}\n          table: t\n          set: s\n"
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("steps[0].with.adapter.nftables.ssh"),
        "{e}"
    );
    assert!(e.to_string().contains("prot"), "{e}");

    let e = parse(&format!("{HEAD}  - id: a\n    action: reboot\n")).unwrap_err();
    assert!(e.problems[0].path.starts_with("steps[0].action"), "{e}");

    let e = parse("id: [").unwrap_err();
    assert_eq!(e.problems.len(), 1);
}

#[test]
fn semantic_errors_are_all_reported_with_paths() {
    let yaml = r#"
id: Bad_Id
name: x
trigger:
  alert: {}
steps:
  - id: one
    action: enrich
    with: {source: intel, value: '{{ incident.title }}'}
  - id: one
    action: notify
    with:
      wecom: {url: 'ftp://x/{{ secrets.K }}', text: '{{ steps.later.x }}'}
  - id: b
    action: block_ip
    with:
      ip: '1.2.3.4; rm -rf /'
      adapter:
        iptables:
          ssh: {host: '-oProxyCommand=sh', user: root, identity_file: key, known_hosts: /h}
          chain: 'INPUT; reboot'
  - id: later
    action: create_work_order
    with: {title: 'x {{ alert.title', priority: high}
"#;
    let got = paths(parse(yaml).unwrap_err());
    let expect = [
        "id: ",
        "steps[0].with.value: `incident.title`",
        "steps[1].id: step id `one` is used twice",
        "steps[1].with.wecom.url: `ftp://",
        "steps[1].with.wecom.text: `steps.later.x`: no earlier step `later`",
        "steps[2].with.ip: `1.2.3.4; rm -rf /` is not an IPv4/IPv6 address",
        "steps[2].with.adapter.iptables.ssh.host: ",
        "steps[2].with.adapter.iptables.ssh.identity_file: ",
        "steps[2].with.adapter.iptables.chain: ",
        "steps[3].with.title: `{{` without a closing `}}`",
    ];
    for e in expect {
        assert!(
            got.iter().any(|g| g.starts_with(e)),
            "missing {e:?} in {got:#?}"
        );
    }
    assert_eq!(got.len(), expect.len(), "{got:#?}");
}

#[test]
fn plan_renders_and_marks_approvals() {
    let pb = parse(&example("ssh-brute-force")).unwrap();
    let host = TestHost::with_secrets(&[("WECOM_DUTY_KEY", "wecom-key-123")]);
    let ctx = context(TriggerKind::Alert, &alert("203.0.113.7"));
    let steps = plan(&pb, &ctx, &host).unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(
        steps[0].rendered,
        json!({"source": "intel", "value": "203.0.113.7"})
    );
    assert!(!steps[1].needs_approval);
    let shown = steps[1].rendered.to_string();
    assert!(!shown.contains("wecom-key-123"), "secret leaked: {shown}");
    assert!(shown.contains("key=***"), "{shown}");
    // The enrichment has not run: its output stays a visible placeholder.
    assert!(shown.contains("{{ steps.enrich-ip.verdict }}"), "{shown}");
    let block = &steps[2];
    assert!(block.needs_approval);
    assert_eq!(block.action, "block_ip");
    let argv: Vec<&str> = block.rendered["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(argv[0], "ssh");
    assert!(argv.contains(&"BatchMode=yes"));
    assert!(argv.contains(&"UserKnownHostsFile=/etc/yunshou/ssh/known_hosts"));
    assert_eq!(
        &argv[argv.len() - 3..],
        [
            "--",
            "fw-border-1.dc.example.gov.cn",
            "sudo -n nft add element inet yunshou blocklist '{' 203.0.113.7 timeout 24h '}'"
        ]
    );
    assert!(block.summary.contains("203.0.113.7"), "{}", block.summary);
    assert!(
        host.enrichments.lock().unwrap().is_empty(),
        "planning runs nothing"
    );
}

#[test]
fn unsafe_values_are_refused_before_anything_runs() {
    let pb = parse(&example("ssh-brute-force")).unwrap();
    let host = TestHost::with_secrets(&[("WECOM_DUTY_KEY", "k")]);
    let ctx = context(TriggerKind::Alert, &alert("1.2.3.4; rm -rf /"));
    let err = plan(&pb, &ctx, &host).unwrap_err();
    match &err {
        StepError::Refused { step, field, .. } => {
            assert_eq!(step, "block-source");
            assert_eq!(field, "steps[2].with.ip");
        }
        other => panic!("{other:?}"),
    }

    // A missing value is an error naming the path, never an empty string.
    let mut a = alert("10.0.0.1");
    a["entities"].as_object_mut().unwrap().remove("source_ip");
    let err = plan(&pb, &context(TriggerKind::Alert, &a), &host).unwrap_err();
    assert!(
        err.to_string()
            .contains("no value at `alert.entities.source_ip`"),
        "{err}"
    );

    // An unset secret is an error too.
    let err = plan(&pb, &ctx, &TestHost::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("secret `WECOM_DUTY_KEY` is not set"),
        "{err}"
    );
}

#[tokio::test]
async fn run_step_refuses_unsafe_values_and_unapproved_steps() {
    let pb = parse(&example("ssh-brute-force")).unwrap();
    let host = TestHost::with_secrets(&[("WECOM_DUTY_KEY", "k")]);
    let opts = RunOptions {
        approved_by: Some("李工".into()),
        ..RunOptions::default()
    };
    let ctx = context(TriggerKind::Alert, &alert("1.2.3.4; rm -rf /"));
    let out = run_step(&pb, 2, &ctx, &host, &opts).await;
    assert_eq!(out.status, StepStatus::Failed);
    assert!(out.detail.contains("not an IPv4/IPv6"), "{}", out.detail);
    assert_eq!(out.rendered, serde_json::Value::Null);

    // Not approved: nothing runs (the host in the playbook does not exist, so an attempt
    // would fail rather than be skipped).
    let ctx = context(TriggerKind::Alert, &alert("203.0.113.7"));
    let out = run_step(&pb, 2, &ctx, &host, &RunOptions::default()).await;
    assert_eq!(out.status, StepStatus::Skipped);
    assert!(
        out.detail.starts_with("not run: needs approval"),
        "{}",
        out.detail
    );

    let out = run_step(&pb, 9, &ctx, &host, &opts).await;
    assert_eq!(out.status, StepStatus::Failed);
}

#[tokio::test]
async fn step_outputs_feed_later_steps() {
    let pb = parse(&example("ssh-brute-force")).unwrap();
    let host = TestHost::with_secrets(&[("WECOM_DUTY_KEY", "k")]);
    let mut ctx = context(TriggerKind::Alert, &alert("203.0.113.7"));
    let out = run_step(&pb, 0, &ctx, &host, &RunOptions::default()).await;
    assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    assert_eq!(out.output["verdict"], "恶意");
    assert_eq!(
        *host.enrichments.lock().unwrap(),
        [("intel".to_string(), "203.0.113.7".to_string())]
    );
    with_step_output(&mut ctx, &out);
    let steps = plan(&pb, &ctx, &host).unwrap();
    assert!(steps[1].rendered.to_string().contains("情报结论：恶意"));

    let pb = parse(&example("ransomware-incident")).unwrap();
    let inc =
        json!({"title": "财务系统勒索软件", "category": "MP", "level": "II", "phase": "diagnosis"});
    let ctx = context(TriggerKind::Incident, &inc);
    let out = run_step(&pb, 1, &ctx, &host, &RunOptions::default()).await;
    assert_eq!(out.status, StepStatus::Succeeded, "{}", out.detail);
    assert_eq!(out.output, json!({"work_order_id": "WO-1"}));
    let orders = host.work_orders.lock().unwrap();
    assert_eq!(orders[0]["title"], "勒索软件处置：财务系统勒索软件");
    assert_eq!(orders[0]["assignee"], "ir-lead");
    assert_eq!(orders[0]["priority"], "critical");
}
