//! Windows event logs in the JSON shapes they travel in, normalised to one ECS event.
//!
//! - EVTX rendered by the `evtx` crate (and the Sigma regression data, which has the same
//!   shape): `{"Event": {"System": {…}, "EventData": {…}}}`, XML attributes under
//!   `#attributes`, text beside attributes under `#text`.
//! - winlogbeat: an ECS document with `winlog.channel`, `winlog.event_id`,
//!   `winlog.provider_name`, `winlog.event_data.*`, `@timestamp`. Its own fields (agent,
//!   host, …) are kept; ours take precedence where both say something.
//! - NXLog `im_msvistalog` with `to_json()`: `EventID`, `Channel`, `SourceName`, `Hostname`,
//!   `EventTime` and the event data fields at the top level beside them. Flat exports that
//!   use the XML element names instead (`Computer`, `EventRecordID`, `TimeCreated`) are
//!   read the same way.
//!
//! Every event data field is kept verbatim under `winlog.event_data.<Name>` (`UserData`
//! children too, and unnamed `<Data>` as `param1`, `param2`, … as winlogbeat does), because
//! Sigma rules match on those names. The well-known ones are also mapped to ECS (`user.*`,
//! `source.*`, `process.*`, `file.*`, …). The record as received is not copied here: the
//! pipeline keeps it as `event.original`.

use super::{put, Normalised};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// A Windows event, whichever shape it came in.
#[derive(Default)]
struct Win {
    event_id: Option<String>,
    channel: Option<String>,
    provider: Option<String>,
    provider_guid: Option<String>,
    computer: Option<String>,
    record_id: Option<String>,
    time: Option<DateTime<Utc>>,
    level: Option<String>,
    keywords: Option<Value>,
    opcode: Option<String>,
    task: Option<String>,
    version: Option<String>,
    /// The SID the event was logged under (`System/Security/@UserID`).
    user_sid: Option<String>,
    /// The logging process and thread (`System/Execution`).
    pid: Option<i64>,
    tid: Option<i64>,
    /// `EventData` (and `UserData`) fields, by name.
    data: Map<String, Value>,
    /// The text Windows rendered for the event, when the shipper sent it.
    rendered: Option<String>,
    /// NXLog's `EventType` (`AUDIT_SUCCESS`, `AUDIT_FAILURE`, `ERROR`, …).
    event_type: Option<String>,
    /// NXLog's resolution of `user_sid`.
    account: Option<(String, Option<String>)>,
}

/// Parses a line in any of the shapes; `None` when it is not a Windows event.
pub fn parse(line: &str) -> Option<Normalised> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(line) else {
        return None;
    };
    normalise(&doc)
}

/// Recognises a JSON object as a Windows event by its shape's marker fields and normalises
/// it; `None` when no shape matches.
pub fn normalise(doc: &Map<String, Value>) -> Option<Normalised> {
    if let Some(ev) = doc.get("Event").and_then(Value::as_object) {
        if ev.get("System").is_some_and(Value::is_object) {
            return Some(build(from_evtx(ev), Map::new()));
        }
    }
    if let Some(w) = doc.get("winlog").and_then(Value::as_object) {
        if ["event_id", "channel", "provider_name", "event_data"]
            .iter()
            .any(|k| w.contains_key(*k))
        {
            let win = from_winlogbeat(doc, w);
            let mut base = doc.clone();
            // Replaced by the event time and our summary; the rendered text moves to
            // `winlog.message`.
            base.remove("@timestamp");
            base.remove("message");
            return Some(build(win, base));
        }
    }
    if doc.contains_key("EventID")
        && [
            "Channel",
            "SourceName",
            "ProviderGuid",
            "Hostname",
            "Computer",
        ]
        .iter()
        .any(|k| doc.contains_key(*k))
    {
        return Some(build(from_flat(doc), Map::new()));
    }
    None
}

/// The value as text, if it is a scalar (or an element's `#text`).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("#text").and_then(text),
        _ => None,
    }
}

/// Text worth mapping: Windows writes `-` (and sometimes nothing) for "not applicable".
fn useful(v: Option<&Value>) -> Option<String> {
    v.and_then(text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "-")
}

/// A number, including the `0x…` hexadecimal the Security log writes process ids in.
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(h) => i64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        }
        Value::Object(o) => int(o.get("#text")),
        _ => None,
    }
}

fn attr<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    v?.get("#attributes")?.get(name)
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    yunshou_eventstore::parse_time(s).or_else(|| {
        // NXLog's default `EventTime` and Sysmon's `UtcTime` carry no zone. Sysmon's is UTC;
        // NXLog's is the agent's local time unless `DateFormat` says otherwise (the operator
        // guide asks for UTC), so UTC is the only reading that is right when configured.
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .map(|t| t.and_utc())
    })
}

fn from_evtx(ev: &Map<String, Value>) -> Win {
    let sys = ev.get("System").and_then(Value::as_object);
    let s = |k: &str| sys.and_then(|m| m.get(k));
    let mut w = Win {
        event_id: s("EventID").and_then(text),
        channel: s("Channel").and_then(text),
        provider: attr(s("Provider"), "Name")
            .or_else(|| attr(s("Provider"), "EventSourceName"))
            .and_then(text),
        provider_guid: attr(s("Provider"), "Guid").and_then(text),
        computer: s("Computer").and_then(text),
        record_id: s("EventRecordID").and_then(text),
        time: attr(s("TimeCreated"), "SystemTime")
            .and_then(text)
            .and_then(|t| time(&t)),
        level: s("Level").and_then(text).map(|l| level_name(&l)),
        keywords: s("Keywords").cloned(),
        opcode: s("Opcode").and_then(text),
        task: s("Task").and_then(text),
        version: s("Version").and_then(text),
        user_sid: attr(s("Security"), "UserID").and_then(text),
        pid: int(attr(s("Execution"), "ProcessID")),
        tid: int(attr(s("Execution"), "ThreadID")),
        rendered: ev
            .get("RenderingInfo")
            .and_then(|r| r.get("Message"))
            .and_then(text),
        ..Win::default()
    };
    if let Some(d) = ev.get("EventData") {
        event_data(d, &mut w.data);
    }
    if let Some(Value::Object(u)) = ev.get("UserData") {
        // One element named after the event template, its children the fields.
        for (k, v) in u {
            match v {
                Value::Object(_) => event_data(v, &mut w.data),
                _ if k != "#attributes" => {
                    w.data.entry(k.clone()).or_insert_with(|| v.clone());
                }
                _ => {}
            }
        }
    }
    w
}

/// Adds an `EventData` element's fields to `out`.
fn event_data(v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match k.as_str() {
                    "#attributes" => {}
                    "Data" | "#text" => unnamed(v, out),
                    _ => {
                        out.insert(k.clone(), flat(v));
                    }
                }
            }
        }
        Value::Null => {}
        other => unnamed(other, out),
    }
}

/// `<Data>` elements without a `Name`: numbered like winlogbeat does, so the same event
/// reads the same from either source.
fn unnamed(v: &Value, out: &mut Map<String, Value>) {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) if o.contains_key("#text") => return unnamed(&o["#text"], out),
        Value::Null => vec![],
        other => vec![other],
    };
    for item in items {
        if let Some(name) = attr(Some(item), "Name").and_then(text) {
            out.insert(name, flat(item));
        } else if !item.is_null() {
            let n = (1..)
                .find(|i| !out.contains_key(&format!("param{i}")))
                .expect("a free number");
            out.insert(format!("param{n}"), flat(item));
        }
    }
}

