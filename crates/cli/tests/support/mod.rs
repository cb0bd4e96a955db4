//! Starts the real `yunshou` binary on a random loopback port with its own data directory,
//! and talks HTTP to it. Each server is stopped (SIGTERM) and its directory removed on drop.
#![allow(dead_code)]

pub mod browser;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "Test-Admin-Passw0rd";
/// The demo accounts' password.
pub const DEMO_PASSWORD: &str = "Yunshou-Demo-2026";

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_yunshou")
}

/// A running server.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts `yunshou serve` (or `demo` when `demo`), with extra arguments.
    pub fn start_with(demo: bool, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, demo, extra)
    }

    /// Starts a plain server with only `default` and `admin`.
    pub fn start() -> Server {
        Self::start_with(false, &[])
    }

    /// Starts a server seeded with the demo organisations.
    pub fn demo() -> Server {
        Self::start_with(true, &[])
    }

    /// Starts in an existing data directory.
    pub fn start_in(dir: tempfile::TempDir, demo: bool, extra: &[&str]) -> Server {
        Self::start_in_env(dir, demo, extra, &[])
    }

    /// Starts in an existing data directory with extra environment variables.
    pub fn start_in_env(
        dir: tempfile::TempDir,
        demo: bool,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = Command::new(bin());
        cmd.envs(env.iter().copied());
        cmd.arg(if demo { "demo" } else { "serve" })
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("YUNSHOU_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "YUNSHOU_LOG",
                std::env::var("TEST_SERVER_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start yunshou");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read stdout");
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base, dir }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        send_signal(self.child.id(), "TERM");
        wait_timeout(&mut self.child, Duration::from_secs(30))
            .expect("server did not stop after SIGTERM")
    }

    /// Kills the server with SIGKILL (a crash) and hands back its data directory.
    pub fn crash_keep_dir(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    /// Stops the server and hands back its data directory (for restarts and tamper tests).
    pub fn stop_keep_dir(mut self) -> tempfile::TempDir {
        self.terminate();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// An HTTP client that keeps no cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in through the API and returns the bearer token.
pub async fn login(server: &Server, username: &str, password: &str) -> String {
    let r = client()
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("login request");
    assert_eq!(
        r.status(),
        200,
        "login as {username} failed: {}",
        r.text().await.unwrap_or_default()
    );
    let body: serde_json::Value = r.json().await.expect("login json");
    body["token"].as_str().expect("token").to_string()
}

/// Runs the CLI with arguments and optional standard input; returns (status code, stdout, stderr).
pub fn cli(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    cli_with_admin_password(args, stdin, Some(ADMIN_PASSWORD))
}

/// Like [`cli`], choosing `YUNSHOU_ADMIN_PASSWORD` (`None`: unset, so a first start generates one).
pub fn cli_with_admin_password(
    args: &[&str],
    stdin: Option<&str>,
    admin_password: Option<&str>,
) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("YUNSHOU_ADMIN_PASSWORD")
        .env("YUNSHOU_LOG", "warn");
    if let Some(p) = admin_password {
        cmd.env("YUNSHOU_ADMIN_PASSWORD", p);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run yunshou");
    if let Some(input) = stdin {
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A path inside a data directory.
pub fn in_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A signed-in API caller.
pub struct Api<'a> {
    /// The server.
    pub server: &'a Server,
    /// Bearer token.
    pub token: String,
}

impl Api<'_> {
    /// Sends a request; the body parsed as JSON (or a string, or null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut r = client()
            .request(method.parse().unwrap(), self.server.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
            },
        )
    }

    /// A request that must succeed.
    pub async fn ok(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (status, v) = self.call(method, path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    /// Creates an asset.
    pub async fn create(&self, body: serde_json::Value) -> serde_json::Value {
        let (status, v) = self.call("POST", "/api/v1/assets", Some(body)).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{v}");
        v
    }

    /// Names of the assets a filter returns, sorted.
    pub async fn names(&self, query: &str) -> Vec<String> {
        let v = self
            .ok("GET", &format!("/api/v1/assets?limit=1000&{query}"), None)
            .await;
        let mut names: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        assert_eq!(
            v["total"].as_u64().unwrap() as usize,
            names.len(),
            "{query}"
        );
        names
    }

    /// A request that must fail with `status`; the problem's detail.
    pub async fn problem(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        status: reqwest::StatusCode,
    ) -> String {
        let (s, v) = self.call(method, path, body).await;
        assert_eq!(s, status, "{method} {path}: {v}");
        v["detail"].as_str().unwrap_or_default().to_string()
    }
}

/// A free loopback port (for listeners given on the command line).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Signs in as `user`.
pub async fn api<'a>(server: &'a Server, user: &str, password: &str) -> Api<'a> {
    Api {
        server,
        token: login(server, user, password).await,
    }
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until the search `q` (over everything since 2020) finds exactly `n` events: the
/// indexer commits twice a second.
pub async fn wait_total(a: &Api<'_>, q: &str, n: u64) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let v = a
            .ok(
                "GET",
                &format!("/api/v1/events/search?from=2020-01-01&q={}", urlencode(q)),
                None,
            )
            .await;
        if v["total"].as_u64() == Some(n) {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{q}: {} events, want {n}",
            v["total"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A one-connection-at-a-time HTTP sink that records request bodies.
pub async fn webhook_sink() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = tokio::io::AsyncReadExt::read(&mut sock, &mut chunk)
                    .await
                    .unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break Some(body.to_string());
                    }
                }
            };
            let _ = tokio::io::AsyncWriteExt::write_all(
                &mut sock,
                b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
            )
            .await;
            if let Some(body) = body {
                let _ = tx.send(serde_json::from_str(&body).unwrap_or(serde_json::Value::Null));
            }
        }
    });
    (url, rx)
}

