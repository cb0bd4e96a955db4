//! Windows event logs no one here wrote: the `.evtx` files of Sigma's regression data
//! (`../shared/fixtures/sigma/regression_data`), each beside a `.json` export of the same
//! events. Every record must read, normalise to a Windows event, and agree with its export.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yunshou_ingest::normalise::parse;

fn regression_data() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/sigma/regression_data"
    ))
    .to_path_buf()
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
}

fn all_evtx() -> Vec<PathBuf> {
    let mut files = Vec::new();
    evtx_files(&regression_data(), &mut files);
    files.sort();
    files
}

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-25T08:00:00Z".parse().unwrap()
}

fn get<'a>(d: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    yunshou_eventstore::schema::get_path(d, path)
}

fn text(d: &Map<String, Value>, path: &str) -> String {
    match get(d, path) {
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Number(_)) => v.to_string(),
        _ => String::new(),
    }
}

fn short(p: &Path) -> String {
    p.strip_prefix(regression_data())
        .unwrap_or(p)
        .display()
        .to_string()
}

/// Every record of every file, normalised: (file, record id, time, document).
type Normalised = Vec<(
    PathBuf,
    String,
    Option<chrono::DateTime<chrono::Utc>>,
    Map<String, Value>,
)>;

fn read_all() -> (usize, Normalised) {
    let files = all_evtx();
    let mut failures = Vec::new();
    let mut out = Vec::new();
    for f in &files {
        let records = yunshou_ingest::evtx::read(f)
            .unwrap_or_else(|e| panic!("{}: the file does not read: {e}", short(f)));
        assert!(!records.is_empty(), "{}: no records", short(f));
        for (i, r) in records.into_iter().enumerate() {
            match r {
                Ok(line) => {
                    assert!(!line.contains('\n'), "{}: one line per record", short(f));
                    let (ts, doc) = parse(&line, "winlog", now());
                    out.push((f.clone(), text(&doc, "winlog.record_id"), ts, doc));
                }
                Err(e) => failures.push(format!("{} record {}: {e}", short(f), i + 1)),
            }
        }
    }
    // None of these files is damaged: any failure is the reader's.
    assert!(failures.is_empty(), "records that failed:\n{failures:#?}");
    (files.len(), out)
}

#[test]
fn every_record_of_every_evtx_file_reads_and_normalises() {
    let (files, docs) = read_all();
    // The regression data is 200-odd files of a few events each; far fewer means the fixtures
    // went missing, not that the reader works.
    assert!(files >= 200, "{files} .evtx files");
    let mut datasets = BTreeMap::new();
    for (f, rid, ts, doc) in &docs {
        let at = format!("{} record {rid}", short(f));
        let dataset = text(doc, "event.dataset");
        assert!(dataset.starts_with("windows."), "{at}: {dataset}");
        assert!(!text(doc, "event.code").is_empty(), "{at}: no event.code");
        assert!(!text(doc, "host.name").is_empty(), "{at}: no host.name");
        assert!(!rid.is_empty(), "{at}: no record id");
        assert!(ts.is_some(), "{at}: no time");
        assert!(
            get(doc, "winlog.event_data")
                .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty())),
            "{at}: no event data"
        );
        let message = text(doc, "message");
        assert!(
            message.starts_with(&text(doc, "event.code")) && !message.contains('\n'),
            "{at}: {message}"
        );
        *datasets.entry(dataset).or_insert(0) += 1;
    }
    eprintln!("{files} files, {} records: {datasets:?}", docs.len());
    // What the regression data holds: mostly Sysmon, a few built-in channels.
    assert!(datasets["windows.sysmon"] > 200, "{datasets:?}");
    for d in [
        "windows.security",
        "windows.windows_defender",
        "windows.taskscheduler",
        "windows.wmi-activity",
    ] {
        assert!(datasets.contains_key(d), "{d}: {datasets:?}");
    }
    // Every Sysmon event in the data is one the table knows.
    for (f, rid, _, doc) in &docs {
        if text(doc, "event.dataset") == "windows.sysmon" {
            assert!(
                !text(doc, "event.action").is_empty(),
                "{} record {rid}: Sysmon {} has no action",
                short(f),
                text(doc, "event.code")
            );
        }
    }
}

/// The exports beside the `.evtx` files come from another EVTX reader, which upper-cases
/// GUIDs without braces and trims trailing blanks; the event is the same.
fn canonical(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let t = s.trim();
            let bare = t.trim_start_matches('{').trim_end_matches('}');
            let is_guid = bare.len() == 36
                && bare.chars().enumerate().all(|(i, c)| {
                    matches!(i, 8 | 13 | 18 | 23) == (c == '-')
                        && (c == '-' || c.is_ascii_hexdigit())
                });
            if is_guid {
                Value::String(bare.to_ascii_lowercase())
            } else {
                Value::String(t.to_string())
            }
        }
        other => other.clone(),
    }
}

