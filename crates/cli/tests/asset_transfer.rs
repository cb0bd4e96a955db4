//! Importing and exporting the asset ledger (I.1 item 7) against the real binary: the API in
//! CSV and JSON, all-or-none with a row report, `skip_invalid`, round trips, tenant isolation,
//! permissions, and the `yunshou import assets` / `export assets` commands.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{cli, client, login, Server, ADMIN_PASSWORD, DEMO_PASSWORD};

/// An HTTP answer: status, content type, headers of interest and body text.
struct Answer {
    status: StatusCode,
    content_type: String,
    disposition: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

async fn send(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let mut r = client()
        .request(method.parse().unwrap(), server.url(path))
        .bearer_auth(token);
    if let Some((content_type, data)) = body {
        r = r.header("content-type", content_type).body(data);
    }
    let r = r.send().await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    Answer {
        status: r.status(),
        content_type: header("content-type"),
        disposition: header("content-disposition"),
        text: r.text().await.unwrap(),
    }
}

async fn import(
    server: &Server,
    token: &str,
    query: &str,
    content_type: &str,
    data: &str,
) -> Answer {
    send(
        server,
        token,
        "POST",
        &format!("/api/v1/assets/import{query}"),
        Some((content_type, data.as_bytes().to_vec())),
    )
    .await
}

/// Names of the tenant's assets matching a filter, sorted.
/// The `count` of each audit record of `action`, newest first.
async fn audited_counts(server: &Server, token: &str, action: &str) -> Vec<u64> {
    let a = send(
        server,
        token,
        "GET",
        &format!("/api/v1/audit?action={action}"),
        None,
    )
    .await;
    a.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // The audit trail keeps `after` as the JSON text it hashed.
            let after: Value = serde_json::from_str(r["after"].as_str().unwrap()).unwrap();
            after["count"].as_u64().unwrap()
        })
        .collect()
}

