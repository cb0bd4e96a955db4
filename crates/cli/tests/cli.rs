//! The command line: tenants, users, and the audit chain's tamper evidence on a real
//! SQLite file.

mod support;

use support::cli;

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn d(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().unwrap()
}

/// A data directory with some history: a tenant and two users.
fn populated() -> tempfile::TempDir {
    let dir = data_dir();
    let (code, out, err) = cli(
        &[
            "tenant",
            "add",
            "jiangning-dsj",
            "--display-name",
            "江宁市大数据管理局",
            "--data-dir",
            d(&dir),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    for (name, role) in [("jn.admin", "admin"), ("jn.auditor", "auditor")] {
        let (code, out, err) = cli(
            &[
                "user",
                "add",
                name,
                "--tenant",
                "jiangning-dsj",
                "--role",
                role,
                "--password-stdin",
                "--data-dir",
                d(&dir),
            ],
            Some("Cli-Passw0rd-2026\n"),
        );
        assert_eq!(code, 0, "{out}{err}");
    }
    dir
}

async fn tamper(dir: &tempfile::TempDir, statements: &[&str]) {
    let db = dir.path().join("yunshou.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for s in statements {
        sqlx::query(s)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    pool.close().await;
}

fn verify(dir: &tempfile::TempDir) -> (i32, String) {
    let (code, out, err) = cli(&["audit", "verify", "--data-dir", d(dir)], None);
    (code, format!("{out}{err}"))
}

#[test]
fn tenants_and_users_from_the_cli() {
    let dir = populated();
    let (code, out, _) = cli(&["tenant", "list", "--data-dir", d(&dir)], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("default\tprovider") && out.contains("jiangning-dsj\tcustomer"),
        "{out}"
    );
    let (code, out, _) = cli(
        &[
            "user",
            "list",
            "--tenant",
            "jiangning-dsj",
            "--data-dir",
            d(&dir),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("jn.admin")
            && out.contains("jiangning-dsj:admin")
            && !out.contains("\nadmin\t"),
        "{out}"
    );
    let (code, _, _) = cli(
        &[
            "user",
            "passwd",
            "jn.admin",
            "--password-stdin",
            "--data-dir",
            d(&dir),
        ],
        Some("New-Cli-Passw0rd-1\n"),
    );
    assert_eq!(code, 0);
    let (code, out, _) = cli(
        &[
            "user",
            "grant",
            "admin",
            "--tenant",
            "jiangning-dsj",
            "--role",
            "analyst",
            "--data-dir",
            d(&dir),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("admin in jiangning-dsj: analyst\n"), "{out}");
}

#[test]
fn bad_cli_input_is_refused_clearly() {
    let dir = populated();
    let bad = [
        (
            vec![
                "user",
                "add",
                "x1",
                "--tenant",
                "jiangning-dsj",
                "--role",
                "root",
                "--password-stdin",
            ],
            "unknown role",
        ),
        (
            vec![
                "user",
                "add",
                "x1",
                "--tenant",
                "nowhere",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "no tenant named `nowhere`",
        ),
        (
            vec![
                "user",
                "add",
                "x1",
                "--tenant",
                "jiangning-dsj",
                "--role",
                "viewer",
            ],
            "--password-stdin",
        ),
        (vec!["tenant", "add", "Bad Name"], "tenant name"),
        (vec!["tenant", "add", "jiangning-dsj"], "already exists"),
        (
            vec![
                "user",
                "add",
                "jn.admin",
                "--tenant",
                "jiangning-dsj",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "is taken",
        ),
    ];
    for (args, expected) in bad {
        let mut args: Vec<&str> = args;
        args.extend(["--data-dir", d(&dir)]);
        let (code, out, err) = cli(&args, Some("Cli-Passw0rd-2026\n"));
        assert_ne!(code, 0, "{args:?} should fail");
        assert!(err.contains(expected), "{args:?}: {out}{err}");
    }
    let (code, _, err) = cli(
        &[
            "user",
            "add",
            "x2",
            "--tenant",
            "jiangning-dsj",
            "--role",
            "viewer",
            "--password-stdin",
            "--data-dir",
            d(&dir),
        ],
        Some("short\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("at least 12 characters"), "{err}");
    let (_, out, _) = cli(&["user", "list", "--data-dir", d(&dir)], None);
    assert!(
        !out.contains("x1") && !out.contains("x2"),
        "nothing written: {out}"
    );
    assert_eq!(verify(&dir).0, 0);
}

#[test]
fn verify_intact_chain() {
    let dir = populated();
    let (code, out) = verify(&dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
    let (code, out) = verify(&data_dir());
    assert_eq!(code, 2, "an empty directory is an error, not a pass: {out}");
}

#[tokio::test]
async fn the_product_cannot_edit_or_delete_audit_rows() {
    let dir = populated();
    let db = dir.path().join("yunshou.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit_log SET actor_name = 'x' WHERE seq = 1")
        .execute(&pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_log WHERE seq = 1")
        .execute(&pool)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    pool.close().await;
    assert_eq!(verify(&dir).0, 0);
}

#[tokio::test]
async fn verify_names_an_altered_row() {
    let dir = populated();
    tamper(
        &dir,
        &[
            "DROP TRIGGER audit_log_append_only_update",
            "UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 3",
        ],
    )
    .await;
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("row 3") && out.contains("altered"), "{out}");
}

#[tokio::test]
async fn verify_names_a_deleted_row() {
    let dir = populated();
    tamper(
        &dir,
        &[
            "DROP TRIGGER audit_log_append_only_delete",
            "DELETE FROM audit_log WHERE seq = 2",
        ],
    )
    .await;
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("row 2") && out.contains("deleted"), "{out}");
}

#[tokio::test]
async fn verify_names_a_truncated_tail() {
    let dir = populated();
    tamper(
        &dir,
        &[
            "DROP TRIGGER audit_log_append_only_delete",
            "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
        ],
    )
    .await;
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deleted from the end"), "{out}");
}

#[tokio::test]
async fn verify_names_an_inserted_row() {
    // A row slipped in with a forged seq in the middle breaks the chain there; one appended at
    // the end with a correct-looking hash is caught by the anchor.
    let dir = populated();
    tamper(
        &dir,
        &[
            "INSERT INTO audit_log (seq, id, at, actor_name, action, object_type, outcome, prev_hash, hash) \
             SELECT MAX(seq) + 1, 'forged', '2026-01-01T00:00:00.000000Z', 'mallory', 'user.create', 'user', 'success', \
             (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), 'ab' FROM audit_log",
        ],
    )
    .await;
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at row"), "{out}");

    let dir = populated();
    tamper(
        &dir,
        &[
            "DROP TRIGGER audit_log_append_only_update",
            "DROP TRIGGER audit_log_append_only_delete",
            // Shift rows 3.. up by one (from the end down) and slip a forged row in as seq 3.
            "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
            "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
            "INSERT INTO audit_log (seq, id, at, actor_name, action, object_type, outcome, prev_hash, hash) \
             SELECT 3, 'forged', at, 'mallory', 'role.grant', 'user', 'success', hash, hash FROM audit_log WHERE seq = 2",
        ],
    )
    .await;
    let (code, out) = verify(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("row 3"), "{out}");
}

#[test]
fn first_start_prints_a_generated_admin_password_once() {
    let dir = data_dir();
    let (code, out, _) =
        support::cli_with_admin_password(&["tenant", "list", "--data-dir", d(&dir)], None, None);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.contains("shown once"))
        .expect("the password is printed");
    let password = line.rsplit(' ').next().unwrap();
    yunshou_model::check_password_policy(password).unwrap();
    let (_, again, _) =
        support::cli_with_admin_password(&["tenant", "list", "--data-dir", d(&dir)], None, None);
    assert!(
        !again.contains("shown once"),
        "printed only on the first start"
    );
    let (code, _, err) = support::cli_with_admin_password(
        &["tenant", "list", "--data-dir", d(&data_dir())],
        None,
        Some("weak"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("YUNSHOU_ADMIN_PASSWORD"), "{err}");
}

#[test]
fn config_file_is_validated() {
    let dir = data_dir();
    let file = dir.path().join("yunshou.toml");
    for (text, expected) in [
        (
            "listen = \"127.0.0.1:0\"\nport = 80\n",
            "unknown field `port`",
        ),
        ("session_idle_minutes = 0\n", "session_idle_minutes"),
        ("tls_cert = \"/nonexistent.pem\"\n", "tls_cert and tls_key"),
        ("listen = 8080\n", "listen"),
    ] {
        std::fs::write(&file, text).unwrap();
        let (code, out, err) = cli(
            &[
                "serve",
                "--config",
                file.to_str().unwrap(),
                "--data-dir",
                d(&dir),
            ],
            None,
        );
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert!(err.contains(expected), "{text}: {err}");
    }
    let (code, _, err) = cli(&["serve", "--listen", "not-an-address"], None);
    assert_eq!(code, 2);
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn config_file_settings_apply() {
    let dir = data_dir();
    let file = dir.path().join("yunshou.toml");
    std::fs::write(&file, "tls_self_signed = true\nsession_idle_minutes = 45\n").unwrap();
    let server = support::Server::start_with(false, &["--config", file.to_str().unwrap()]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    assert!(server.data_dir().join("tls/self-signed.crt").exists());
}