/// An element with attributes is `{"#attributes": …, "#text": v}`: the field's value is `v`.
fn flat(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.contains_key("#text") => flat(&o["#text"]),
        other => other.clone(),
    }
}

fn from_winlogbeat(doc: &Map<String, Value>, w: &Map<String, Value>) -> Win {
    let g = |path: &str| super::get(doc, path);
    let mut win = Win {
        event_id: w
            .get("event_id")
            .and_then(text)
            .or_else(|| g("event.code").and_then(text)),
        channel: w.get("channel").and_then(text),
        provider: w
            .get("provider_name")
            .and_then(text)
            .or_else(|| g("event.provider").and_then(text)),
        provider_guid: w.get("provider_guid").and_then(text),
        computer: w
            .get("computer_name")
            .and_then(text)
            .or_else(|| g("host.name").and_then(text)),
        record_id: w.get("record_id").and_then(text),
        time: doc.get("@timestamp").and_then(Value::as_str).and_then(time),
        level: g("log.level")
            .or_else(|| w.get("level"))
            .and_then(text)
            .map(|l| level_name(&l)),
        keywords: w.get("keywords").cloned(),
        opcode: w.get("opcode").and_then(text),
        task: w.get("task").and_then(text),
        version: w.get("version").and_then(text),
        user_sid: g("winlog.user.identifier").and_then(text),
        pid: int(g("winlog.process.pid")),
        tid: int(g("winlog.process.thread.id")),
        rendered: doc.get("message").and_then(text),
        ..Win::default()
    };
    if let Some(d @ Value::Object(_)) = w.get("event_data") {
        event_data(d, &mut win.data);
    }
    if let Some(Value::Object(u)) = w.get("user_data") {
        for (k, v) in u {
            if k != "xml_name" {
                win.data.entry(k.clone()).or_insert_with(|| flat(v));
            }
        }
    }
    win
}

/// NXLog's own fields; everything else at the top level is event data.
const NXLOG_FIELDS: &[&str] = &[
    "@timestamp",
    "AccountName",
    "AccountType",
    "ActivityID",
    "Category",
    "Channel",
    "Domain",
    "ERRORCODE",
    "EventID",
    "EventReceivedTime",
    "EventTime",
    "EventType",
    "ExecutionProcessID",
    "ExecutionThreadID",
    "Hostname",
    "Keywords",
    "Level",
    "LevelValue",
    "Message",
    "MessageSourceAddress",
    "Opcode",
    "OpcodeValue",
    "ProcessID",
    "ProviderGuid",
    "Qualifiers",
    "RecordNumber",
    "RelatedActivityID",
    "Severity",
    "SeverityValue",
    "SourceModuleName",
    "SourceModuleType",
    "SourceName",
    "Task",
    "TaskValue",
    "ThreadID",
    "UserID",
    "Version",
    // Flat exports that keep the XML element names.
    "Computer",
    "Correlation",
    "EventData",
    "EventRecordID",
    "Execution",
    "Provider",
    "ProviderName",
    "Provider_Name",
    "Security",
    "SystemTime",
    "TimeCreated",
    "UserData",
    "timestamp",
];

fn from_flat(doc: &Map<String, Value>) -> Win {
    let g = |k: &str| doc.get(k);
    let first = |keys: &[&str]| keys.iter().find_map(|k| g(k).and_then(text));
    let when = ["EventTime", "@timestamp", "SystemTime", "timestamp"]
        .iter()
        .find_map(|k| g(k).and_then(Value::as_str))
        .map(str::to_string)
        .or_else(|| match g("TimeCreated") {
            Some(Value::String(s)) => Some(s.clone()),
            t => attr(t, "SystemTime")
                .or_else(|| t?.get("SystemTime"))
                .and_then(text),
        });
    let provider = first(&["SourceName", "ProviderName", "Provider_Name"]).or_else(|| {
        let p = g("Provider")?;
        text(p)
            .or_else(|| attr(Some(p), "Name").and_then(text))
            .or_else(|| p.get("Name").and_then(text))
    });
    let mut w = Win {
        event_id: g("EventID").and_then(text),
        channel: g("Channel").and_then(text),
        provider,
        provider_guid: g("ProviderGuid").and_then(text),
        computer: first(&["Hostname", "Computer"]),
        record_id: first(&["RecordNumber", "EventRecordID"]),
        time: when.and_then(|t| time(&t)),
        level: g("Severity")
            .or_else(|| g("Level"))
            .and_then(text)
            .map(|l| level_name(&l)),
        keywords: g("Keywords").cloned(),
        opcode: first(&["Opcode", "OpcodeValue"]),
        task: first(&["Category", "Task", "TaskValue"]),
        version: g("Version").and_then(text),
        user_sid: g("UserID").and_then(text),
        pid: int(g("ExecutionProcessID").or_else(|| g("ProcessID"))),
        tid: int(g("ExecutionThreadID").or_else(|| g("ThreadID"))),
        rendered: g("Message").and_then(text),
        event_type: g("EventType").and_then(text),
        account: useful(g("AccountName")).map(|n| (n, useful(g("Domain")))),
        ..Win::default()
    };
    for (k, v) in doc {
        if !NXLOG_FIELDS.contains(&k.as_str()) {
            w.data.insert(k.clone(), v.clone());
        }
    }
    if let Some(d) = g("EventData") {
        event_data(d, &mut w.data);
    }
    w
}

/// `Level` 0 is "log always", which the Security log uses for every audit event.
fn level_name(l: &str) -> String {
    match l.trim().to_ascii_lowercase().as_str() {
        "0" | "4" | "info" | "information" | "informational" => "information".into(),
        "1" | "critical" => "critical".into(),
        "2" | "error" => "error".into(),
        "3" | "warning" | "warn" => "warning".into(),
        "5" | "verbose" | "debug" => "verbose".into(),
        other => other.into(),
    }
}

/// The short name the dataset takes after `windows.`.
fn dataset(channel: Option<&str>, provider: Option<&str>) -> String {
    let slug = |s: &str| -> String {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("microsoft-windows-").unwrap_or(&s);
        let s = s.strip_suffix("/operational").unwrap_or(s);
        let out: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if out.is_empty() {
            "unknown".into()
        } else {
            out
        }
    };
    let known = |s: &str| -> Option<&'static str> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "microsoft-windows-sysmon/operational" | "microsoft-windows-sysmon" => "sysmon",
            "microsoft-windows-powershell/operational"
            | "windows powershell"
            | "microsoft-windows-powershell"
            | "powershell" => "powershell",
            "microsoft-windows-security-auditing" | "microsoft-windows-eventlog" => "security",
            "service control manager" => "system",
            _ => return None,
        })
    };
    match channel.filter(|c| !c.trim().is_empty()) {
        // Collected centrally, events keep the channel they were forwarded into: the
        // provider says more about them.
        Some(c) if c.eq_ignore_ascii_case("ForwardedEvents") => provider
            .map(|p| known(p).map(String::from).unwrap_or_else(|| slug(p)))
            .unwrap_or_else(|| "forwardedevents".into()),
        Some(c) => known(c).map(String::from).unwrap_or_else(|| slug(c)),
        None => provider
            .map(|p| known(p).map(String::from).unwrap_or_else(|| slug(p)))
            .unwrap_or_else(|| "unknown".into()),
    }
}

