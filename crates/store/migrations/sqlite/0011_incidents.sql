-- Incident response (R.1, R.2): incidents graded per GB/T 20986-2023 moving through the
-- seven phases, their links, observables, tasks and timeline; emergency plans (versioned),
-- drills and improvement items; playbooks and their runs; the evidence vault with its
-- hash-chained custody log. Archived incidents, evidence rows and custody rows never change.

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- GB/T 20986-2023 class code and subclass (Chinese name, 其他, or '' when not known yet)
    category TEXT,
    subcategory TEXT NOT NULL,
    -- I | II | III | IV, the grading inputs (JSON) and whether an analyst confirmed the level
    level TEXT,
    grading TEXT,
    level_confirmed BIGINT NOT NULL,
    -- preparation … optimization; open | closed (not activated) | archived
    phase TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    plan_id TEXT,
    -- The phases' records (JSON, respond::PhaseRecords)
    records TEXT NOT NULL,
    -- alert | manual | api | playbook
    source TEXT NOT NULL,
    occurred_at TEXT,
    detected_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    archived_at TEXT,
    UNIQUE (tenant_id, number)
);
CREATE INDEX incidents_by_tenant ON incidents (tenant_id, status, phase);

CREATE TRIGGER incidents_archived_read_only BEFORE UPDATE ON incidents
WHEN OLD.status = 'archived'
BEGIN
    SELECT RAISE(ABORT, 'an archived incident is read-only');
END;
CREATE TRIGGER incidents_never_deleted BEFORE DELETE ON incidents
BEGIN
    SELECT RAISE(ABORT, 'incidents are never deleted');
END;

CREATE TABLE incident_phases (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    phase TEXT NOT NULL,
    entered_at TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    left_at TEXT,
    PRIMARY KEY (incident_id, phase)
);

-- alert | asset | finding | event | work_order
CREATE TABLE incident_links (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    label TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (incident_id, kind, ref_id)
);
CREATE INDEX incident_links_by_ref ON incident_links (tenant_id, kind, ref_id);

-- ip | domain | url | hash | account | email
CREATE TABLE incident_observables (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    UNIQUE (incident_id, kind, value)
);

CREATE TABLE incident_tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    phase TEXT NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    role TEXT NOT NULL,
    owner TEXT,
    done_at TEXT,
    done_by TEXT,
    from_plan BIGINT NOT NULL
);
CREATE INDEX incident_tasks_by_incident ON incident_tasks (incident_id, phase, position);

-- Everything that happened, for the report's timeline.
CREATE TABLE incident_timeline (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, at);

-- Reports owed to the authorities, due by level and operator kind.
CREATE TABLE incident_notices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    recipient TEXT NOT NULL,
    due_at TEXT NOT NULL,
    reported_at TEXT,
    reported_by TEXT,
    note TEXT
);

-- The report frozen when the incident is archived (HTML and PDF, digests alongside).
CREATE TABLE incident_reports (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    format TEXT NOT NULL,
    content BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (incident_id, format)
);
CREATE TRIGGER incident_reports_never_updated BEFORE UPDATE ON incident_reports
BEGIN
    SELECT RAISE(ABORT, 'archived reports never change');
END;
CREATE TRIGGER incident_reports_never_deleted BEFORE DELETE ON incident_reports
BEGIN
    SELECT RAISE(ABORT, 'archived reports never change');
END;

-- Improvement actions from a review or a drill, tracked to closure; `link` names what was
-- changed (a rule, a baseline, a plan version, a process document).
CREATE TABLE improvement_items (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    -- incident | drill
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    title TEXT NOT NULL,
    -- rule | baseline | plan | process | other
    kind TEXT NOT NULL,
    link TEXT NOT NULL,
    owner TEXT,
    due_date TEXT,
    -- open | closed
    status TEXT NOT NULL,
    resolution TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    closed_at TEXT,
    closed_by TEXT
);
CREATE INDEX improvement_items_by_source ON improvement_items (tenant_id, source_kind, source_id);

CREATE TABLE response_plans (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- JSON, respond::plans::PlanContent
    content TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (tenant_id, category, version)
);
CREATE TRIGGER response_plans_versions_never_change BEFORE UPDATE ON response_plans
BEGIN
    SELECT RAISE(ABORT, 'a plan version never changes: save a new version');
END;

CREATE TABLE drills (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    plan_id TEXT NOT NULL REFERENCES response_plans(id),
    title TEXT NOT NULL,
    scenario TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    -- scheduled | done | cancelled
    status TEXT NOT NULL,
    participants TEXT NOT NULL,
    -- JSON [{title, minutes}]
    steps TEXT NOT NULL,
    findings TEXT NOT NULL,
    held_at TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE playbooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    yaml TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE playbook_runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    playbook_id TEXT NOT NULL REFERENCES playbooks(id),
    playbook_version BIGINT NOT NULL,
    -- alert | incident
    trigger_kind TEXT NOT NULL,
    trigger_id TEXT NOT NULL,
    incident_id TEXT,
    dry_run BIGINT NOT NULL,
    -- running | awaiting_approval | succeeded | failed | rejected
    status TEXT NOT NULL,
    -- JSON: the trigger object and each finished step's output
    context TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_by TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX playbook_runs_by_tenant ON playbook_runs (tenant_id, started_at);

CREATE TABLE playbook_steps (
    run_id TEXT NOT NULL REFERENCES playbook_runs(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    step_index BIGINT NOT NULL,
    step_id TEXT NOT NULL,
    action TEXT NOT NULL,
    needs_approval BIGINT NOT NULL,
    -- pending | awaiting_approval | approved | rejected | succeeded | failed | skipped
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    detail TEXT NOT NULL,
    output TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (run_id, step_index)
);

-- The evidence vault: digests at intake; the bytes live in DATA/evidence/<tenant>/<id>.
CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    -- file | pcap | screenshot | search
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    collector TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    source TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX evidence_by_incident ON evidence (incident_id);
CREATE TRIGGER evidence_immutable_update BEFORE UPDATE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is immutable');
END;
CREATE TRIGGER evidence_immutable_delete BEFORE DELETE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is immutable');
END;

-- Chain of custody, hash-chained per incident (yunshou_evidence::custody).
CREATE TABLE evidence_custody (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    evidence_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE TRIGGER evidence_custody_append_only_update BEFORE UPDATE ON evidence_custody
BEGIN
    SELECT RAISE(ABORT, 'the custody log is append-only');
END;
CREATE TRIGGER evidence_custody_append_only_delete BEFORE DELETE ON evidence_custody
BEGIN
    SELECT RAISE(ABORT, 'the custody log is append-only');
END;

-- Per tenant: who the organisation is for reporting duties.
CREATE TABLE response_settings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    operator_kind TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
