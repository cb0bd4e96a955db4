//! The parsers over real logs no one here wrote (`../shared/fixtures/logs`, from loghub):
//! every line of a known shape gets its time and dataset; nothing falls back to raw.

use yunshou_ingest::normalise::parse;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/logs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-25T08:00:00Z".parse().unwrap()
}

#[test]
fn linux_syslog_lines_all_parse() {
    let text = fixture("Linux_2k.log");
    let mut auth_failures = 0;
    for (i, line) in text.lines().enumerate() {
        let (ts, doc) = parse(line, "auto", now());
        assert!(ts.is_some(), "line {}: no time: {line}", i + 1);
        let dataset = doc["event"]["dataset"].as_str().unwrap();
        assert_ne!(dataset, "raw", "line {}: {line}", i + 1);
        assert!(doc["host"]["hostname"].is_string(), "line {}", i + 1);
        if doc["event"]["outcome"] == "failure" && dataset == "linux.auth" {
            auth_failures += 1;
        }
    }
    // The file is mostly an SSH brute-force story: hundreds of failed authentications.
    assert!(auth_failures > 300, "{auth_failures}");
    let (_, doc) = parse(
        text.lines()
            .find(|l| l.contains("rhost=218.188.2.4"))
            .unwrap(),
        "auto",
        now(),
    );
    assert_eq!(doc["source"]["ip"], "218.188.2.4");
}

#[test]
fn apache_error_lines_all_parse() {
    let text = fixture("Apache_2k.log");
    let mut levels = std::collections::BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let (ts, doc) = parse(line, "auto", now());
        assert!(ts.is_some(), "line {}: {line}", i + 1);
        assert_eq!(doc["event"]["dataset"], "apache.error", "line {}", i + 1);
        levels.insert(doc["log"]["level"].as_str().unwrap().to_string());
    }
    assert_eq!(levels.into_iter().collect::<Vec<_>>(), ["error", "notice"]);
}

#[test]
fn openstack_service_lines_all_parse() {
    let text = fixture("OpenStack_2k.log");
    let mut services = std::collections::BTreeMap::<String, usize>::new();
    let mut requests = 0;
    for (i, line) in text.lines().enumerate() {
        let (ts, doc) = parse(line, "auto", now());
        assert!(ts.is_some(), "line {}: {line}", i + 1);
        let dataset = doc["event"]["dataset"].as_str().unwrap();
        assert!(dataset.starts_with("openstack."), "line {}: {line}", i + 1);
        *services.entry(dataset.to_string()).or_default() += 1;
        let doc = serde_json::Value::Object(doc);
        if doc["http"]["response"]["status_code"].is_u64() {
            assert!(doc["source"]["ip"].is_string(), "line {}", i + 1);
            requests += 1;
        }
    }
    assert_eq!(services.values().sum::<usize>(), 2000);
    assert_eq!(services.keys().collect::<Vec<_>>(), ["openstack.nova"]);
    let warnings = text.lines().filter(|l| l.contains(" WARNING ")).count();
    assert_eq!(warnings, 31);
    // Every WSGI request line (`"GET … HTTP/1.1" status: 200 …`) is read as one.
    let wsgi = text.lines().filter(|l| l.contains("\" status: ")).count();
    assert_eq!(requests, wsgi);
}
