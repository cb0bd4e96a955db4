-- Relations, change control, saved queries and exposure history of the asset ledger
-- (clauses I.1.b, I.1.d, I.1.e), and the outbox of webhook notifications.

CREATE TABLE asset_relations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    from_id TEXT NOT NULL REFERENCES assets(id),
    to_id TEXT NOT NULL REFERENCES assets(id),
    kind TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (from_id, to_id, kind)
);
CREATE INDEX asset_relations_tenant_from ON asset_relations (tenant_id, from_id);
CREATE INDEX asset_relations_tenant_to ON asset_relations (tenant_id, to_id);

CREATE TABLE asset_change_rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX asset_change_rules_tenant ON asset_change_rules (tenant_id);

-- A change held for approval: the whole proposed record, and the revision it was based on.
CREATE TABLE asset_pending_changes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    asset_id TEXT NOT NULL REFERENCES assets(id),
    action TEXT NOT NULL,
    base_revision BIGINT NOT NULL,
    proposed TEXT NOT NULL,
    requested_by_id TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX asset_pending_changes_tenant_asset ON asset_pending_changes (tenant_id, asset_id, status);

CREATE TABLE asset_change_alerts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    asset_id TEXT NOT NULL REFERENCES assets(id),
    asset_name TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    severity TEXT NOT NULL,
    reasons TEXT NOT NULL,
    change_id TEXT,
    pending_id TEXT REFERENCES asset_pending_changes(id),
    status TEXT NOT NULL,
    raised_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decision_note TEXT
);
CREATE INDEX asset_change_alerts_tenant_status ON asset_change_alerts (tenant_id, status, created_at);
CREATE INDEX asset_change_alerts_tenant_asset ON asset_change_alerts (tenant_id, asset_id);

CREATE TABLE asset_saved_queries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    shared BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX asset_saved_queries_tenant ON asset_saved_queries (tenant_id, user_id);

-- Internet exposure per tenant and day (the day's last state), for the exposure trend.
CREATE TABLE asset_exposure_daily (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    day TEXT NOT NULL,
    internet_assets BIGINT NOT NULL,
    internet_ports BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
CREATE INDEX asset_ports_tenant_internet ON asset_ports (tenant_id, internet);

-- Webhook notifications, written in the transaction of the change they report and delivered
-- afterwards with retries, so a notification is neither lost nor sent for a rolled-back change.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    failed_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (delivered_at, failed_at, next_attempt_at);