/// What an event means, for the events analysts and rules look for most.
struct Known {
    action: &'static str,
    category: &'static [&'static str],
    kind: &'static [&'static str],
    outcome: Option<&'static str>,
}

const fn k(
    action: &'static str,
    category: &'static [&'static str],
    kind: &'static [&'static str],
    outcome: Option<&'static str>,
) -> Known {
    Known {
        action,
        category,
        kind,
        outcome,
    }
}

const OK: Option<&str> = Some("success");
const FAIL: Option<&str> = Some("failure");
const AUTH: &[&str] = &["authentication"];
const IAM: &[&str] = &["iam"];
const PROC: &[&str] = &["process"];
const FILE: &[&str] = &["file"];
const REG: &[&str] = &["registry"];
const CONF: &[&str] = &["configuration"];
const NET: &[&str] = &["network"];

/// The action names follow winlogbeat's for the Security log, so dashboards and queries
/// written for it carry over; Sysmon's follow its event names.
fn known(dataset: &str, id: u32) -> Option<Known> {
    Some(match (dataset, id) {
        ("security", 1102) => k("audit-log-cleared", IAM, &["admin", "deletion"], OK),
        ("security", 4624) => k("logged-in", AUTH, &["start"], OK),
        ("security", 4625) => k("logon-failed", AUTH, &["start"], FAIL),
        ("security", 4634 | 4647) => k("logged-out", AUTH, &["end"], OK),
        ("security", 4648) => k("logged-in-explicit", AUTH, &["start"], OK),
        ("security", 4672) => k("logged-in-special", IAM, &["admin"], OK),
        ("security", 4688) => k("created-process", PROC, &["start"], OK),
        ("security", 4689) => k("exited-process", PROC, &["end"], OK),
        ("security", 4697) => k("service-installed", CONF, &["creation"], OK),
        ("security", 4698) => k("scheduled-task-created", CONF, &["creation"], OK),
        ("security", 4699) => k("scheduled-task-deleted", CONF, &["deletion"], OK),
        ("security", 4700) => k("scheduled-task-enabled", CONF, &["change"], OK),
        ("security", 4701) => k("scheduled-task-disabled", CONF, &["change"], OK),
        ("security", 4702) => k("scheduled-task-updated", CONF, &["change"], OK),
        ("security", 4719) => k("changed-audit-config", CONF, &["change"], OK),
        ("security", 4720) => k("added-user-account", IAM, &["user", "creation"], OK),
        ("security", 4722) => k("enabled-user-account", IAM, &["user", "change"], OK),
        ("security", 4723) => k("changed-password", IAM, &["user", "change"], None),
        ("security", 4724) => k("reset-password", IAM, &["user", "change"], None),
        ("security", 4725) => k("disabled-user-account", IAM, &["user", "change"], OK),
        ("security", 4726) => k("deleted-user-account", IAM, &["user", "deletion"], OK),
        ("security", 4728 | 4732 | 4746 | 4751 | 4756 | 4761) => {
            k("added-member-to-group", IAM, &["group", "change"], OK)
        }
        ("security", 4729 | 4733 | 4747 | 4752 | 4757 | 4762) => {
            k("removed-member-from-group", IAM, &["group", "change"], OK)
        }
        ("security", 4738) => k("modified-user-account", IAM, &["user", "change"], OK),
        ("security", 4740) => k("locked-out-user-account", IAM, &["user", "change"], OK),
        ("security", 4767) => k("unlocked-user-account", IAM, &["user", "change"], OK),
        ("security", 4768) => k(
            "kerberos-authentication-ticket-requested",
            AUTH,
            &["start"],
            None,
        ),
        ("security", 4769) => k("kerberos-service-ticket-requested", AUTH, &["start"], None),
        ("security", 4771) => k("kerberos-preauth-failed", AUTH, &["start"], FAIL),
        ("security", 4776) => k("credential-validated", AUTH, &["start"], None),
        ("security", 4778) => k("session-reconnected", AUTH, &["start"], OK),
        ("security", 4779) => k("session-disconnected", AUTH, &["end"], OK),
        ("security", 5140) => k("network-share-object-accessed", NET, &["access"], None),
        ("security", 5145) => k(
            "network-share-object-access-checked",
            NET,
            &["access"],
            None,
        ),
        ("sysmon", 1) => k("process-creation", PROC, &["start"], None),
        ("sysmon", 2) => k("file-creation-time-changed", FILE, &["change"], None),
        ("sysmon", 3) => k("network-connection", NET, &["connection", "start"], None),
        ("sysmon", 4) => k("sysmon-state-changed", CONF, &["change"], None),
        ("sysmon", 5) => k("process-terminated", PROC, &["end"], None),
        ("sysmon", 6) => k("driver-loaded", &["driver"], &["start"], None),
        ("sysmon", 7) => k("image-loaded", &["library"], &["start"], None),
        ("sysmon", 8) => k("create-remote-thread", PROC, &["change"], None),
        ("sysmon", 9) => k("raw-access-read", FILE, &["access"], None),
        ("sysmon", 10) => k("process-access", PROC, &["access"], None),
        ("sysmon", 11) => k("file-create", FILE, &["creation"], None),
        ("sysmon", 12) => k("registry-object-added-or-deleted", REG, &["change"], None),
        ("sysmon", 13) => k("registry-value-set", REG, &["change"], None),
        ("sysmon", 14) => k("registry-object-renamed", REG, &["change"], None),
        ("sysmon", 15) => k("file-create-stream-hash", FILE, &["creation"], None),
        ("sysmon", 16) => k("sysmon-config-changed", CONF, &["change"], None),
        ("sysmon", 17) => k("pipe-created", FILE, &["creation"], None),
        ("sysmon", 18) => k("pipe-connected", FILE, &["access"], None),
        ("sysmon", 19) => k("wmi-event-filter", CONF, &["change"], None),
        ("sysmon", 20) => k("wmi-event-consumer", CONF, &["change"], None),
        ("sysmon", 21) => k("wmi-event-consumer-to-filter", CONF, &["change"], None),
        ("sysmon", 22) => k("dns-query", NET, &["protocol"], None),
        ("sysmon", 23) => k("file-delete", FILE, &["deletion"], None),
        ("sysmon", 24) => k("clipboard-change", &["host"], &["change"], None),
        ("sysmon", 25) => k("process-tampering", PROC, &["change"], None),
        ("sysmon", 26) => k("file-delete-detected", FILE, &["deletion"], None),
        ("sysmon", 27) => k("file-block-executable", FILE, &["creation", "denied"], FAIL),
        ("sysmon", 28) => k("file-block-shredding", FILE, &["deletion", "denied"], FAIL),
        ("sysmon", 29) => k("file-executable-detected", FILE, &["creation"], None),
        ("system", 104) => k("log-cleared", IAM, &["admin", "deletion"], OK),
        ("system", 7036) => k("service-state-changed", CONF, &["change"], None),
        ("system", 7040) => k("service-start-type-changed", CONF, &["change"], None),
        ("system", 7045) => k("service-installed", CONF, &["creation"], OK),
        ("powershell", 400) => k("engine-started", PROC, &["start"], None),
        ("powershell", 403) => k("engine-stopped", PROC, &["end"], None),
        ("powershell", 800 | 4103) => k("pipeline-executed", PROC, &["info"], None),
        ("powershell", 4104) => k("script-block-logged", PROC, &["info"], None),
        ("windows_defender", 1116) => k("malware-detected", &["malware"], &["info"], None),
        ("windows_defender", 1117) => k("malware-action-taken", &["malware"], &["info"], OK),
        ("windows_defender", 1118 | 1119) => {
            k("malware-action-failed", &["malware"], &["info"], FAIL)
        }
        ("windows_defender", 5001) => k("real-time-protection-disabled", CONF, &["change"], OK),
        ("taskscheduler", 106) => k("scheduled-task-created", CONF, &["creation"], OK),
        ("taskscheduler", 140) => k("scheduled-task-updated", CONF, &["change"], OK),
        ("taskscheduler", 141) => k("scheduled-task-deleted", CONF, &["deletion"], OK),
        ("taskscheduler", 142) => k("scheduled-task-disabled", CONF, &["change"], OK),
        _ => return None,
    })
}

