-- Sigma rule directories a tenant imported (MO.2.a): one row a set, its files kept as a
-- JSON array of {path, text} so the set is compiled again at every start.
CREATE TABLE rule_sets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    files TEXT NOT NULL,
    rules BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);
