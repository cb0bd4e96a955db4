-- An alert's triggering events kept beside it, not in its row. The pipeline folds detections
-- into open alerts twice a second, moving each one's count and last-seen time, and SQLite
-- rewrites a whole row to update any column of it: with up to twenty events (tens of
-- kilobytes in overflow pages) in the row, those updates read and compared every event of
-- every busy alert on each flush — most of the time spent recording detections. Apart, the
-- events are written when they change (while an alert still has room for more) and read
-- only where they are shown.
CREATE TABLE alert_events (
    alert_id TEXT PRIMARY KEY REFERENCES alerts(id) DEFERRABLE INITIALLY DEFERRED,
    -- Up to 20 triggering events (JSON array of {seq, time, event}).
    events TEXT NOT NULL
);
INSERT INTO alert_events (alert_id, events) SELECT id, events FROM alerts;
ALTER TABLE alerts DROP COLUMN events;
