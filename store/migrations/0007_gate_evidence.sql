-- Gates that decide (issue 14): evidence by content hash, gate sign-offs,
-- and waivers with who asked for them.
--
-- Gate status is not stored: it is evaluated (core/gates) from the
-- current evidence, sign-offs and waivers whenever it is asked for, so a
-- waiver's or sign-off's expiry, or a policy's approval_ttl, takes effect
-- without anything rewriting a row. gate_results (0001) stays for the
-- later work that records rehearsal and drift results.

-- evidence_blobs: each evidence file's bytes, once per content hash. Two
-- additions of the same file share one blob.
CREATE TABLE evidence_blobs (
    sha256     TEXT    PRIMARY KEY CHECK (length(sha256) = 64),
    size       INTEGER NOT NULL CHECK (size >= 0),
    content    BLOB    NOT NULL CHECK (length(content) = size),
    created_at TEXT    NOT NULL
) STRICT;

-- evidence: each time a file was handed to a gate of a release's service,
-- with what it measured when it was added (core/evidence's Measurement
-- against the gate as it was then). Rows are history; the newest per
-- (release, service, gate) is the current evidence.
CREATE TABLE evidence (
    id              INTEGER PRIMARY KEY,
    release         TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    gate            TEXT    NOT NULL,
    sha256          TEXT    NOT NULL REFERENCES evidence_blobs (sha256),
    size            INTEGER NOT NULL CHECK (size >= 0),
    file            TEXT    NOT NULL,              -- the file's name as given
    format          TEXT    NOT NULL,              -- junit, gocover, cobertura, sarif, spdx, gobench
    baseline_sha256 TEXT    REFERENCES evidence_blobs (sha256), -- performance: the baseline it was compared with
    baseline_file   TEXT    NOT NULL DEFAULT '',
    value           REAL    NOT NULL,
    threshold       TEXT    NOT NULL DEFAULT '',   -- "min 75 %"
    pass            INTEGER NOT NULL CHECK (pass IN (0, 1)),
    summary         TEXT    NOT NULL,              -- "coverage 71.2 % < min 75 %"
    added_by        TEXT    NOT NULL,              -- the audit actor: "alice", "ci-bot for alice"
    added_at        TEXT    NOT NULL
) STRICT;
CREATE INDEX evidence_key ON evidence (release, service, gate, id);

-- evidence_current: the newest evidence per (release, service, gate),
-- kept by a trigger, so that gate status reads a release's current
-- evidence with one range scan instead of grouping its whole history.
CREATE TABLE evidence_current (
    release     TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    gate        TEXT    NOT NULL,
    evidence_id INTEGER NOT NULL REFERENCES evidence (id),
    PRIMARY KEY (release, service, gate)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER evidence_current_insert AFTER INSERT ON evidence
BEGIN
    INSERT INTO evidence_current (release, service, gate, evidence_id)
    VALUES (NEW.release, NEW.service, NEW.gate, NEW.id)
    ON CONFLICT (release, service, gate) DO UPDATE SET evidence_id = excluded.evidence_id
    WHERE excluded.evidence_id > evidence_current.evidence_id;
END;

-- Evidence is immutable: a newer file supersedes an older one by being
-- added after it, never by editing it.
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is immutable: add a newer file instead');
END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN
    SELECT RAISE(ABORT, 'evidence is immutable: add a newer file instead');
END;
CREATE TRIGGER evidence_blobs_no_update BEFORE UPDATE ON evidence_blobs
BEGIN
    SELECT RAISE(ABORT, 'evidence is immutable: add a newer file instead');
END;

-- gate_signoffs: approvals of approval-kind gates, per release and
-- service. They expire after the policy's approval_ttl, evaluated on
-- reading. approver is the person whose sign-off it is; via the delegate
-- (service account) that gave it for them, '' when they gave it themselves.
CREATE TABLE gate_signoffs (
    id         INTEGER PRIMARY KEY,
    release    TEXT NOT NULL,
    service    TEXT NOT NULL,
    gate       TEXT NOT NULL,
    approver   TEXT NOT NULL CHECK (length(approver) > 0),
    via        TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX gate_signoffs_release ON gate_signoffs (release, service, gate, id);

-- gate_waivers (0001) gains who granted it through a delegate and who
-- asked for it: the four-eyes rule is checked against requested_by.
-- env '' waives the gate in every environment.
ALTER TABLE gate_waivers ADD COLUMN via TEXT NOT NULL DEFAULT '';
ALTER TABLE gate_waivers ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
CREATE INDEX gate_waivers_release ON gate_waivers (release, service, gate, id);