/// The `.json` beside an `.evtx`: one or more pretty-printed events, one after another.
fn export(evtx: &Path) -> Vec<Value> {
    let json = evtx.with_extension("json");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", json.display()))
}

#[test]
fn evtx_files_and_their_json_exports_agree() {
    let (_, docs) = read_all();
    let mut by_file: BTreeMap<PathBuf, BTreeMap<String, &Map<String, Value>>> = BTreeMap::new();
    for (f, rid, _, doc) in &docs {
        by_file
            .entry(f.clone())
            .or_default()
            .insert(rid.clone(), doc);
    }
    let (mut compared, mut fields, mut reformatted) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for (f, from_evtx) in &by_file {
        let exported = export(f);
        assert_eq!(
            exported.len(),
            from_evtx.len(),
            "{}: events in the export",
            short(f)
        );
        for event in exported {
            // The exports arrive the way any JSON does: auto-detected.
            let (ts, doc) = parse(&event.to_string(), "auto", chrono::Utc::now());
            let rid = text(&doc, "winlog.record_id");
            let at = format!("{} record {rid}", short(f));
            let other = from_evtx
                .get(&rid)
                .unwrap_or_else(|| panic!("{at}: not in the .evtx"));
            for path in [
                "event.dataset",
                "event.code",
                "event.action",
                "event.provider",
                "winlog.channel",
                "winlog.computer_name",
                "host.name",
                "user.name",
                "user.domain",
                "process.pid",
                "process.executable",
                "process.parent.executable",
                "file.path",
                "registry.path",
            ] {
                assert_eq!(
                    get(&doc, path).map(canonical),
                    get(other, path).map(canonical),
                    "{at}: {path}"
                );
            }
            let a = get(&doc, "winlog.event_data")
                .and_then(Value::as_object)
                .unwrap();
            let b = get(other, "winlog.event_data")
                .and_then(Value::as_object)
                .unwrap();
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{at}: event data fields"
            );
            for (k, v) in a {
                fields += 1;
                if canonical(v) != canonical(&b[k]) {
                    mismatches.push(format!(
                        "{at}: {k}: {v} in the export, {} in the .evtx",
                        b[k]
                    ));
                } else if v != &b[k] {
                    reformatted += 1;
                }
            }
            // Same instant, to the microsecond the export keeps.
            let t = |x: Option<chrono::DateTime<chrono::Utc>>| x.map(|t| t.timestamp_micros());
            assert_eq!(t(ts), t(docs_ts(&docs, f, &rid)), "{at}: time");
            compared += 1;
        }
    }
    eprintln!(
        "{compared} events in {} file pairs agree; {fields} event data values, {reformatted} differing only in GUID case or trailing blanks",
        by_file.len()
    );
    assert_eq!(compared, docs.len());
    // One export was edited by hand: its `.evtx` says `Explorer.EXE` (as Windows writes it),
    // the `.json` beside it `Explorer.exe`. The `.evtx` is the record of what happened.
    assert_eq!(
        mismatches,
        [
            r#"rules/windows/process_creation/proc_creation_win_susp_right_to_left_override/ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx record 23419552: ParentCommandLine: "C:\\Windows\\Explorer.exe" in the export, "C:\\Windows\\Explorer.EXE" in the .evtx"#
        ],
    );
}

fn docs_ts(docs: &Normalised, f: &Path, rid: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    docs.iter()
        .find(|(g, r, _, _)| g == f && r == rid)
        .and_then(|(_, _, ts, _)| *ts)
}

fn find<'a>(docs: &'a Normalised, file_part: &str, rid: &str) -> &'a Map<String, Value> {
    &docs
        .iter()
        .find(|(f, r, _, _)| f.to_string_lossy().contains(file_part) && r == rid)
        .unwrap_or_else(|| panic!("{file_part} record {rid} not found"))
        .3
}

