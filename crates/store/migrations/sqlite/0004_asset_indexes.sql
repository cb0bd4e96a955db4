-- Indexes for large ledgers (100,000 assets): filters become lookups of asset ids, so the
-- id must be in the indexes the planner combines them with; free-text search scans a
-- narrow covering index instead of the table.

CREATE INDEX assets_tenant_id ON assets (tenant_id, id);
DROP INDEX assets_tenant_priority;
CREATE INDEX assets_tenant_priority ON assets (tenant_id, priority_score DESC, name, id);
DROP INDEX assets_tenant_name;
CREATE INDEX assets_tenant_name ON assets (tenant_id, name, id);
CREATE INDEX assets_tenant_updated ON assets (tenant_id, updated_at DESC, id);
CREATE INDEX assets_tenant_text ON assets (tenant_id, search_text);