async fn names(server: &Server, token: &str, query: &str) -> Vec<String> {
    let a = send(
        server,
        token,
        "GET",
        &format!("/api/v1/assets?limit=1000&{query}"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut names: Vec<String> = a.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn total(server: &Server, token: &str) -> u64 {
    let a = send(server, token, "GET", "/api/v1/assets?limit=1", None).await;
    a.json()["total"].as_u64().unwrap()
}

const CSV_GOOD: &str = "\u{feff}name,kind,lifecycle,ips,domains,ports,middleware,owner,confidentiality,integrity,availability,controls,supply_chain,tls_subject,tls_issuer,tls_not_after\n\
portal-web,host,in_service,10.20.1.11,www.zwfw.example.gov.cn,443/tcp/https/internet;22/tcp/ssh/internal,nginx 1.24,张伟,3,4,4,waf:长亭雷池:2026-10-01;backup::2026-09-30,vendor:华为:张工,CN=www.zwfw.example.gov.cn,CN=Example CA,2027-01-31\n\
social-db,database,onboarding,10.30.0.5;2001:db8:30::5,,3306/tcp/mysql,,李娜,5,5,4,,,,,\n";

/// Two good rows (2 and 4) around two bad ones (3: IP, 5: in service without owner).
const CSV_MIXED: &str = "name,kind,lifecycle,ips,owner,confidentiality,integrity,availability\n\
good-a,host,,10.1.0.1,,,,\n\
bad-ip,host,,10.1.0.300,,,,\n\
good-b,vm,onboarding,10.1.0.2,,,,\n\
bad-service,host,in_service,10.1.0.3,,3,3,3\n";

#[tokio::test]
async fn imports_csv_and_json_and_refuses_bad_files_whole() {
    let server = Server::start();
    let token = login(&server, "admin", ADMIN_PASSWORD).await;

    // CSV, chosen by Content-Type; BOM, lists, ports, controls, supply chain and TLS parse.
    let a = import(&server, &token, "", "text/csv", CSV_GOOD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json(), json!({"created": 2, "skipped": []}));
    let list = send(&server, &token, "GET", "/api/v1/assets?q=portal-web", None).await;
    let web = &list.json()["items"][0];
    assert_eq!(web["lifecycle"], "in_service");
    assert_eq!(
        web["ports"][0],
        json!({"port": 443, "protocol": "tcp", "service": "https", "exposure": "internet"})
    );
    assert_eq!(
        web["controls"][1],
        json!({"kind": "backup", "name": null, "verified_on": "2026-09-30"})
    );
    assert_eq!(web["supply_chain"][0]["contact"], "张工");
    assert_eq!(web["fingerprint"]["tls"]["issuer"], "CN=Example CA");
    assert_eq!(web["internet_facing"], true);
    assert_eq!(
        names(&server, &token, "ip=10.30.0.0/16").await,
        ["social-db"]
    );

    // JSON, chosen by the format parameter whatever the content type says.
    let body = json!([
        {"name": "gjj-gateway", "kind": "network_device", "ips": ["203.0.113.10"], "lifecycle": "planned"},
        {"name": "ipv6-only", "kind": "host", "ips": ["2001:db8:ffff::1"]}
    ])
    .to_string();
    let a = import(
        &server,
        &token,
        "?format=json",
        "application/octet-stream",
        &body,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["created"], 2);
    assert_eq!(total(&server, &token).await, 4);

    // Two bad rows: 422 lists both with field and reason, and nothing is written.
    let a = import(&server, &token, "", "text/csv", CSV_MIXED).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.content_type, "application/problem+json");
    let v = a.json();
    assert_eq!(v["type"], "urn:yunshou:problem:invalid-rows");
    let errors: Vec<(u64, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "ips[0]"), (5, "owner")]);
    assert!(v["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("10.1.0.300"));
    assert!(v["errors"][1]["reason"].as_str().unwrap().contains("owner"));
    assert_eq!(
        total(&server, &token).await,
        4,
        "a refused file writes nothing"
    );

    // JSON rows are reported by array index, naming the field path.
    let bad_json = json!([{"name": "x", "kind": "host"}, {"name": "y", "kind": "host", "ports": [{"port": 0}]}]).to_string();
    let a = import(&server, &token, "", "application/json", &bad_json).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(
        a.json()["errors"],
        json!([{"row": 1, "field": "ports[0].port", "reason": "must be 1–65535"}])
    );
    assert_eq!(total(&server, &token).await, 4);

    // skip_invalid imports the good rows and reports each skipped one.
    let a = import(&server, &token, "?skip_invalid=true", "text/csv", CSV_MIXED).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["created"], 2);
    let skipped: Vec<u64> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, [3, 5]);
    assert_eq!(
        names(&server, &token, "ip=10.1.0.0/16").await,
        ["good-a", "good-b"]
    );

    // An unknown column rejects the file with the reason; nothing is written.
    let a = import(
        &server,
        &token,
        "?skip_invalid=true",
        "text/csv",
        "name,kind,colour\nx,host,red\n",
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(
        a.json()["detail"]
            .as_str()
            .unwrap()
            .contains("unknown column `colour`"),
        "{}",
        a.text
    );
    assert_eq!(total(&server, &token).await, 6);
    let a = import(&server, &token, "?format=xml", "text/csv", CSV_GOOD).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // Files beyond the 64 KiB limit of ordinary requests are accepted here.
    let mut big = String::from("name,kind,ips,middleware,business_system\n");
    for i in 0..2000 {
        big.push_str(&format!(
            "bulk-{i:04},vm,10.200.{}.{},nginx 1.24;Tomcat 9.0,一网通办门户\n",
            i / 250,
            i % 250 + 1
        ));
    }
    assert!(big.len() > 64 * 1024);
    let a = import(&server, &token, "", "text/csv", &big).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["created"], 2000);
    assert_eq!(total(&server, &token).await, 2006);

    // Each import is one audit record naming the source and count.
    assert_eq!(
        audited_counts(&server, &token, "asset.import").await,
        [2000, 2, 2, 2]
    );
}

