-- The event pipeline's settings (clauses MO.1, MO.4.d, P.3.a): ingest tokens bound to a
-- tenant and optionally to source addresses, and per-tenant event retention.

CREATE TABLE ingest_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    allowed_sources TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX ingest_tokens_tenant ON ingest_tokens (tenant_id);

CREATE TABLE event_retention (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    days BIGINT NOT NULL,
    reason TEXT,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
);