/// The audit success and failure bits of `Keywords`, in whichever form the shipper wrote
/// them (hex text, a signed 64-bit number, winlogbeat's names, NXLog's `EventType`).
fn audit_outcome(keywords: Option<&Value>, event_type: Option<&str>) -> Option<&'static str> {
    const SUCCESS: u64 = 0x0020_0000_0000_0000;
    const FAILURE: u64 = 0x0010_0000_0000_0000;
    match event_type.map(str::to_ascii_uppercase).as_deref() {
        Some("AUDIT_SUCCESS") => return Some("success"),
        Some("AUDIT_FAILURE") => return Some("failure"),
        _ => {}
    }
    let bits = |v: &Value| -> Option<u64> {
        match v {
            Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)),
            Value::String(s) => {
                let s = s.trim();
                match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    Some(h) => u64::from_str_radix(h, 16).ok(),
                    None => s
                        .parse::<u64>()
                        .ok()
                        .or_else(|| s.parse::<i64>().ok().map(|i| i as u64)),
                }
            }
            _ => None,
        }
    };
    match keywords? {
        Value::Array(names) => names.iter().find_map(|n| match n.as_str() {
            Some("Audit Success") => Some("success"),
            Some("Audit Failure") => Some("failure"),
            _ => None,
        }),
        v => {
            let b = bits(v)?;
            if b & FAILURE != 0 {
                Some("failure")
            } else if b & SUCCESS != 0 {
                Some("success")
            } else {
                None
            }
        }
    }
}

fn build(w: Win, mut d: Map<String, Value>) -> Normalised {
    let short = dataset(w.channel.as_deref(), w.provider.as_deref());
    put(&mut d, "event.dataset", format!("windows.{short}"));
    put(&mut d, "event.kind", "event");
    let id = w
        .event_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(id) = id {
        put(&mut d, "event.code", id);
        put(&mut d, "winlog.event_id", id);
    }
    if let Some(p) = &w.provider {
        put(&mut d, "event.provider", p.as_str());
        put(&mut d, "winlog.provider_name", p.as_str());
    }
    for (path, v) in [
        ("winlog.provider_guid", &w.provider_guid),
        ("winlog.channel", &w.channel),
        ("winlog.record_id", &w.record_id),
        ("winlog.computer_name", &w.computer),
        ("host.name", &w.computer),
        ("log.level", &w.level),
        ("winlog.opcode", &w.opcode),
        ("winlog.task", &w.task),
        ("winlog.version", &w.version),
        ("winlog.user.identifier", &w.user_sid),
        ("winlog.message", &w.rendered),
    ] {
        if let Some(v) = v {
            put(&mut d, path, v.as_str());
        }
    }
    if let Some(k) = &w.keywords {
        put(&mut d, "winlog.keywords", k.clone());
    }
    if let Some(p) = w.pid {
        put(&mut d, "winlog.process.pid", p);
    }
    if let Some(t) = w.tid {
        put(&mut d, "winlog.process.thread.id", t);
    }
    let num = id.and_then(|i| i.parse::<u32>().ok());
    let meaning = num.and_then(|n| known(&short, n));
    let outcome = meaning
        .as_ref()
        .and_then(|m| m.outcome)
        .or_else(|| audit_outcome(w.keywords.as_ref(), w.event_type.as_deref()));
    if let Some(m) = &meaning {
        put(&mut d, "event.action", m.action);
        let list = |l: &[&str]| Value::Array(l.iter().map(|s| Value::from(*s)).collect());
        put(&mut d, "event.category", list(m.category));
        put(&mut d, "event.type", list(m.kind));
    }
    if let Some(o) = outcome {
        put(&mut d, "event.outcome", o);
    }
    ecs(&mut d, &w, &short, num.unwrap_or(0));
    let summary = summary(
        &d,
        id,
        meaning.as_ref(),
        w.channel.as_deref().or(w.provider.as_deref()),
    );
    d.insert("message".into(), summary.into());
    put(&mut d, "winlog.event_data", Value::Object(w.data));
    (w.time, d)
}

/// Group membership changes: the group is the target, the member is in `Member*`.
const GROUP_EVENTS: &[u32] = &[
    4728, 4729, 4732, 4733, 4746, 4747, 4751, 4752, 4756, 4757, 4761, 4762,
];
/// Account management: the subject acts on the target account.
const ACCOUNT_EVENTS: &[u32] = &[4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4767, 4781];

fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn ip(s: &str) -> Option<String> {
    let s = s.trim();
    // IPv4 clients of a dual-stack listener show up mapped (`::ffff:10.0.0.5`).
    let s = s.strip_prefix("::ffff:").unwrap_or(s);
    s.parse::<std::net::IpAddr>().ok().map(|a| a.to_string())
}

/// Name, domain and SID of an account, as the Security log splits them.
type Account = (Option<String>, Option<String>, Option<String>);

fn set_user(d: &mut Map<String, Value>, prefix: &str, (name, domain, sid): &Account) {
    for (field, v) in [("name", name), ("domain", domain), ("id", sid)] {
        if let Some(v) = v {
            put(d, &format!("{prefix}.{field}"), v.as_str());
        }
    }
}