#[tokio::test]
async fn export_then_import_round_trips_and_is_audited() {
    let a_server = Server::start();
    let a = login(&a_server, "admin", ADMIN_PASSWORD).await;
    let assets = [
        json!({"name": "=cmd|' /C calc'!A0", "kind": "host", "ips": ["10.20.1.11", "2001:db8::1"], "domains": ["www.zwfw.example.gov.cn"],
            "ports": [{"port": 443, "service": "https", "exposure": "internet"}, {"port": 53, "protocol": "udp"}],
            "os": "麒麟 V10", "middleware": ["nginx 1.24", "a;b"], "applications": ["一网通办"], "tech_stack": ["Vue"], "zone": "互联网区",
            "data_center": "济南一号机房", "cloud_account": "acct-01", "confidentiality": 3, "integrity": 4, "availability": 5,
            "sensitivity": "high", "controls": [{"kind": "waf", "name": "长亭:雷池", "verified_on": "2026-10-01"}],
            "owner": "张伟", "department": "信息中心", "business_system": "一网通办", "business_type": "政务服务", "business_importance": 5,
            "supply_chain": [{"role": "vendor", "name": "华为", "contact": "张工"}],
            "fingerprint": {"banners": ["Server: nginx"], "tls": {"subject": "CN=a, O=b", "issuer": "CN=ca", "not_after": "2027-01-31"},
                "cpe": ["cpe:2.3:a:f5:nginx:1.24:*:*:*:*:*:*:*"], "hashes": ["sm3:ab"]},
            "lifecycle": "in_service"}),
        json!({"name": "social-db", "kind": "database", "ips": ["10.30.0.5"], "lifecycle": "onboarding"}),
        json!({"name": "plain", "kind": "vm"}),
    ];
    for body in &assets {
        let r = send(
            &a_server,
            &a,
            "POST",
            "/api/v1/assets",
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let csv = send(
        &a_server,
        &a,
        "GET",
        "/api/v1/assets/export?format=csv",
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        csv.disposition,
        "attachment; filename=\"yunshou-assets.csv\""
    );
    assert!(
        csv.text.contains("'=cmd"),
        "formulas are defused: {}",
        csv.text
    );
    assert_eq!(csv.text.lines().count(), 4);
    let json_export = send(
        &a_server,
        &a,
        "GET",
        "/api/v1/assets/export?format=json",
        None,
    )
    .await;
    assert_eq!(
        json_export.disposition,
        "attachment; filename=\"yunshou-assets.json\""
    );
    assert_eq!(json_export.json().as_array().unwrap().len(), 3);
    // Filters are the list's: only the database.
    let filtered = send(
        &a_server,
        &a,
        "GET",
        "/api/v1/assets/export?format=json&ip=10.30.0.0/16&sort=name&group_by=kind",
        None,
    )
    .await;
    assert_eq!(
        filtered
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].clone())
            .collect::<Vec<_>>(),
        [json!("social-db")]
    );
    let bad = send(
        &a_server,
        &a,
        "GET",
        "/api/v1/assets/export?colour=red",
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        audited_counts(&a_server, &a, "asset.export").await,
        [1, 3, 3]
    );

    // Import the CSV into a fresh server: both exports come out identical.
    let b_server = Server::start();
    let b = login(&b_server, "admin", ADMIN_PASSWORD).await;
    let r = import(&b_server, &b, "", "text/csv", &csv.text).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["created"], 3);
    let csv_b = send(&b_server, &b, "GET", "/api/v1/assets/export", None).await;
    assert_eq!(csv_b.text, csv.text);
    let json_b = send(
        &b_server,
        &b,
        "GET",
        "/api/v1/assets/export?format=json",
        None,
    )
    .await;
    assert_eq!(json_b.json(), json_export.json());
    // And the JSON export imports too.
    let r = import(&b_server, &b, "", "application/json", &json_export.text).await;
    assert_eq!(r.json()["created"], 3, "{}", r.text);
}

