-- A finding's CVEs in one B-tree, keyed the way they are searched (tenant, CVE). Keyed by
-- finding with a second index by CVE beside it, every CVE an import wrote (about three per
-- finding) went into two trees; the list and the grouping by CVE read it by tenant and CVE,
-- and a finding's own CVEs are in its `cves` column.
CREATE TABLE finding_cves_by_cve (
    tenant_id TEXT NOT NULL,
    cve TEXT NOT NULL,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    PRIMARY KEY (tenant_id, cve, finding_id)
) WITHOUT ROWID;
INSERT INTO finding_cves_by_cve (tenant_id, cve, finding_id)
    SELECT tenant_id, cve, finding_id FROM finding_cves;
DROP TABLE finding_cves;
ALTER TABLE finding_cves_by_cve RENAME TO finding_cves;
