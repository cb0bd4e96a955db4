//! Test support: a host platform, a recording HTTP server and an SMTP sink — real local
//! targets on 127.0.0.1, no mocks of the code under test.
#![allow(dead_code)] // each test binary uses part of it

pub mod http_server;
pub mod smtp_sink;

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

/// The platform side: records enrichment and work-order calls, holds secrets.
#[derive(Default)]
pub struct TestHost {
    pub secrets: HashMap<String, String>,
    pub enrichments: Mutex<Vec<(String, String)>>,
    pub work_orders: Mutex<Vec<Value>>,
}

impl TestHost {
    pub fn with_secrets(pairs: &[(&str, &str)]) -> TestHost {
        TestHost {
            secrets: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..TestHost::default()
        }
    }
}

#[async_trait::async_trait]
impl yunshou_playbooks::Host for TestHost {
    async fn enrich(&self, source: &str, value: &str) -> Result<Value, String> {
        self.enrichments
            .lock()
            .unwrap()
            .push((source.to_string(), value.to_string()));
        Ok(json!({"verdict": "恶意", "owner": "网络运维部", "value": value}))
    }

    async fn create_work_order(
        &self,
        title: &str,
        description: &str,
        assignee: Option<&str>,
        priority: &str,
    ) -> Result<String, String> {
        let mut orders = self.work_orders.lock().unwrap();
        orders.push(json!({"title": title, "description": description, "assignee": assignee, "priority": priority}));
        Ok(format!("WO-{}", orders.len()))
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }
}

/// An SSH brute-force alert as the platform serialises it.
pub fn alert(source_ip: &str) -> Value {
    json!({
        "id": "alert-0001",
        "rule_id": "23b55e83-9c99-4a96-9304-602cf11aad6a",
        "title": "SSH 暴力破解：同一来源 50 次登录失败",
        "severity": "high",
        "tactics": ["credential-access"],
        "techniques": ["T1110.001"],
        "entities": {"host": "web-01", "user": "zhangsan", "source_ip": source_ip},
    })
}