#[tokio::test]
async fn imports_are_tenant_scoped_and_need_asset_write() {
    let server = Server::demo();
    let qh = login(&server, "qh.owner", DEMO_PASSWORD).await;
    let jn = login(&server, "jn.owner", DEMO_PASSWORD).await;
    let jn_total = total(&server, &jn).await;
    let csv = "name,kind,ips\nqh-import-secret,host,10.99.0.1\n";
    let a = import(&server, &qh, "", "text/csv", csv).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        names(&server, &qh, "q=qh-import-secret").await,
        ["qh-import-secret"]
    );
    assert_eq!(
        names(&server, &jn, "q=qh-import-secret").await,
        Vec::<String>::new()
    );
    assert_eq!(total(&server, &jn).await, jn_total);
    let export = send(&server, &jn, "GET", "/api/v1/assets/export", None).await;
    assert!(!export.text.contains("qh-import-secret"));
    assert_eq!(export.text.lines().count() as u64, jn_total + 1);

    // Viewers and analysts read (and export) but cannot import.
    for user in ["qh.viewer", "qh.analyst"] {
        let t = login(&server, user, DEMO_PASSWORD).await;
        let before = total(&server, &qh).await;
        let a = import(&server, &t, "", "text/csv", "name,kind\nsneaky,host\n").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{user}: {}", a.text);
        assert_eq!(total(&server, &qh).await, before);
        let e = send(&server, &t, "GET", "/api/v1/assets/export", None).await;
        assert_eq!(e.status, StatusCode::OK, "{user}");
    }
    let a = import(&Server::start(), "not-a-token", "", "text/csv", csv).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn cli_import_reports_rows_and_exits_1_writing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let file = dir.path().join("ledger.csv");
    std::fs::write(&file, CSV_MIXED).unwrap();
    let file = file.to_str().unwrap();

    let (code, out, err) = cli(
        &[
            "import",
            "assets",
            "--data-dir",
            data,
            "--tenant",
            "default",
            file,
        ],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("3\tips[0]\t`10.1.0.300` is not an IP address"),
        "{out}"
    );
    assert!(out.contains("5\towner\t"), "{out}");
    assert!(
        out.contains("2 invalid row(s); nothing was imported"),
        "{out}"
    );
    let export = |format: &str| {
        let (code, out, err) = cli(
            &[
                "export",
                "assets",
                "--data-dir",
                data,
                "--tenant",
                "default",
                "--format",
                format,
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
        out
    };
    assert_eq!(
        serde_json::from_str::<Value>(&export("json")).unwrap(),
        json!([])
    );

    let (code, out, err) = cli(
        &[
            "import",
            "assets",
            "--data-dir",
            data,
            "--tenant",
            "default",
            "--skip-invalid",
            file,
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3\tips[0]\t"),
        "skipped rows are reported: {out}"
    );
    assert!(
        out.contains("imported 2 asset(s) into tenant default; skipped 2 row(s)"),
        "{out}"
    );
    let exported: Value = serde_json::from_str(&export("json")).unwrap();
    let mut names: Vec<&str> = exported
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["good-a", "good-b"]);

    // The CSV export re-imports (format from the file name); -o writes a file.
    let out_file = dir.path().join("export.csv");
    let (code, _, err) = cli(
        &[
            "export",
            "assets",
            "--data-dir",
            data,
            "--tenant",
            "default",
            "-o",
            out_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("exported 2 asset(s)"), "{err}");
    let (code, out, err) = cli(
        &[
            "import",
            "assets",
            "--data-dir",
            data,
            "--tenant",
            "default",
            out_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("imported 2 asset(s)"), "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&export("json"))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // A file-level problem and an unknown tenant are errors (exit 2), writing nothing.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name,kind,colour\nx,host,red\n").unwrap();
    let (code, _, err) = cli(
        &[
            "import",
            "assets",
            "--data-dir",
            data,
            "--tenant",
            "default",
            bad.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown column `colour`"), "{err}");
    let (code, _, err) = cli(
        &[
            "import",
            "assets",
            "--data-dir",
            data,
            "--tenant",
            "nope",
            file,
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = cli(&["audit", "verify", "--data-dir", data], None);
    assert_eq!(code, 0, "{out}");
}
