//! Firewall commands on a remote host through the system `ssh` client.
//!
//! The command is an argv handed to `ssh` directly (no local shell). ssh itself joins the
//! remote words into one line for the remote shell, so every word has already passed the
//! checks in [`crate::safety`] and is quoted when it holds anything but plain characters.

use std::time::Duration;

use tokio::process::Command;

use crate::model::{IptablesTarget, NftablesTarget, SshTarget};

/// `nft add element <family> <table> <set> { <ip> [timeout <t>] }`.
pub(crate) fn nft_command(t: &NftablesTarget, ip: &str, timeout: Option<&str>) -> Vec<String> {
    let mut words = sudo(&t.ssh);
    words.extend(
        [
            "nft", "add", "element", &t.family, &t.table, &t.set, "{", ip,
        ]
        .map(String::from),
    );
    if let Some(to) = timeout {
        words.extend(["timeout".to_string(), to.to_string()]);
    }
    words.push("}".into());
    words
}

/// `iptables -w 5 -I <chain> -s <ip> -j DROP` (`ip6tables` for IPv6); `-w` waits for the
/// xtables lock instead of failing when another rule change is in progress.
pub(crate) fn iptables_command(t: &IptablesTarget, ip: &str, v6: bool) -> Vec<String> {
    let mut words = sudo(&t.ssh);
    let tool = if v6 { "ip6tables" } else { "iptables" };
    words.extend([tool, "-w", "5", "-I", &t.chain, "-s", ip, "-j", "DROP"].map(String::from));
    words
}

fn sudo(t: &SshTarget) -> Vec<String> {
    if t.sudo {
        vec!["sudo".into(), "-n".into()]
    } else {
        Vec::new()
    }
}

/// The remote words as the remote shell will read them.
pub(crate) fn join_remote(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/')
                });
            if plain {
                w.clone()
            } else {
                // Words never hold a single quote (checked upstream); escape anyway.
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The full `ssh` argv: batch mode (never prompts), no user or system config, only the
/// given key and known_hosts file, strict host key checking.
pub(crate) fn argv(t: &SshTarget, remote: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "ssh",
        "-F",
        "none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("UserKnownHostsFile={}", t.known_hosts));
    v.extend(
        [
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=10",
            "-i",
        ]
        .map(String::from),
    );
    v.push(t.identity_file.clone());
    v.extend([
        "-p".to_string(),
        t.port.to_string(),
        "-l".to_string(),
        t.user.clone(),
    ]);
    // `--` ends ssh's options: the host can never be read as one.
    v.extend(["--".to_string(), t.host.clone(), join_remote(remote)]);
    v
}

/// What a finished command reported.
pub(crate) struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv` (its first word is the program) with a deadline; the child is killed when the
/// deadline passes.
pub(crate) async fn run(argv: &[String], timeout: Duration) -> Result<Finished, String> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| format!("{} did not finish within {timeout:?}", argv[0]))?
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    Ok(Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}
