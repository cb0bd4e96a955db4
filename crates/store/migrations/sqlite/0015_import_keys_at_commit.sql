-- The foreign keys of the tables bulk imports write (assets and their parts, findings, their
-- CVEs and texts, work orders and their history, alerts) are checked at commit, not per
-- statement. SQLite gives every multi-row statement that an immediate key might abort a
-- statement journal — a copy of each page the statement touches, an eighth of a findings
-- import's database time — while a deferred key is counted and checked when the transaction
-- commits. Either way a row naming a missing parent fails its transaction; nothing else
-- changes.
--
-- Deferral does not change how rows are stored, so the tables' definitions are edited in
-- place (SQLite's documented procedure for constraint changes that keep the file format)
-- rather than rebuilt; RESET reloads the schema, and the table made and dropped after it
-- moves the schema cookie so every other connection reloads it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(replace(replace(replace(replace(sql,
       'REFERENCES tenants(id)', 'REFERENCES tenants(id) DEFERRABLE INITIALLY DEFERRED'),
       'REFERENCES assets(id)', 'REFERENCES assets(id) DEFERRABLE INITIALLY DEFERRED'),
       'REFERENCES findings(id)', 'REFERENCES findings(id) DEFERRABLE INITIALLY DEFERRED'),
       'REFERENCES finding_texts(id)', 'REFERENCES finding_texts(id) DEFERRABLE INITIALLY DEFERRED'),
       'REFERENCES work_orders(id)', 'REFERENCES work_orders(id) DEFERRABLE INITIALLY DEFERRED')
 WHERE type = 'table'
   AND name IN ('assets', 'asset_ips', 'asset_ports', 'asset_terms', 'asset_history',
                'findings', 'finding_cves', 'finding_texts', 'work_orders',
                'work_order_history', 'alerts');
PRAGMA writable_schema = RESET;
CREATE TABLE schema_reload (x);
DROP TABLE schema_reload;