/// A minimal SMTP server on loopback that accepts every message and hands over each
/// (envelope recipients, message text): enough protocol for a relay client.
pub async fn smtp_sink() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(Vec<String>, String)>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = sock.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut rcpt = vec![];
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        rcpt.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        b"250 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        let _ = write.write_all(b"354 go ahead\r\n").await;
                        let mut text = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            text.push_str(&l);
                            text.push('\n');
                        }
                        let _ = tx.send((std::mem::take(&mut rcpt), text));
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (addr, rx)
}

/// The value of the hidden form field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Posts the console's sign-in form: a cookie-holding client (redirects not followed) and the
/// answer to the form.
pub async fn console_login(
    server: &Server,
    username: &str,
    password: &str,
) -> (reqwest::Client, reqwest::Response) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = get_text(&c, &server.url("/login")).await;
    let csrf = hidden(&page, "_csrf");
    let r = c
        .post(server.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("_csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    (c, r)
}

/// The CSRF token of a signed-in console client's pages.
pub async fn console_csrf(c: &reqwest::Client, server: &Server) -> String {
    hidden(&get_text(c, &server.url("/")).await, "_csrf")
}

async fn get_text(c: &reqwest::Client, url: &str) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// Signs in to the console: a cookie-holding client (redirects not followed) and the CSRF
/// token of its pages.
pub async fn console_sign_in(
    server: &Server,
    username: &str,
    password: &str,
) -> (reqwest::Client, String) {
    let (c, r) = console_login(server, username, password).await;
    assert_eq!(r.status(), 303, "sign-in as {username} failed");
    let csrf = console_csrf(&c, server).await;
    (c, csrf)
}

/// Unlocks a demo account through its tenant administrator (the demo's brute-force story
/// locks `jn.viewer`).
pub async fn unlock_demo_user(server: &Server, admin: &str, username: &str) {
    let admin = api(server, admin, DEMO_PASSWORD).await;
    let users = admin.ok("GET", "/api/v1/users?limit=100", None).await;
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin
        .ok("POST", &format!("/api/v1/users/{id}/unlock"), None)
        .await;
}
