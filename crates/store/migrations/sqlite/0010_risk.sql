-- Threats and risk (I.2, I.3.b–c, GB/T 20984-2022): the threat catalog with frequency
-- computed from the platform's own alerts, the risk register (asset × threat ×
-- vulnerability) with treatment, and a daily count per risk level for the trend.

CREATE TABLE threats (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    -- environmental | accidental | human
    source TEXT NOT NULL,
    -- e.g. unauthorised_actions, information_damage, malware, … (free vocabulary, suggested)
    kind TEXT NOT NULL,
    -- nation | organised_group | individual | insider | ordinary_disaster |
    -- serious_disaster | severe_disaster | system_failure | operator_error
    agent TEXT NOT NULL,
    -- malicious | non_malicious
    motive TEXT NOT NULL,
    timing TEXT,
    description TEXT,
    -- JSON arrays: ATT&CK techniques (T1110, T1110.001 …) and detection rule ids whose
    -- alerts are occurrences of this threat.
    techniques TEXT NOT NULL,
    rule_ids TEXT NOT NULL,
    -- The frequency an analyst judges from experience (1–5), if any.
    baseline_level BIGINT,
    -- Computed: the level used, and what it was computed from (JSON).
    frequency_level BIGINT NOT NULL,
    frequency_basis TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE risks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    asset_id TEXT NOT NULL REFERENCES assets(id),
    threat_id TEXT NOT NULL REFERENCES threats(id),
    -- The vulnerability: a finding, or a weakness described by hand with its level.
    finding_id TEXT REFERENCES findings(id),
    vulnerability TEXT,
    vulnerability_level BIGINT NOT NULL,
    -- The inputs and results of the last assessment.
    threat_level BIGINT NOT NULL,
    asset_value BIGINT NOT NULL,
    -- Whole numbers with the matrix method, two decimals with multiplication.
    likelihood DOUBLE PRECISION NOT NULL,
    loss DOUBLE PRECISION NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    level BIGINT NOT NULL,
    method TEXT NOT NULL,
    steps TEXT NOT NULL,
    -- reduce | accept | transfer | avoid, once decided
    treatment TEXT,
    owner TEXT,
    due_date TEXT,
    -- The level expected once treated.
    residual_level BIGINT,
    -- open | treating | closed
    status TEXT NOT NULL,
    note TEXT,
    assessed_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX risks_tenant_level ON risks (tenant_id, status, level DESC);
CREATE INDEX risks_tenant_asset ON risks (tenant_id, asset_id);

-- Open risks per level, one row per tenant and day (the last change of the day wins).
CREATE TABLE risk_trend (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    day TEXT NOT NULL,
    level1 BIGINT NOT NULL,
    level2 BIGINT NOT NULL,
    level3 BIGINT NOT NULL,
    level4 BIGINT NOT NULL,
    level5 BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
