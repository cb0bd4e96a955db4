-- Vulnerability management (I.3): findings from scanner reports and manual review, the
-- imports that brought them, their work orders (notify → accept → fix → retest → close)
-- with history and attachments, and each tenant's risk and SLA settings.

CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    asset_id TEXT NOT NULL REFERENCES assets(id),
    -- SM3 of the asset id and the weakness's identity (ReportedFinding::identity): the
    -- same weakness on the same asset is one row whichever scanner reports it.
    fingerprint TEXT NOT NULL,
    identity TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    solution TEXT,
    evidence TEXT,
    check_id TEXT,
    -- JSON array of the sources (scanner names, `manual`) that reported it.
    sources TEXT NOT NULL,
    -- JSON arrays (the CVEs again in finding_cves, to filter and group by).
    cves TEXT NOT NULL,
    cwes TEXT NOT NULL,
    cvss3 TEXT,
    cvss4 TEXT,
    cvss2 TEXT,
    -- The most specific CVSS score our calculators give (v4 before v3), ×10.
    cvss_score BIGINT,
    -- info | low | medium | high | critical
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    severity_raw TEXT,
    refs TEXT NOT NULL,
    -- JSON of the Target (port, protocol, service, package, location …).
    target TEXT NOT NULL,
    place TEXT NOT NULL,
    known_exploited BIGINT NOT NULL,
    epss DOUBLE PRECISION,
    category TEXT,
    method TEXT,
    -- GB/T 20984: risk level 1–5 and value, the sortable priority, and the assessment
    -- (inputs, table, steps) as JSON.
    risk_level BIGINT NOT NULL,
    risk_value DOUBLE PRECISION NOT NULL,
    risk_priority BIGINT NOT NULL,
    risk TEXT NOT NULL,
    -- open | not_seen (a later scan of its scope no longer reports it; awaiting retest)
    -- | fixed | accepted | false_positive
    status TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_import_id TEXT,
    -- How many times it came back after being closed or not seen.
    reopened BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, fingerprint)
);
CREATE INDEX findings_tenant_queue ON findings (tenant_id, status, risk_priority DESC);
CREATE INDEX findings_tenant_asset ON findings (tenant_id, asset_id, status);
CREATE INDEX findings_tenant_seen ON findings (tenant_id, last_seen);

CREATE TABLE finding_cves (
    tenant_id TEXT NOT NULL,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    cve TEXT NOT NULL,
    PRIMARY KEY (finding_id, cve)
);
CREATE INDEX finding_cves_tenant_cve ON finding_cves (tenant_id, cve);

CREATE TABLE finding_imports (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    format TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    scanned_at TEXT,
    -- Counts: items in the file, and what they did.
    findings BIGINT NOT NULL,
    targets BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    not_seen BIGINT NOT NULL,
    retest_passed BIGINT NOT NULL,
    assets_discovered BIGINT NOT NULL,
    work_orders BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX finding_imports_tenant ON finding_imports (tenant_id, imported_at);

CREATE TABLE work_orders (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    -- Per tenant, from 1: shown as WO-000042.
    number BIGINT NOT NULL,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    -- notified | accepted | fixing | retest | closed
    state TEXT NOT NULL,
    -- fixed | risk_accepted | false_positive, once closed
    resolution TEXT,
    assignee TEXT,
    risk_level BIGINT NOT NULL,
    due_at TEXT NOT NULL,
    escalated_at TEXT,
    -- How many retests failed.
    failed_retests BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (tenant_id, number),
    UNIQUE (finding_id)
);
CREATE INDEX work_orders_tenant_state ON work_orders (tenant_id, state, due_at);
CREATE INDEX work_orders_tenant_assignee ON work_orders (tenant_id, assignee, state);

-- Every step of every work order: state changes, assignments, comments, retest verdicts.
CREATE TABLE work_order_history (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    note TEXT
);
CREATE INDEX work_order_history_order ON work_order_history (tenant_id, work_order_id, at);

CREATE TABLE work_order_attachments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX work_order_attachments_order ON work_order_attachments (tenant_id, work_order_id);

-- Per tenant: the risk method and tables, SLA days per risk level, the lowest risk level
-- that gets a work order, and where work-order notices go.
CREATE TABLE vuln_settings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    doc TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