/// Maps the well-known event data fields to ECS.
fn ecs(d: &mut Map<String, Value>, w: &Win, dataset: &str, id: u32) {
    let data = &w.data;
    let s = |k: &str| useful(data.get(k));
    let n = |k: &str| int(data.get(k));
    // Windows writes process id 0 where there is no process (a network logon).
    let pid = |k: &str| int(data.get(k)).filter(|p| *p > 0);

    // Who.
    let subject: Account = (
        s("SubjectUserName"),
        s("SubjectDomainName"),
        s("SubjectUserSid"),
    );
    let target: Account = (
        s("TargetUserName"),
        s("TargetDomainName"),
        s("TargetUserSid").or_else(|| s("TargetSid")),
    );
    if dataset == "security" && GROUP_EVENTS.contains(&id) {
        set_user(d, "user", &subject);
        set_user(d, "group", &target);
        set_user(d, "user.target", &(s("MemberName"), None, s("MemberSid")));
    } else if dataset == "security" && ACCOUNT_EVENTS.contains(&id) {
        set_user(d, "user", &subject);
        set_user(d, "user.target", &target);
    } else if target.0.is_some() {
        set_user(d, "user", &target);
    } else if subject.0.is_some() {
        set_user(d, "user", &subject);
    } else if let Some(u) = s("User").or_else(|| s("UserName")) {
        // Sysmon and others: `DOMAIN\name`.
        match u.split_once('\\') {
            Some((dom, name)) => {
                put(d, "user.domain", dom);
                put(d, "user.name", name);
            }
            None => put(d, "user.name", u.as_str()),
        }
    } else if let Some((name, domain)) = &w.account {
        put(d, "user.name", name.as_str());
        if let Some(dom) = domain {
            put(d, "user.domain", dom.as_str());
        }
    }
    if super::get(d, "user.id").is_none() {
        if let Some(sid) = &w.user_sid {
            put(d, "user.id", sid.as_str());
        }
    }

    // Where from and to.
    for (ip_key, port_key, host_key, side) in [
        ("IpAddress", "IpPort", "WorkstationName", "source"),
        ("SourceIp", "SourcePort", "SourceHostname", "source"),
        ("SourceAddress", "SourcePort", "", "source"),
        ("ClientAddress", "ClientPort", "", "source"),
        (
            "DestinationIp",
            "DestinationPort",
            "DestinationHostname",
            "destination",
        ),
        ("DestAddress", "DestPort", "", "destination"),
    ] {
        if super::get(d, &format!("{side}.ip")).is_some() {
            continue;
        }
        let Some(addr) = s(ip_key).and_then(|a| ip(&a)) else {
            continue;
        };
        put(d, &format!("{side}.ip"), addr);
        if let Some(p) = n(port_key).filter(|p| (1..=65535).contains(p)) {
            put(d, &format!("{side}.port"), p);
        }
        if let Some(h) = s(host_key) {
            put(d, &format!("{side}.domain"), h);
        }
    }
    if let Some(p) = s("Protocol").filter(|p| p.chars().all(|c| c.is_ascii_alphabetic())) {
        put(d, "network.transport", p.to_ascii_lowercase());
    }
    if let Some(i) = s("Initiated") {
        put(
            d,
            "network.direction",
            if i.eq_ignore_ascii_case("true") {
                "egress"
            } else {
                "ingress"
            },
        );
    }

    // Which process.
    let exe = |d: &mut Map<String, Value>, prefix: &str, path: &str| {
        put(d, &format!("{prefix}.executable"), path);
        put(d, &format!("{prefix}.name"), basename(path));
    };
    if let Some(new) = pid("NewProcessId") {
        // Security 4688: `ProcessId` is the creator.
        put(d, "process.pid", new);
        if let Some(p) = pid("ProcessId") {
            put(d, "process.parent.pid", p);
        }
    } else if let Some(p) = pid("ProcessId").or_else(|| pid("SourceProcessId")) {
        put(d, "process.pid", p);
    }
    if let Some(p) = s("NewProcessName")
        .or_else(|| s("Image"))
        .or_else(|| s("SourceImage"))
        .or_else(|| s("ProcessName"))
    {
        exe(d, "process", &p);
    }
    if let Some(c) = s("CommandLine") {
        put(d, "process.command_line", c);
    }
    if let Some(c) = s("CurrentDirectory") {
        put(d, "process.working_directory", c);
    }
    if let Some(g) = s("ProcessGuid").or_else(|| s("SourceProcessGuid")) {
        put(d, "process.entity_id", g);
    }
    if let Some(p) = pid("ParentProcessId") {
        put(d, "process.parent.pid", p);
    }
    if let Some(p) = s("ParentImage").or_else(|| s("ParentProcessName")) {
        exe(d, "process.parent", &p);
    }
    if let Some(c) = s("ParentCommandLine") {
        put(d, "process.parent.command_line", c);
    }
    if let Some(g) = s("ParentProcessGuid") {
        put(d, "process.parent.entity_id", g);
    }

    // What it touched.
    let file = s("TargetFilename")
        .or_else(|| s("ImageLoaded"))
        .or_else(|| {
            (s("ObjectType").as_deref() == Some("File"))
                .then(|| s("ObjectName"))
                .flatten()
        })
        .or_else(|| (dataset == "powershell").then(|| s("Path")).flatten());
    if let Some(f) = &file {
        put(d, "file.path", f.as_str());
        put(d, "file.name", basename(f));
        if let Some((dir, _)) = f.rsplit_once(['\\', '/']) {
            put(d, "file.directory", dir);
        }
    }
    if let Some(h) = s("Hashes").or_else(|| s("Hash")) {
        // Sysmon: `SHA1=…,MD5=…,SHA256=…,IMPHASH=…`.
        let owner = if (dataset == "sysmon" && id == 1) || file.is_none() {
            "process.hash"
        } else {
            "file.hash"
        };
        for part in h.split(',') {
            if let Some((algo, v)) = part.split_once('=') {
                let algo = algo.trim().to_ascii_lowercase();
                if !algo.is_empty() && algo.chars().all(|c| c.is_ascii_alphanumeric()) {
                    put(d, &format!("{owner}.{algo}"), v.trim().to_ascii_lowercase());
                }
            }
        }
    }
    if let Some(t) = s("TargetObject") {
        put(d, "registry.path", t.as_str());
        if let Some((hive, rest)) = t.split_once('\\') {
            if hive.starts_with("HK") {
                put(d, "registry.hive", hive);
                if id == 13 {
                    if let Some((key, value)) = rest.rsplit_once('\\') {
                        put(d, "registry.key", key);
                        put(d, "registry.value", value);
                    }
                } else {
                    put(d, "registry.key", rest);
                }
            }
        }
        if let Some(v) = s("Details") {
            put(d, "registry.data.strings", Value::Array(vec![v.into()]));
        }
    }
    if let Some(q) = s("QueryName") {
        put(d, "dns.question.name", q);
        let answers: Vec<Value> = s("QueryResults")
            .unwrap_or_default()
            .split(';')
            .filter_map(ip)
            .map(Value::from)
            .collect();
        if !answers.is_empty() {
            put(d, "dns.resolved_ip", Value::Array(answers));
        }
    }
    if let Some(svc) = s("ServiceName") {
        put(d, "service.name", svc);
    }
    if dataset == "security" {
        if let Some(t) = n("LogonType") {
            if let Some(name) = logon_type(t) {
                put(d, "winlog.logon.type", name);
            }
        }
        if let Some(l) = s("TargetLogonId").or_else(|| s("SubjectLogonId")) {
            put(d, "winlog.logon.id", l);
        }
    }
    if let Some(t) = s("ScriptBlockText") {
        put(d, "powershell.file.script_block_text", t);
    }
    if let Some(t) = s("ScriptBlockId") {
        put(d, "powershell.file.script_block_id", t);
    }
}

fn logon_type(t: i64) -> Option<&'static str> {
    Some(match t {
        0 => "System",
        2 => "Interactive",
        3 => "Network",
        4 => "Batch",
        5 => "Service",
        7 => "Unlock",
        8 => "NetworkCleartext",
        9 => "NewCredentials",
        10 => "RemoteInteractive",
        11 => "CachedInteractive",
        12 => "CachedRemoteInteractive",
        13 => "CachedUnlock",
        _ => return None,
    })
}

