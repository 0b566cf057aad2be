-- objects_version: a counter that moves whenever any object (the
-- organisation's spec) is inserted, updated or deleted, by whatever code
-- path: readers that cache the organisation (the console) re-read it only
-- when this moved, not on every run transition. Kept by triggers so that
-- no writer can forget it.
CREATE TABLE objects_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO objects_version (id, version) VALUES (1, 0);

CREATE TRIGGER objects_version_insert AFTER INSERT ON objects
BEGIN
    UPDATE objects_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER objects_version_update AFTER UPDATE ON objects
BEGIN
    UPDATE objects_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER objects_version_delete AFTER DELETE ON objects
BEGIN
    UPDATE objects_version SET version = version + 1 WHERE id = 1;
END;
