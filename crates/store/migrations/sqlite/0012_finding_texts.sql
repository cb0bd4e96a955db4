-- Finding texts stored once per tenant. A scanner repeats each check's description,
-- solution and references — and often its output and the resulting risk assessment — for
-- every host it finds the weakness on; as columns of `findings` they made a row of ~4 KiB
-- and most of an import's writing. A finding now names its texts by id; a text is found
-- again by its SHA-256 (`digest`, hex), which the store fills in for the rows moved here
-- (SQL has no SHA-256) before it serves. Texts are never changed; a text no finding names
-- any more stays (they are small and few).

CREATE TABLE finding_texts (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    digest TEXT,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX finding_texts_digest ON finding_texts (tenant_id, digest);
-- What the store still has to give a digest (empty once it has).
CREATE INDEX finding_texts_undigested ON finding_texts (id) WHERE digest IS NULL;

INSERT INTO finding_texts (tenant_id, body)
    SELECT tenant_id, description FROM findings WHERE description IS NOT NULL
    UNION SELECT tenant_id, solution FROM findings WHERE solution IS NOT NULL
    UNION SELECT tenant_id, evidence FROM findings WHERE evidence IS NOT NULL
    UNION SELECT tenant_id, refs FROM findings
    UNION SELECT tenant_id, risk FROM findings;
CREATE INDEX finding_texts_moving ON finding_texts (tenant_id, body);

ALTER TABLE findings ADD COLUMN description_text INTEGER REFERENCES finding_texts(id);
ALTER TABLE findings ADD COLUMN solution_text INTEGER REFERENCES finding_texts(id);
ALTER TABLE findings ADD COLUMN evidence_text INTEGER REFERENCES finding_texts(id);
-- Never NULL once written (a JSON array and a JSON object).
ALTER TABLE findings ADD COLUMN refs_text INTEGER REFERENCES finding_texts(id);
ALTER TABLE findings ADD COLUMN risk_text INTEGER REFERENCES finding_texts(id);

UPDATE findings SET
    description_text = (SELECT t.id FROM finding_texts t WHERE t.tenant_id = findings.tenant_id AND t.body = findings.description),
    solution_text = (SELECT t.id FROM finding_texts t WHERE t.tenant_id = findings.tenant_id AND t.body = findings.solution),
    evidence_text = (SELECT t.id FROM finding_texts t WHERE t.tenant_id = findings.tenant_id AND t.body = findings.evidence),
    refs_text = (SELECT t.id FROM finding_texts t WHERE t.tenant_id = findings.tenant_id AND t.body = findings.refs),
    risk_text = (SELECT t.id FROM finding_texts t WHERE t.tenant_id = findings.tenant_id AND t.body = findings.risk);

DROP INDEX finding_texts_moving;
ALTER TABLE findings DROP COLUMN description;
ALTER TABLE findings DROP COLUMN solution;
ALTER TABLE findings DROP COLUMN evidence;
ALTER TABLE findings DROP COLUMN refs;
ALTER TABLE findings DROP COLUMN risk;

-- A finding's CVEs keyed by the finding alone: no rowid table beside the key's index.
CREATE TABLE finding_cves_keyed (
    tenant_id TEXT NOT NULL,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    cve TEXT NOT NULL,
    PRIMARY KEY (finding_id, cve)
) WITHOUT ROWID;
INSERT INTO finding_cves_keyed (tenant_id, finding_id, cve)
    SELECT tenant_id, finding_id, cve FROM finding_cves;
DROP TABLE finding_cves;
ALTER TABLE finding_cves_keyed RENAME TO finding_cves;
CREATE INDEX finding_cves_tenant_cve ON finding_cves (tenant_id, cve);

-- Reports name hosts by name in any case: finding the asset must not scan the ledger.
CREATE INDEX assets_tenant_lower_name ON assets (tenant_id, LOWER(name));
