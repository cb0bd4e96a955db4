-- Detection (MO.1.b–c, MO.2.a, MO.3.c): alerts raised by Sigma rules, correlations and
-- threat intelligence, their comments, suppressions, webhooks; per-tenant rule switches;
-- intelligence feeds.

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    rule_id TEXT NOT NULL,
    title TEXT NOT NULL,
    -- 'rule' | 'correlation'
    kind TEXT NOT NULL,
    -- informational | low | medium | high | critical
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    rule_author TEXT,
    tactics TEXT NOT NULL,
    techniques TEXT NOT NULL,
    -- What deduplication compares: the rule's entity (host, user, addresses) as one string.
    entity_key TEXT NOT NULL,
    entities TEXT NOT NULL,
    -- Searchable text of the entities (host names, users, addresses, asset names).
    entity_text TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    -- new | acknowledged | investigating | closed
    status TEXT NOT NULL,
    -- true_positive | false_positive | benign, once closed
    resolution TEXT,
    assignee TEXT,
    -- Up to 20 triggering events (JSON array of {seq, time, event}).
    events TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX alerts_tenant_seen ON alerts (tenant_id, last_seen);
CREATE INDEX alerts_tenant_status ON alerts (tenant_id, status, last_seen);
CREATE INDEX alerts_dedup ON alerts (tenant_id, rule_id, entity_key, status);

CREATE TABLE alert_comments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments (tenant_id, alert_id, created_at);

-- A suppression drops new detections of a rule (or any rule) for an entity value until it
-- expires; what it dropped is counted.
CREATE TABLE alert_suppressions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    rule_id TEXT,
    entity TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    suppressed BIGINT NOT NULL
);
CREATE INDEX alert_suppressions_tenant ON alert_suppressions (tenant_id, expires_at);

CREATE TABLE alert_webhooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    url TEXT NOT NULL,
    min_severity TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX alert_webhooks_tenant ON alert_webhooks (tenant_id);

-- How far each tenant's pipeline detections are recorded (a write-ahead log sequence), so
-- replaying the log after a crash does not record the same detection twice.
CREATE TABLE detection_watermarks (
    tenant_id TEXT PRIMARY KEY,
    upto BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Rules are on by default; a row here turns one off (or back on) for a tenant.
CREATE TABLE rule_settings (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    rule_id TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rule_id)
);

-- Threat intelligence feeds as imported (the file itself, so the in-memory indicator set can
-- be rebuilt on start), with what the import found and how often they hit.
CREATE TABLE intel_feeds (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    content BLOB NOT NULL,
    indicators BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
