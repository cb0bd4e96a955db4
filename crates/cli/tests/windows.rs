//! Windows event logs through the real binary: `yunshou ingest` of `.evtx` files from Sigma's
//! regression data into a data directory, `yunshou replay` of others over HTTP, then search.

mod support;

use serde_json::json;
use support::{api, cli, wait_total, Server, ADMIN_PASSWORD};

fn fixture(rel: &str) -> String {
    let p = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/sigma/regression_data"
    ))
    .join(rel);
    assert!(p.is_file(), "{}", p.display());
    p.to_str().unwrap().to_string()
}

/// Three Sysmon process creations (`icacls`, then `findstr` twice).
const FINDSTR: &str = "rules/windows/process_creation/proc_creation_win_findstr_recon_everyone/47e4bab7-c626-47dc-967b-255608c9a920.evtx";
/// Five Sysmon file creations under AnyDesk's profile folder.
const ANYDESK: &str = "rules/windows/file/file_event/file_event_win_anydesk_artefact/0b9ad457-2554-44c1-82c2-d56a99c42377.evtx";
/// Security 4648.
const EXPLICIT: &str = "rules/windows/builtin/security/win_security_explicit_credential_local_logon/e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62.evtx";
/// WMI-Activity 5858 (fields in UserData).
const WMI: &str = "rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx";
/// Security 4701.
const TASK: &str = "rules/windows/builtin/security/win_security_susp_scheduled_task_delete_or_disable/7595ba94-cf3b-4471-aa03-4f6baa9e5fad.evtx";
/// Defender 1119.
const DEFENDER: &str = "rules-emerging-threats/2026/Exploits/RedSun/win_defender_exploit_redsun_tiering_engine_detected_as_eicar/a7c3e5f2-8b1d-4e9a-b6c2-3d7f5e8a9b4c.evtx";

#[tokio::test]
async fn evtx_files_are_ingested_replayed_and_searchable() {
    // The recorded events are months old: retention (180 days by default, applied when the
    // server starts) would remove them before the search, so the tenant keeps ten years.
    let server = Server::start();
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    a.ok(
        "PUT",
        "/api/v1/events/retention",
        Some(json!({"days": 3650})),
    )
    .await;
    let dir = server.stop_keep_dir();
    let data = dir.path().to_str().unwrap().to_string();

    // A file named .evtx that is not one is refused, naming the file; nothing is written.
    let fake = dir.path().join("export.evtx");
    std::fs::write(&fake, "<Events><Event/></Events>\n").unwrap();
    let (code, out, err) = cli(
        &[
            "ingest",
            "--data-dir",
            &data,
            "--tenant",
            "default",
            &fixture(FINDSTR),
            fake.to_str().unwrap(),
        ],
        None,
    );
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("export.evtx") && err.contains("not an EVTX file"),
        "{err}"
    );

    let files = [
        fixture(FINDSTR),
        fixture(ANYDESK),
        fixture(EXPLICIT),
        fixture(WMI),
    ];
    let mut args = vec!["ingest", "--data-dir", &data, "--tenant", "default"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = cli(&args, None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("10 events ingested into default"), "{out}");
    assert!(!out.contains("could not be read"), "{out}");

    let server = Server::start_in(dir, false, &[]);
    let a = api(&server, "admin", ADMIN_PASSWORD).await;
    let v = wait_total(&a, "event.code:1 AND event.dataset:windows.sysmon", 3).await;
    let ev = &v["items"][0]["event"];
    assert_eq!(ev["event"]["action"], "process-creation");
    assert_eq!(ev["host"]["name"], "ar-win-dc.attackrange.local");
    assert!(ev["process"]["executable"]
        .as_str()
        .unwrap()
        .ends_with(".exe"));
    wait_total(&a, "process.name:findstr.exe", 2).await;
    // Sigma rules match on the event data names: they are all searchable.
    wait_total(&a, "winlog.event_data.OriginalFileName:FINDSTR.EXE", 2).await;
    wait_total(&a, "winlog.event_data.IntegrityLevel:High", 3).await;
    wait_total(&a, "event.code:11 AND event.action:file-create", 5).await;
    wait_total(&a, "file.path:*AnyDesk*", 5).await;
    let v = wait_total(
        &a,
        "event.action:logged-in-explicit AND user.name:testuser",
        1,
    )
    .await;
    let ev = &v["items"][0]["event"];
    assert_eq!(ev["event"]["code"], "4648");
    assert_eq!(ev["winlog"]["channel"], "Security");
    assert_eq!(ev["@timestamp"], "2026-07-17T14:18:34.072213500+00:00");
    wait_total(
        &a,
        "event.dataset:windows.wmi-activity AND winlog.event_data.ResultCode:0x80041003",
        1,
    )
    .await;
    // The summary is full text.
    wait_total(&a, "logged in explicit", 1).await;

    // Replay over HTTP with an ingest token, as a shipper would.
    let token = a
        .ok(
            "POST",
            "/api/v1/ingest-tokens",
            Some(json!({"name": "evtx"})),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, out, err) = cli(
        &[
            "replay",
            "--to",
            &server.url("/api/v1/ingest"),
            "--token",
            &token,
            &fixture(TASK),
            &fixture(DEFENDER),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("2 lines sent"), "{out}");
    wait_total(&a, "event.dataset:windows.security", 2).await;
    wait_total(&a, "event.action:scheduled-task-disabled", 1).await;
    let v = wait_total(
        &a,
        "event.dataset:windows.windows_defender AND event.code:1119",
        1,
    )
    .await;
    assert_eq!(
        v["items"][0]["event"]["winlog"]["event_data"]["Threat Name"],
        "Tool:Win32/EICAR_Test_File"
    );
}

#[test]
fn a_damaged_record_is_named_in_the_summary_and_the_rest_ingested() {
    let mut bytes = std::fs::read(fixture(ANYDESK)).unwrap();
    // The third record (after the 4 KiB file header and 512-byte chunk header, records
    // chained by their sizes) gets its binary XML overwritten.
    let mut at = 4096 + 512;
    for _ in 0..2 {
        at += u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    assert_eq!(&bytes[at..at + 4], b"**\0\0");
    bytes[at + 24..at + 32].fill(0xff);
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("damaged.evtx");
    std::fs::write(&damaged, &bytes).unwrap();
    let data = dir.path().join("data");
    let (code, out, err) = cli(
        &[
            "ingest",
            "--data-dir",
            data.to_str().unwrap(),
            "--tenant",
            "default",
            damaged.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("4 events ingested into default"), "{out}");
    assert!(
        out.contains("1 EVTX record could not be read and was not taken:")
            && out.contains(&format!("{}: record 3: ", damaged.display())),
        "{out}"
    );
}
