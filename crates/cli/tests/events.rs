//! The event pipeline against the real server: HTTP intake with ingest tokens, syslog from
//! `logger` (util-linux) over TCP in both framings and over UDP, search and counts, raw-read
//! auditing, tenant isolation, crash safety (SIGKILL mid-ingest), sealing and `events verify`.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{
    api, cli, client, free_port, wait_total, Api, Server, ADMIN_PASSWORD, DEMO_PASSWORD,
};

/// Creates an ingest token in the caller's tenant; returns its secret.
async fn ingest_token(a: &Api<'_>, body: Value) -> String {
    let v = a.ok("POST", "/api/v1/ingest-tokens", Some(body)).await;
    v["secret"].as_str().unwrap().to_string()
}

async fn send(server: &Server, token: &str, body: String) -> (StatusCode, Value) {
    let r = client()
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn http_intake_search_counts_and_raw_reads() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let token = ingest_token(&a, json!({"name": "gateway"})).await;
    let now = chrono::Utc::now();
    let t = |m: i64| (now - chrono::Duration::minutes(m)).to_rfc3339();
    let body = [
        json!({"@timestamp": t(30), "event": {"dataset": "app.login", "outcome": "failure"}, "user": {"name": "zhangwei"}, "source": {"ip": "10.20.1.5"}, "message": "login failed for zhangwei"}),
        json!({"@timestamp": t(20), "event": {"dataset": "app.login", "outcome": "failure"}, "user": {"name": "zhangwei"}, "source": {"ip": "10.20.1.5"}, "message": "login failed for zhangwei"}),
        json!({"@timestamp": t(10), "event": {"dataset": "app.login", "outcome": "success"}, "user": {"name": "lina"}, "source": {"ip": "10.30.0.9"}, "message": "login ok for lina"}),
        json!("a plain line the parsers do not know"),
    ]
    .iter()
    .map(|v| v.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let (status, v) = send(&server, &token, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["accepted"], 4);
    wait_total(&a, "", 4).await;
    let v = wait_total(&a, "user.name:zhangwei AND event.outcome:failure", 2).await;
    assert!(
        v["items"][0]["event"]["event"].get("original").is_none(),
        "originals need raw=true"
    );
    wait_total(&a, "source.ip:10.20.0.0/16", 2).await;
    wait_total(&a, "\"plain line\"", 1).await;
    wait_total(&a, "event.dataset:app.login -user.name:lina", 2).await;
    // Counts by field and per hour.
    let top = a
        .ok(
            "GET",
            "/api/v1/events/aggregate?from=2020-01-01&field=user.name&size=5",
            None,
        )
        .await;
    assert_eq!(top[0], json!({"key": "zhangwei", "count": 2}));
    let hist = a
        .ok(
            "GET",
            "/api/v1/events/aggregate?from=2020-01-01&interval=3600&q=event.dataset:app.login",
            None,
        )
        .await;
    assert_eq!(
        hist.as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum::<u64>(),
        3
    );
    // Raw text is its own permission, and reading it is audited.
    let raw = a
        .ok(
            "GET",
            "/api/v1/events/search?from=2020-01-01&raw=true&q=user.name:lina",
            None,
        )
        .await;
    assert!(raw["items"][0]["event"]["event"]["original"]
        .as_str()
        .unwrap()
        .contains("login ok for lina"));
    let audit = a
        .ok("GET", "/api/v1/audit?action=events.read_raw", None)
        .await;
    assert_eq!(audit["total"], 1);
    // Bad input is refused whole, naming what is wrong.
    let (status, v) = send(&server, &token, "\"ok\"\n{broken".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["detail"].as_str().unwrap().starts_with("line 2"));
    let (status, _) = send(&server, "ysi_0000", "\"x\"".into()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(a
        .problem(
            "GET",
            "/api/v1/events/search?q=(a",
            None,
            StatusCode::BAD_REQUEST
        )
        .await
        .starts_with("q: missing )"));
    wait_total(&a, "", 4).await;
    // A token bound to other addresses is refused for this sender.
    let bound = ingest_token(
        &a,
        json!({"name": "dmz", "allowed_sources": ["192.0.2.0/24"]}),
    )
    .await;
    let (status, _) = send(&server, &bound, "\"x\"".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tenants_see_only_their_events_and_roles_apply() {
    let server = Server::demo();
    let jn = api(&server, "jn.admin", DEMO_PASSWORD).await;
    let qh = api(&server, "qh.admin", DEMO_PASSWORD).await;
    let token = ingest_token(&jn, json!({"name": "jn-siem"})).await;
    let (status, _) = send(
        &server,
        &token,
        json!({"message": "jn secret event marker-7741"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_total(&jn, "marker-7741", 1).await;
    let v = qh
        .ok(
            "GET",
            "/api/v1/events/search?from=2020-01-01&q=marker-7741",
            None,
        )
        .await;
    assert_eq!(v["total"], 0);
    // Viewers cannot search; analysts can, and read raw; auditors search but not raw.
    let viewer = api(&server, "qh.viewer", DEMO_PASSWORD).await;
    viewer
        .problem("GET", "/api/v1/events/search", None, StatusCode::FORBIDDEN)
        .await;
    let analyst = api(&server, "jn.analyst", DEMO_PASSWORD).await;
    analyst
        .ok("GET", "/api/v1/events/search?raw=true", None)
        .await;
    let auditor = api(&server, "jn.auditor", DEMO_PASSWORD).await;
    auditor.ok("GET", "/api/v1/events/search", None).await;
    auditor
        .problem(
            "GET",
            "/api/v1/events/search?raw=true",
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    analyst
        .problem(
            "POST",
            "/api/v1/ingest-tokens",
            Some(json!({"name": "x"})),
            StatusCode::FORBIDDEN,
        )
        .await;
    // Retention: shorter than 180 days needs an explicit, audited override.
    assert!(jn
        .problem(
            "PUT",
            "/api/v1/events/retention",
            Some(json!({"days": 30})),
            StatusCode::BAD_REQUEST
        )
        .await
        .contains("override_minimum"));
    jn.ok(
        "PUT",
        "/api/v1/events/retention",
        Some(json!({"days": 90, "override_minimum": true, "reason": "测试环境，仅保留 90 天"})),
    )
    .await;
    assert_eq!(
        jn.ok("GET", "/api/v1/events/retention", None).await["days"],
        90
    );
    assert_eq!(
        qh.ok("GET", "/api/v1/events/retention", None).await["days"],
        180
    );
}

#[tokio::test]
async fn syslog_from_logger_over_tcp_and_udp() {
    let tcp = free_port();
    let udp = free_port();
    let server = Server::start_with(
        false,
        &[
            "--syslog-tcp",
            &format!("127.0.0.1:{tcp}"),
            "--syslog-udp",
            &format!("127.0.0.1:{udp}"),
        ],
    );
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let logger = |args: &[&str]| {
        let status = std::process::Command::new("logger")
            .args(args)
            .status()
            .expect("logger (util-linux) runs");
        assert!(status.success(), "logger {args:?}");
    };
    let port = tcp.to_string();
    logger(&[
        "--tcp",
        "--server",
        "127.0.0.1",
        "--port",
        &port,
        "--rfc5424",
        "-t",
        "sshd",
        "newline framed marker-tcp-nl",
    ]);
    logger(&[
        "--tcp",
        "--server",
        "127.0.0.1",
        "--port",
        &port,
        "--octet-count",
        "-t",
        "sshd",
        "octet counted marker-tcp-oc",
    ]);
    let port = udp.to_string();
    logger(&[
        "--udp",
        "--server",
        "127.0.0.1",
        "--port",
        &port,
        "--rfc3164",
        "-t",
        "kernel",
        "datagram marker-udp",
    ]);
    for marker in ["marker-tcp-nl", "marker-tcp-oc", "marker-udp"] {
        let v = wait_total(&a, marker, 1).await;
        let ev = &v["items"][0]["event"];
        assert_eq!(ev["observer"]["ip"], "127.0.0.1", "{ev}");
    }
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_when_the_server_is_killed() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let token = ingest_token(&a, json!({"name": "load"})).await;
    let url = server.url("/api/v1/ingest");
    let stop = Instant::now() + Duration::from_millis(1500);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = 0u64;
            let mut batch = 0;
            while Instant::now() < stop {
                let body: String = (0..200)
                    .map(|i| {
                        json!(format!("worker {worker} batch {batch} line {i} crashtest"))
                            .to_string()
                            + "\n"
                    })
                    .collect();
                batch += 1;
                match client()
                    .post(&url)
                    .bearer_auth(&token)
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == StatusCode::ACCEPTED => acked += 200,
                    _ => break,
                }
            }
            acked
        }));
    }
    // Kill while the workers are still sending.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let dir = server.crash_keep_dir();
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap();
    }
    assert!(acked > 0, "some batches were acknowledged before the crash");
    let server = Server::start_in(dir, false, &[]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = a
            .ok(
                "GET",
                "/api/v1/events/search?from=2020-01-01&q=crashtest&limit=1",
                None,
            )
            .await;
        let total = v["total"].as_u64().unwrap();
        if total >= acked {
            // Whole batches only: an unacknowledged batch may have been stored whole, or not.
            assert_eq!(total % 200, 0, "{total}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the crash {total} events are searchable, {acked} were acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn sealed_days_are_verified_and_tampering_is_named() {
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let token = ingest_token(&a, json!({"name": "backfill"})).await;
    let day = |d: i64| (chrono::Utc::now() - chrono::Duration::days(d)).to_rfc3339();
    let body = (2..5)
        .map(|d| json!({"@timestamp": day(d), "message": format!("old event {d}")}).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(send(&server, &token, body).await.0, StatusCode::ACCEPTED);
    wait_total(&a, "old", 3).await;
    // The next start seals finished days.
    let dir = server.stop_keep_dir();
    let server = Server::start_in(dir, false, &[]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    wait_total(&a, "old", 3).await;
    let dir = server.stop_keep_dir();
    let data = dir.path().to_str().unwrap().to_string();
    let (code, out, _) = cli(&["events", "verify", "--data-dir", &data], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 sealed partitions verified"), "{out}");
    // Change one byte of a sealed partition's document store.
    let tenant_dir = std::fs::read_dir(dir.path().join("events"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let victim_day = (chrono::Utc::now() - chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let store_file = std::fs::read_dir(tenant_dir.join(&victim_day))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "store"))
        .unwrap();
    let mut bytes = std::fs::read(&store_file).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&store_file, bytes).unwrap();
    let (code, out, _) = cli(&["events", "verify", "--data-dir", &data], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&victim_day) && out.contains("file changed"),
        "{out}"
    );
}

#[tokio::test]
async fn replay_to_syslog_and_offline_ingest() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/logs/Linux_2k.log");
    let fixture = fixture.to_str().unwrap().to_string();
    let tcp = free_port();
    let server = Server::start_with(false, &["--syslog-tcp", &format!("127.0.0.1:{tcp}")]);
    let (code, out, err) = cli(
        &[
            "replay",
            "--to",
            &format!("tcp://127.0.0.1:{tcp}"),
            &fixture,
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("2000 lines sent"), "{out}");
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    // Its lines carry year-less times (RFC 3164): they are placed in the current year.
    wait_total(&a, "host.hostname:combo", 2000).await;
    // Offline: into a stopped server's data directory, then searchable after the start.
    let dir = server.stop_keep_dir();
    let data = dir.path().to_str().unwrap().to_string();
    let (code, out, err) = cli(
        &[
            "ingest",
            "--data-dir",
            &data,
            "--tenant",
            "default",
            &fixture,
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("2000 events ingested"), "{out}");
    let server = Server::start_in(dir, false, &[]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    wait_total(&a, "host.hostname:combo", 4000).await;
}

#[tokio::test]
async fn overload_is_refused_with_retry_after_and_loses_nothing_acknowledged() {
    // Queues of one batch: eight senders of 5,000 lines at once must exceed them.
    let server = Server::start_in_env(
        tempfile::tempdir().unwrap(),
        false,
        &[],
        &[("YUNSHOU_WAL_QUEUE", "1"), ("YUNSHOU_INDEX_QUEUE", "1")],
    );
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let token = ingest_token(&a, json!({"name": "flood"})).await;
    let url = server.url("/api/v1/ingest");
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut refused) = (0u64, 0u64);
            for round in 0..4 {
                let body: String = (0..5000)
                    .map(|i| json!(format!("flood {worker} {round} {i}")).to_string() + "\n")
                    .collect();
                let r = client()
                    .post(&url)
                    .bearer_auth(&token)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                match r.status() {
                    StatusCode::ACCEPTED => acked += 5000,
                    StatusCode::SERVICE_UNAVAILABLE => {
                        assert_eq!(r.headers()["retry-after"], "1");
                        refused += 1;
                    }
                    other => panic!("unexpected {other}"),
                }
            }
            (acked, refused)
        }));
    }
    let (mut acked, mut refused) = (0, 0);
    for t in tasks {
        let (a, r) = t.await.unwrap();
        acked += a;
        refused += r;
    }
    assert!(refused > 0, "the saturated pipeline refused some requests");
    assert!(acked > 0, "and accepted others");
    // Everything acknowledged is searchable; nothing refused was half-stored.
    wait_total(&a, "flood", acked).await;
    // Memory stayed bounded.
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(peak_kib < 512 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}

#[tokio::test]
async fn syslog_over_tls_from_openssl() {
    let port = free_port();
    let server = Server::start_with(false, &["--syslog-tls", &format!("127.0.0.1:{port}")]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let mut child = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-quiet",
            "-no_ign_eof",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl runs");
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().unwrap();
        // One newline-framed and one octet-counted message (RFC 5425).
        let framed = "<38>1 2026-11-25T08:00:00Z web-01 sshd 42 - - tls marker-two";
        write!(
            stdin,
            "<38>Nov 25 08:00:00 web-01 sshd[42]: tls marker-one\n{} {framed}",
            framed.len()
        )
        .unwrap();
    }
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "openssl s_client: {status}");
    wait_total(&a, "marker-one", 1).await;
    let v = wait_total(&a, "marker-two", 1).await;
    assert_eq!(v["items"][0]["event"]["event"]["module"], "syslog-tls");
}

#[tokio::test]
async fn tailed_files_follow_rotation_and_resume_after_restart() {
    use std::io::Write;
    let logs = tempfile::tempdir().unwrap();
    let path = logs.path().join("secure");
    let append = |p: &std::path::Path, lines: &[String]| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
    };
    let lines = |tag: &str, n: usize| -> Vec<String> {
        (0..n)
            .map(|i| format!("Nov 25 08:00:{:02} web-01 sshd[7]: Failed password for root from 203.0.113.9 port {} ssh2 {tag}", i % 60, 40000 + i))
            .collect()
    };
    append(&path, &lines("tailone", 5));
    let server = Server::start_with(false, &["--tail", path.to_str().unwrap()]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    wait_total(&a, "tailone", 5).await;
    // Rotation: the file is renamed and a new one starts; lines written to the old file just
    // before are still read.
    append(&path, &lines("tailtwo", 3));
    std::fs::rename(&path, logs.path().join("secure.1")).unwrap();
    append(&path, &lines("tailthree", 4));
    wait_total(&a, "tailtwo", 3).await;
    wait_total(&a, "tailthree", 4).await;
    // A restart resumes where it stopped: nothing read twice, new lines read.
    let dir = server.stop_keep_dir();
    append(&path, &lines("tailfour", 2));
    let server = Server::start_in(dir, false, &["--tail", path.to_str().unwrap()]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    wait_total(&a, "tailfour", 2).await;
    wait_total(&a, "tailthree", 4).await;
    wait_total(&a, "", 14).await;
}

#[tokio::test]
async fn a_followed_file_or_an_http_batch_can_name_its_parser() {
    let logs = tempfile::tempdir().unwrap();
    let pg = logs.path().join("postgresql.log");
    let kept = logs.path().join("kept.log");
    std::fs::write(
        &pg,
        "2026-11-25 09:19:13.802 UTC [6546] app@gov ERROR:  division by zero marker-pg\n",
    )
    .unwrap();
    // Looks like syslog, but this source is declared raw: stored as it came.
    std::fs::write(
        &kept,
        "Nov 25 08:00:00 web-01 sshd[7]: Accepted password for ops marker-raw\n",
    )
    .unwrap();
    let server = Server::start_with(
        false,
        &[
            "--tail",
            &format!("postgresql:{}", pg.display()),
            "--tail",
            &format!("raw:{}", kept.display()),
        ],
    );
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let v = wait_total(&a, "marker-pg", 1).await;
    assert_eq!(v["items"][0]["event"]["event"]["dataset"], "postgresql.log");
    assert_eq!(v["items"][0]["event"]["user"]["name"], "app");
    let v = wait_total(&a, "marker-raw", 1).await;
    assert_eq!(v["items"][0]["event"]["event"]["dataset"], "raw");
    // An unknown parser name is refused, naming the known ones.
    let token = ingest_token(&a, json!({"name": "formats"})).await;
    let r = client()
        .post(server.url("/api/v1/ingest?format=xml"))
        .bearer_auth(&token)
        .body("\"x\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("postgresql"));
}

#[tokio::test]
async fn impossible_event_times_are_replaced_and_the_indexer_goes_on() {
    // Found by fuzzing the search language: tantivy keeps nanoseconds in an i64, so a year
    // past 2262 used to panic the indexer. Far-future times now take the arrival time.
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let token = ingest_token(&a, json!({"name": "clocks"})).await;
    let body = [
        json!({"@timestamp": "6037-11-25T00:00:00Z", "message": "far future marker-t1"}),
        json!({"@timestamp": "2199-12-31T00:00:00Z", "message": "next century marker-t2"}),
        json!({"ts": 1.0e12, "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "message": "zeek epoch marker-t3"}),
    ]
    .iter()
    .map(|v| v.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let (status, v) = send(&server, &token, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    // A time that does not parse as a storable one is no time; one the index could hold but
    // days ahead is tagged. Either way the event keeps its arrival time.
    wait_total(&a, "tags:event_time_out_of_range", 2).await;
    let v = wait_total(&a, "marker-t1 OR marker-t2 OR marker-t3", 3).await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for item in v["items"].as_array().unwrap() {
        assert!(
            item["@timestamp"].as_str().unwrap().starts_with(&today),
            "{item}"
        );
    }
    let (status, _) = send(
        &server,
        &token,
        json!({"message": "after marker-t4"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_total(&a, "marker-t4", 1).await;
    a.problem(
        "GET",
        "/api/v1/events/search?to=6037-01-01",
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
