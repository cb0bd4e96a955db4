//! Console text of the respond stage: navigation. The pages' own tables live beside it
//! (`incidents.rs`, `response.rs`).

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.respond", "响应", "Respond"),
    ("nav.incidents", "安全事件", "Incidents"),
    ("nav.response_metrics", "响应指标", "Response metrics"),
    ("nav.playbooks", "响应剧本", "Playbooks"),
    ("nav.plans", "应急预案", "Emergency plans"),
    ("nav.drills", "应急演练", "Drills"),
];
