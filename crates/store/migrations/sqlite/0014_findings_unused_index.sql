-- No query reads findings by when they were last seen (the queue sorts by priority first,
-- through findings_tenant_queue); the index cost every import an entry per finding, and
-- every re-import a move of that entry.
DROP INDEX findings_tenant_seen;