/// One line a person can scan in a list: id, what happened, then who, where and what.
fn summary(
    d: &Map<String, Value>,
    id: Option<&str>,
    meaning: Option<&Known>,
    source: Option<&str>,
) -> String {
    let g = |p: &str| super::get(d, p).and_then(text);
    let mut head = id.unwrap_or("?").to_string();
    match meaning {
        Some(m) => {
            head.push(' ');
            head.push_str(&m.action.replace('-', " "));
        }
        None => {
            if let Some(c) = source {
                head.push(' ');
                head.push_str(c);
            }
        }
    }
    let mut parts = Vec::new();
    if let Some(name) = g("user.name") {
        parts.push(match g("user.domain") {
            Some(dom) => format!("user {dom}\\{name}"),
            None => format!("user {name}"),
        });
    }
    if let Some(t) = g("user.target.name") {
        parts.push(format!("target {t}"));
    }
    if let Some(grp) = g("group.name") {
        parts.push(format!("group {grp}"));
    }
    if let Some(ip) = g("source.ip") {
        parts.push(format!("from {ip}"));
    }
    if let Some(ip) = g("destination.ip") {
        match g("destination.port") {
            Some(p) => parts.push(format!("to {ip}:{p}")),
            None => parts.push(format!("to {ip}")),
        }
    }
    if let Some(q) = g("dns.question.name") {
        parts.push(format!("query {q}"));
    }
    if let Some(r) = g("registry.path") {
        parts.push(format!("key {r}"));
    } else if let Some(f) = g("file.path") {
        parts.push(format!("file {f}"));
    }
    if let Some(c) = g("process.command_line") {
        parts.push(format!("cmd {c}"));
    } else if let Some(e) = g("process.executable") {
        parts.push(format!("process {e}"));
    }
    let mut line = if parts.is_empty() {
        head
    } else {
        format!("{head}: {}", parts.join(" "))
    };
    // Command lines and paths can carry newlines; a summary is one line, and short.
    line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 400 {
        line = line.chars().take(399).collect::<String>() + "…";
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Normalised {
        let line = v.to_string();
        parse(&line).unwrap_or_else(|| panic!("not recognised: {line}"))
    }

    fn at<'a>(d: &'a Map<String, Value>, path: &str) -> &'a Value {
        super::super::get(d, path).unwrap_or(&Value::Null)
    }

    const WINLOGBEAT_4625: &str = r#"{
      "@timestamp": "2026-11-25T07:59:58.123Z",
      "@metadata": {"beat": "winlogbeat", "type": "_doc", "version": "8.15.0"},
      "agent": {"type": "winlogbeat", "version": "8.15.0", "name": "DC01"},
      "ecs": {"version": "8.0.0"},
      "host": {"name": "dc01.corp.example", "hostname": "dc01", "os": {"family": "windows"}},
      "log": {"level": "information"},
      "message": "An account failed to log on.\n\nSubject:\n\tSecurity ID:\t\tS-1-0-0\n\tAccount Name:\t\t-",
      "event": {
        "code": "4625", "kind": "event", "provider": "Microsoft-Windows-Security-Auditing",
        "action": "logon-failed", "category": ["authentication"], "type": ["start"],
        "outcome": "failure", "created": "2026-11-25T07:59:59.001Z", "module": "security"
      },
      "winlog": {
        "api": "wineventlog",
        "channel": "Security",
        "event_id": "4625",
        "provider_name": "Microsoft-Windows-Security-Auditing",
        "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
        "record_id": "1837112",
        "computer_name": "DC01.corp.example",
        "process": {"pid": 664, "thread": {"id": 5236}},
        "keywords": ["Audit Failure"],
        "opcode": "Info",
        "task": "Logon",
        "event_data": {
          "SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-",
          "SubjectLogonId": "0x0", "TargetUserSid": "S-1-0-0", "TargetUserName": "admin",
          "TargetDomainName": "CORP", "Status": "0xc000006d", "FailureReason": "%%2313",
          "SubStatus": "0xc000006a", "LogonType": "3", "LogonProcessName": "NtLmSsp ",
          "AuthenticationPackageName": "NTLM", "WorkstationName": "KALI",
          "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": "0",
          "ProcessId": "0x0", "ProcessName": "-", "IpAddress": "10.1.2.3", "IpPort": "50612"
        },
        "logon": {"type": "Network", "failure": {"reason": "Unknown user name or bad password."}}
      }
    }"#;

    /// winlogbeat 8 `wineventlog` output for a failed network logon (after the documented
    /// field reference: `winlog.*`, `event.code`, `@timestamp`, the Security module's
    /// enrichments).
    fn winlogbeat_4625() -> Value {
        serde_json::from_str(WINLOGBEAT_4625).unwrap()
    }

    #[test]
    fn winlogbeat_failed_logon() {
        let (ts, d) = norm(winlogbeat_4625());
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T07:59:58.123+00:00");
        assert_eq!(d["event"]["dataset"], "windows.security");
        assert_eq!(d["event"]["code"], "4625");
        assert_eq!(d["event"]["action"], "logon-failed");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["event"]["category"], json!(["authentication"]));
        assert_eq!(
            d["event"]["provider"],
            "Microsoft-Windows-Security-Auditing"
        );
        assert_eq!(d["host"]["name"], "DC01.corp.example");
        // The beat's own fields stay.
        assert_eq!(d["host"]["hostname"], "dc01");
        assert_eq!(d["agent"]["type"], "winlogbeat");
        assert_eq!(d["user"]["name"], "admin");
        assert_eq!(d["user"]["domain"], "CORP");
        assert_eq!(d["user"]["id"], "S-1-0-0");
        assert_eq!(d["source"]["ip"], "10.1.2.3");
        assert_eq!(d["source"]["port"], 50612);
        assert_eq!(d["source"]["domain"], "KALI");
        assert!(
            at(&d, "process.pid").is_null(),
            "ProcessId 0x0 is no process"
        );
        assert_eq!(at(&d, "winlog.logon.type"), "Network");
        assert_eq!(at(&d, "winlog.record_id"), "1837112");
        assert_eq!(at(&d, "winlog.event_data.SubStatus"), "0xc000006a");
        assert_eq!(at(&d, "winlog.event_data.LogonProcessName"), "NtLmSsp ");
        assert!(at(&d, "winlog.message")
            .as_str()
            .unwrap()
            .starts_with("An account failed"));
        assert_eq!(
            d["message"],
            "4625 logon failed: user CORP\\admin from 10.1.2.3"
        );
    }

    #[test]
    fn winlogbeat_sysmon_process_creation_and_dns() {
        let (_, d) = norm(json!({
            "@timestamp": "2026-11-25T08:00:01.5Z",
            "event": {"code": "1", "kind": "event", "provider": "Microsoft-Windows-Sysmon"},
            "host": {"name": "ws17"},
            "winlog": {
                "channel": "Microsoft-Windows-Sysmon/Operational",
                "event_id": 1,
                "provider_name": "Microsoft-Windows-Sysmon",
                "computer_name": "WS17.corp.example",
                "record_id": 99182,
                "user": {"identifier": "S-1-5-18", "name": "SYSTEM", "domain": "NT AUTHORITY"},
                "event_data": {
                    "RuleName": "-", "UtcTime": "2026-11-25 08:00:01.497",
                    "ProcessGuid": "{6c2a5ee1-7a41-6744-2a01-000000001d00}", "ProcessId": "7420",
                    "Image": "C:\\Windows\\System32\\cmd.exe",
                    "CommandLine": "cmd.exe /c whoami /all",
                    "CurrentDirectory": "C:\\Users\\alice\\",
                    "User": "CORP\\alice", "IntegrityLevel": "Medium",
                    "Hashes": "SHA1=AAAA,MD5=BBBB,SHA256=CCCC,IMPHASH=DDDD",
                    "ParentProcessGuid": "{6c2a5ee1-7a40-6744-2901-000000001d00}",
                    "ParentProcessId": "6612",
                    "ParentImage": "C:\\Windows\\explorer.exe",
                    "ParentCommandLine": "C:\\Windows\\Explorer.EXE"
                }
            }
        }));
        assert_eq!(d["event"]["dataset"], "windows.sysmon");
        assert_eq!(d["event"]["code"], "1");
        assert_eq!(d["event"]["action"], "process-creation");
        assert_eq!(at(&d, "process.pid"), 7420);
        assert_eq!(
            at(&d, "process.executable"),
            "C:\\Windows\\System32\\cmd.exe"
        );
        assert_eq!(at(&d, "process.name"), "cmd.exe");
        assert_eq!(at(&d, "process.command_line"), "cmd.exe /c whoami /all");
        assert_eq!(at(&d, "process.parent.pid"), 6612);
        assert_eq!(at(&d, "process.parent.name"), "explorer.exe");
        assert_eq!(at(&d, "process.hash.sha256"), "cccc");
        assert_eq!(at(&d, "user.name"), "alice");
        assert_eq!(at(&d, "user.domain"), "CORP");
        assert_eq!(at(&d, "user.id"), "S-1-5-18");
        assert_eq!(at(&d, "winlog.event_id"), "1");
        assert_eq!(at(&d, "winlog.record_id"), "99182");
        assert_eq!(
            d["message"],
            "1 process creation: user CORP\\alice cmd cmd.exe /c whoami /all"
        );

        let (_, d) = norm(json!({
            "@timestamp": "2026-11-25T08:00:02Z",
            "winlog": {
                "channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "22",
                "provider_name": "Microsoft-Windows-Sysmon", "computer_name": "WS17",
                "event_data": {
                    "ProcessId": "4412", "QueryName": "login.example.net", "QueryStatus": "0",
                    "QueryResults": "type:  5 edge.example.net;::ffff:203.0.113.7;198.51.100.1;",
                    "Image": "C:\\Program Files\\App\\app.exe"
                }
            }
        }));
        assert_eq!(d["event"]["action"], "dns-query");
        assert_eq!(at(&d, "dns.question.name"), "login.example.net");
        assert_eq!(
            at(&d, "dns.resolved_ip"),
            &json!(["203.0.113.7", "198.51.100.1"])
        );
    }

    const NXLOG_4624: &str = r#"{"EventTime":"2026-11-25 08:00:00","Hostname":"DC01.corp.example","Keywords":-9214364837600034816,"EventType":"AUDIT_SUCCESS","SeverityValue":2,"Severity":"INFO","EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Version":2,"TaskValue":12544,"OpcodeValue":0,"RecordNumber":1837201,"ExecutionProcessID":664,"ExecutionThreadID":7112,"Channel":"Security","Message":"An account was successfully logged on.\r\n\r\nSubject: ...","Category":"Logon","Opcode":"Info","SubjectUserSid":"S-1-5-18","SubjectUserName":"DC01$","SubjectDomainName":"CORP","SubjectLogonId":"0x3e7","TargetUserSid":"S-1-5-21-1-2-3-1104","TargetUserName":"bob","TargetDomainName":"CORP","TargetLogonId":"0x8d1a2f","LogonType":"10","LogonProcessName":"User32 ","AuthenticationPackageName":"Negotiate","WorkstationName":"DC01","ProcessId":"0x2e4","ProcessName":"C:\\Windows\\System32\\svchost.exe","IpAddress":"192.0.2.44","IpPort":"0","EventReceivedTime":"2026-11-25 08:00:01","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog"}"#;

    /// NXLog `im_msvistalog` + `xm_json` `to_json()`: the documented fields, event data at
    /// the top level, `EventTime` in NXLog's default `YYYY-MM-DD hh:mm:ss`.
    #[test]
    fn nxlog_logon_and_process_creation() {
        let (ts, d) = norm(serde_json::from_str(NXLOG_4624).unwrap());
        assert_eq!(ts.unwrap().to_rfc3339(), "2026-11-25T08:00:00+00:00");
        assert_eq!(d["event"]["dataset"], "windows.security");
        assert_eq!(d["event"]["code"], "4624");
        assert_eq!(d["event"]["action"], "logged-in");
        assert_eq!(d["event"]["outcome"], "success");
        assert_eq!(d["host"]["name"], "DC01.corp.example");
        assert_eq!(d["user"]["name"], "bob");
        assert_eq!(d["user"]["id"], "S-1-5-21-1-2-3-1104");
        assert_eq!(d["source"]["ip"], "192.0.2.44");
        assert!(at(&d, "source.port").is_null(), "port 0 is no port");
        assert_eq!(at(&d, "process.pid"), 0x2e4);
        assert_eq!(at(&d, "process.name"), "svchost.exe");
        assert_eq!(at(&d, "winlog.logon.type"), "RemoteInteractive");
        assert_eq!(at(&d, "winlog.logon.id"), "0x8d1a2f");
        assert_eq!(at(&d, "winlog.record_id"), "1837201");
        assert_eq!(at(&d, "winlog.process.pid"), 664);
        assert_eq!(at(&d, "log.level"), "information");
        // Event data is exactly what is not NXLog's own.
        let ed = at(&d, "winlog.event_data").as_object().unwrap();
        assert_eq!(ed.len(), 16, "{ed:?}");
        assert!(!ed.contains_key("Hostname") && !ed.contains_key("SourceModuleType"));
        assert_eq!(
            d["message"],
            "4624 logged in: user CORP\\bob from 192.0.2.44 process C:\\Windows\\System32\\svchost.exe"
        );

        let (_, d) = norm(json!({
            "EventTime": "2026-11-25T08:00:03.250000Z", "Hostname": "ws17", "EventID": 4688,
            "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
            "EventType": "AUDIT_SUCCESS", "SubjectUserName": "alice", "SubjectDomainName": "CORP",
            "SubjectUserSid": "S-1-5-21-1-2-3-1105", "NewProcessId": "0x1f4c",
            "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "ProcessId": "0x1a2c",
            "CommandLine": "whoami  /groups", "TargetUserName": "-",
            "ParentProcessName": "C:\\Windows\\System32\\cmd.exe", "MandatoryLabel": "S-1-16-8192"
        }));
        assert_eq!(d["event"]["action"], "created-process");
        assert_eq!(at(&d, "process.pid"), 0x1f4c);
        assert_eq!(at(&d, "process.parent.pid"), 0x1a2c);
        assert_eq!(
            at(&d, "process.executable"),
            "C:\\Windows\\System32\\whoami.exe"
        );
        assert_eq!(at(&d, "process.parent.name"), "cmd.exe");
        assert_eq!(at(&d, "process.command_line"), "whoami  /groups");
        assert_eq!(at(&d, "user.name"), "alice", "TargetUserName `-` is nobody");
    }

    #[test]
    fn group_and_account_changes_name_actor_and_target() {
        let (_, d) = norm(json!({
            "EventID": 4732, "Channel": "Security", "Hostname": "DC01",
            "SourceName": "Microsoft-Windows-Security-Auditing",
            "MemberName": "-", "MemberSid": "S-1-5-21-1-2-3-1107",
            "TargetUserName": "Administrators", "TargetDomainName": "Builtin",
            "TargetSid": "S-1-5-32-544", "SubjectUserSid": "S-1-5-21-1-2-3-500",
            "SubjectUserName": "admin", "SubjectDomainName": "CORP", "SubjectLogonId": "0x2a2f1"
        }));
        assert_eq!(d["event"]["action"], "added-member-to-group");
        assert_eq!(at(&d, "user.name"), "admin");
        assert_eq!(at(&d, "group.name"), "Administrators");
        assert_eq!(at(&d, "group.id"), "S-1-5-32-544");
        assert_eq!(at(&d, "user.target.id"), "S-1-5-21-1-2-3-1107");
        let (_, d) = norm(json!({
            "EventID": 4720, "Channel": "Security", "Hostname": "DC01",
            "TargetUserName": "mallory", "TargetDomainName": "CORP",
            "SubjectUserName": "admin", "SubjectDomainName": "CORP"
        }));
        assert_eq!(d["event"]["action"], "added-user-account");
        assert_eq!(at(&d, "user.name"), "admin");
        assert_eq!(at(&d, "user.target.name"), "mallory");
        assert_eq!(
            d["message"],
            "4720 added user account: user CORP\\admin target mallory"
        );
    }

    #[test]
    fn evtx_shapes_with_attributes_unnamed_data_and_user_data() {
        // System log: `EventID` with `Qualifiers`, unnamed `<Data>`.
        let (ts, d) = norm(json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Service Control Manager",
                    "Guid": "{555908d1-a6d7-4695-8e1e-26931d2012f4}",
                    "EventSourceName": "Service Control Manager"}},
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                "Level": 4, "Keywords": "0x8080000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-11-25T08:00:00.1234567Z"}},
                "EventRecordID": 4242, "Channel": "System", "Computer": "srv02",
                "Security": {"#attributes": {"UserID": "S-1-5-21-1-2-3-500"}}
            },
            "EventData": {"ServiceName": "PSEXESVC", "ImagePath": "%SystemRoot%\\PSEXESVC.exe",
                "ServiceType": "user mode service", "StartType": "demand start",
                "AccountName": "LocalSystem"}
        }}));
        assert_eq!(ts.unwrap().timestamp_micros() % 1_000_000, 123_456);
        assert_eq!(d["event"]["dataset"], "windows.system");
        assert_eq!(d["event"]["code"], "7045");
        assert_eq!(d["event"]["action"], "service-installed");
        assert_eq!(at(&d, "service.name"), "PSEXESVC");
        assert_eq!(at(&d, "user.id"), "S-1-5-21-1-2-3-500");

        let (_, d) = norm(json!({"Event": {
            "System": {"EventID": 6008, "Channel": "System", "Computer": "srv02",
                "Provider": {"#attributes": {"Name": "EventLog"}}},
            "EventData": {"Data": {"#text": ["08:01:02", "25/11/2026", "", "", "1"]},
                "Binary": "E907"}
        }}));
        assert_eq!(at(&d, "winlog.event_data.param1"), "08:01:02");
        assert_eq!(at(&d, "winlog.event_data.param5"), "1");
        assert_eq!(at(&d, "winlog.event_data.Binary"), "E907");
        assert_eq!(d["message"], "6008 System");

        let (_, d) = norm(json!({"Event": {
            "System": {"EventID": 1102, "Channel": "Security", "Computer": "dc01",
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Eventlog"}}},
            "UserData": {"LogFileCleared": {
                "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
                "SubjectUserSid": "S-1-5-21-1-2-3-500", "SubjectUserName": "admin",
                "SubjectDomainName": "CORP", "SubjectLogonId": "0x4f1e2"}}
        }}));
        assert_eq!(d["event"]["action"], "audit-log-cleared");
        assert_eq!(at(&d, "user.name"), "admin");
        assert_eq!(at(&d, "winlog.event_data.SubjectLogonId"), "0x4f1e2");
        assert!(at(&d, "winlog.event_data.#attributes").is_null());
    }

    #[test]
    fn datasets_follow_the_channel_or_the_provider() {
        let ds = |c: Option<&str>, p: Option<&str>| dataset(c, p);
        assert_eq!(
            ds(Some("Microsoft-Windows-Sysmon/Operational"), None),
            "sysmon"
        );
        assert_eq!(ds(Some("Security"), None), "security");
        assert_eq!(ds(Some("Windows PowerShell"), None), "powershell");
        assert_eq!(
            ds(Some("Microsoft-Windows-PowerShell/Operational"), None),
            "powershell"
        );
        assert_eq!(
            ds(Some("Microsoft-Windows-Windows Defender/Operational"), None),
            "windows_defender"
        );
        assert_eq!(
            ds(
                Some("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"),
                None
            ),
            "terminalservices-localsessionmanager"
        );
        assert_eq!(
            ds(Some("ForwardedEvents"), Some("Microsoft-Windows-Sysmon")),
            "sysmon"
        );
        assert_eq!(
            ds(None, Some("Microsoft-Windows-Security-Auditing")),
            "security"
        );
        assert_eq!(ds(None, None), "unknown");
        assert_eq!(ds(Some("  "), Some("My App")), "my_app");
    }

    #[test]
    fn malformed_events_never_panic_and_keep_what_they_can() {
        // Wrong types everywhere: still a Windows event, nothing invented.
        let (ts, d) = norm(json!({"winlog": {"event_id": {"x": 1}, "channel": 7,
            "event_data": "not an object", "process": {"pid": "many"}},
            "@timestamp": 12, "event": "string", "host": ["a"]}));
        assert!(ts.is_none());
        assert_eq!(d["event"]["dataset"], "windows.7");
        assert!(at(&d, "event.code").is_null());
        // The beat's own value stays as sent; nothing typed is made of it.
        assert_eq!(at(&d, "winlog.process.pid"), "many");
        assert!(at(&d, "process.pid").is_null());
        assert_eq!(d["message"], "? 7");
        let (_, d) = norm(json!({"Event": {"System": {}}}));
        assert_eq!(d["event"]["dataset"], "windows.unknown");
        let (_, d) = norm(
            json!({"Event": {"System": {"EventID": "4625", "Channel": "Security"},
            "EventData": {"IpAddress": "not-an-ip", "IpPort": "x", "TargetUserName": 42,
                "ProcessId": "0xZZ", "Hashes": "==,,=SHA256"}}}),
        );
        assert_eq!(d["event"]["action"], "logon-failed");
        assert!(at(&d, "source.ip").is_null());
        assert_eq!(at(&d, "user.name"), "42");
        assert!(at(&d, "process.pid").is_null());
        let (_, d) = norm(json!({"EventID": null, "Channel": "Security",
            "EventTime": "yesterday", "Keywords": "0xnope"}));
        assert!(at(&d, "event.code").is_null());
        for junk in [
            json!({"Event": {"System": "x"}}),
            json!({"Event": 1}),
            json!({"winlog": "x"}),
            json!({"winlog": {"other": 1}}),
            json!({"EventID": 1}),
        ] {
            assert!(parse(&junk.to_string()).is_none(), "{junk}");
        }
        assert!(parse("[]").is_none());
        assert!(parse("{").is_none());
    }

    #[test]
    fn keywords_in_every_form_give_the_audit_outcome() {
        let o = |k: Value| audit_outcome(Some(&k), None);
        assert_eq!(o(json!("0x8020000000000000")), Some("success"));
        assert_eq!(o(json!("0x8010000000000000")), Some("failure"));
        assert_eq!(o(json!(-9214364837600034816i64)), Some("success"));
        assert_eq!(o(json!(["Audit Failure"])), Some("failure"));
        assert_eq!(o(json!("0x8000000000000000")), None);
        assert_eq!(audit_outcome(None, Some("AUDIT_FAILURE")), Some("failure"));
    }
}
