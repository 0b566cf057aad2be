-- A run's plan is written once (run_plans) and never rewritten; what
-- changes lives in small rows updated in place: the run's header (state,
-- reason, approvals, version) in deploy_runs, and each step's status in its
-- own run_steps row with a revision of its own (rev) for optimistic
-- concurrency per step. A transition costs the same at step 7,000 as at
-- step 1: no commit loads, clones or rewrites the whole run (0002 kept the
-- whole run as one JSON document, rewritten on every transition).
--
-- The plan has a table of its own: a megabyte of plan in the deploy_runs
-- row would be rewritten with every change of the header, and every read
-- of the columns added after it would walk its overflow pages.
CREATE TABLE run_plans (
    run_id TEXT PRIMARY KEY REFERENCES deploy_runs (id) ON DELETE CASCADE,
    plan   TEXT NOT NULL CHECK (json_valid(plan)), -- deploy.Run without anything that changes
    digest TEXT NOT NULL DEFAULT ''                -- "sha256:<hex>" of plan; '' for runs moved from 0002
) STRICT;

ALTER TABLE run_steps ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;
-- seq: the run's commit (deploy_runs.commits) that last changed the step,
-- so a reader that saw the run at commit N reads only the steps changed
-- since (the console's refresh of a 7,000-step run).
ALTER TABLE run_steps ADD COLUMN seq INTEGER NOT NULL DEFAULT 1;
ALTER TABLE run_steps ADD COLUMN bake_until TEXT;
-- commits counts every change of a run (header or step), creation
-- included: each has exactly one audit event.
ALTER TABLE deploy_runs ADD COLUMN commits INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deploy_runs ADD COLUMN approvals TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(approvals));

-- Runs kept as documents move to the new shape: the document becomes the
-- plan (its step states are overridden by the rows on reading), the rows
-- get what only the document had.
UPDATE run_steps SET bake_until = (
    SELECT json_extract(d.doc, '$.steps[' || (run_steps.idx - 1) || '].bake_until')
    FROM deploy_runs d WHERE d.id = run_steps.run_id AND d.doc IS NOT NULL);
INSERT INTO run_plans (run_id, plan) SELECT id, doc FROM deploy_runs WHERE doc IS NOT NULL;
UPDATE deploy_runs SET commits = version, approvals = coalesce(json_extract(doc, '$.approvals'), '[]'), doc = NULL, plan = NULL
WHERE doc IS NOT NULL;