#[test]
fn known_events_map_to_ecs() {
    let (_, docs) = read_all();

    // Sysmon 1: `findstr "Everyone"` run from cmd.exe on a domain controller.
    let d = find(
        &docs,
        "proc_creation_win_findstr_recon_everyone",
        "12249358",
    );
    assert_eq!(text(d, "event.dataset"), "windows.sysmon");
    assert_eq!(text(d, "event.code"), "1");
    assert_eq!(text(d, "event.action"), "process-creation");
    assert_eq!(
        get(d, "event.category").unwrap(),
        &serde_json::json!(["process"])
    );
    assert_eq!(text(d, "host.name"), "ar-win-dc.attackrange.local");
    assert_eq!(text(d, "process.pid"), "3356");
    assert_eq!(
        text(d, "process.executable"),
        "C:\\Windows\\System32\\findstr.exe"
    );
    assert_eq!(text(d, "process.name"), "findstr.exe");
    assert_eq!(text(d, "process.command_line"), "findstr  \"Everyone\"");
    assert_eq!(text(d, "process.parent.pid"), "10048");
    assert_eq!(
        text(d, "process.parent.executable"),
        "C:\\Windows\\System32\\cmd.exe"
    );
    assert_eq!(text(d, "user.name"), "Administrator");
    assert_eq!(text(d, "user.domain"), "ATTACKRANGE");
    assert_eq!(
        text(d, "process.hash.sha256"),
        "940cbec6750076f2a191cbc8da96aae1905f7d9709b48c839bbd52884eff1a45"
    );
    assert_eq!(text(d, "winlog.event_data.OriginalFileName"), "FINDSTR.EXE");
    assert_eq!(text(d, "winlog.event_data.IntegrityLevel"), "High");
    assert_eq!(
        text(d, "message"),
        "1 process creation: user ATTACKRANGE\\Administrator cmd findstr \"Everyone\""
    );

    // Security 4648: a logon with explicit credentials, from a local tool.
    let d = find(
        &docs,
        "win_security_explicit_credential_local_logon",
        "34382",
    );
    assert_eq!(text(d, "event.dataset"), "windows.security");
    assert_eq!(text(d, "event.action"), "logged-in-explicit");
    assert_eq!(text(d, "event.outcome"), "success");
    assert_eq!(
        text(d, "event.provider"),
        "Microsoft-Windows-Security-Auditing"
    );
    assert_eq!(text(d, "user.name"), "testuser");
    assert_eq!(text(d, "user.domain"), "swachchhanda");
    assert_eq!(text(d, "process.pid"), "888");
    assert_eq!(
        text(d, "process.executable"),
        "C:\\Users\\xodih\\OneDrive\\Desktop\\LegacyHive.exe"
    );
    assert!(get(d, "source.ip").is_none(), "IpAddress `-` is no address");
    assert_eq!(text(d, "winlog.event_data.TargetServerName"), "localhost");
    assert_eq!(text(d, "winlog.process.pid"), "876");

    // Security 4701 with a multi-line task definition in its data.
    let d = find(
        &docs,
        "win_security_susp_scheduled_task_delete_or_disable",
        "27732",
    );
    assert_eq!(text(d, "event.action"), "scheduled-task-disabled");
    assert!(text(d, "winlog.event_data.TaskContent").contains("<Task "));
    assert!(!text(d, "message").contains('\n'));

    // WMI-Activity 5858 keeps its fields in UserData.
    let d = find(
        &docs,
        "win_wmi_activity_nteventlogfile_cleareventlog",
        "5314",
    );
    assert_eq!(text(d, "event.dataset"), "windows.wmi-activity");
    assert_eq!(text(d, "winlog.event_data.ResultCode"), "0x80041003");
    assert_eq!(text(d, "user.name"), "xodih");

    // Sysmon 11 and 13: a file and a registry value.
    let files: Vec<_> = docs
        .iter()
        .filter(|(_, _, _, d)| {
            text(d, "event.dataset") == "windows.sysmon" && text(d, "event.code") == "11"
        })
        .collect();
    assert!(!files.is_empty());
    for (_, rid, _, d) in files {
        assert_eq!(text(d, "event.action"), "file-create");
        assert_eq!(
            text(d, "file.path"),
            text(d, "winlog.event_data.TargetFilename").trim(),
            "record {rid}"
        );
    }
    let d = docs
        .iter()
        .map(|x| &x.3)
        .find(|d| text(d, "event.code") == "13" && text(d, "event.dataset") == "windows.sysmon")
        .unwrap();
    assert_eq!(text(d, "event.action"), "registry-value-set");
    assert!(text(d, "registry.path").starts_with("HK"), "{d:?}");
    assert!(!text(d, "registry.value").is_empty());
}

#[test]
fn a_damaged_record_is_reported_in_its_place_and_the_others_still_read() {
    let src = regression_data().join(
        "rules/windows/file/file_event/file_event_win_anydesk_artefact/0b9ad457-2554-44c1-82c2-d56a99c42377.evtx",
    );
    let mut bytes = std::fs::read(&src).unwrap();
    // Records follow the 4 KiB file header and the 512-byte chunk header, each starting with
    // `**\0\0` and its size; the third record's binary XML is overwritten.
    let mut at = 4096 + 512;
    for _ in 0..2 {
        assert_eq!(&bytes[at..at + 4], b"**\0\0");
        at += u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    assert_eq!(&bytes[at..at + 4], b"**\0\0");
    bytes[at + 24..at + 32].fill(0xff);
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("damaged.evtx");
    std::fs::write(&damaged, &bytes).unwrap();
    let records = yunshou_ingest::evtx::read(&damaged).unwrap();
    assert_eq!(records.len(), 5);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.is_err(), i == 2, "record {}: {r:?}", i + 1);
    }
    assert!(!records[2].as_ref().unwrap_err().is_empty());
}
