-- Saved searches serve the asset ledger and the event search alike: one table, told apart by
-- kind ('assets' | 'events').
ALTER TABLE asset_saved_queries RENAME TO saved_searches;
ALTER TABLE saved_searches ADD COLUMN kind TEXT NOT NULL DEFAULT 'assets';
DROP INDEX asset_saved_queries_tenant;
CREATE INDEX saved_searches_tenant ON saved_searches (tenant_id, kind, user_id);
