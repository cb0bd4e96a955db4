-- The asset ledger (clause I.1). The full record is `doc` (JSON of the operator's fields);
-- the columns and side tables beside it exist to filter, sort and group by index.

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    lifecycle TEXT NOT NULL,
    owner TEXT,
    department TEXT,
    business_system TEXT,
    business_type TEXT,
    zone TEXT,
    sensitivity TEXT,
    value BIGINT,
    priority_score BIGINT NOT NULL,
    priority_level BIGINT NOT NULL,
    internet_facing BIGINT NOT NULL,
    search_text TEXT NOT NULL,
    doc TEXT NOT NULL,
    risk_note TEXT,
    revision BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_tenant_priority ON assets (tenant_id, priority_score DESC, name);
CREATE INDEX assets_tenant_name ON assets (tenant_id, name);
CREATE INDEX assets_tenant_lifecycle ON assets (tenant_id, lifecycle);
CREATE INDEX assets_tenant_business_type ON assets (tenant_id, business_type);
CREATE INDEX assets_tenant_owner ON assets (tenant_id, owner);
CREATE INDEX assets_tenant_internet ON assets (tenant_id, internet_facing);

-- Addresses as 32 hex digits of the IPv6 form, so a CIDR block is a text range.
CREATE TABLE asset_ips (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    ip_key TEXT NOT NULL,
    PRIMARY KEY (asset_id, ip_key)
);
CREATE INDEX asset_ips_tenant_key ON asset_ips (tenant_id, ip_key);

CREATE TABLE asset_ports (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    port BIGINT NOT NULL,
    protocol TEXT NOT NULL,
    internet BIGINT NOT NULL,
    PRIMARY KEY (asset_id, port, protocol)
);
CREATE INDEX asset_ports_tenant_port ON asset_ports (tenant_id, port);

-- Searchable terms: field is domain, middleware, application or tech; term is lower case.
CREATE TABLE asset_terms (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    field TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (asset_id, field, term)
);
CREATE INDEX asset_terms_tenant_field_term ON asset_terms (tenant_id, field, term);

-- Every change of every asset, with the whole record before and after (I.1.d).
CREATE TABLE asset_history (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL REFERENCES assets(id),
    at TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    changed TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT NOT NULL
);
CREATE INDEX asset_history_tenant_asset ON asset_history (tenant_id, asset_id, at);
CREATE INDEX asset_history_tenant_at ON asset_history (tenant_id, at);
