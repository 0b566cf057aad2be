-- The durable engine keeps each run as one JSON document (the source of
-- truth, written whole in every commit) with a version for optimistic
-- concurrency: a commit names the version it was made against, so an
-- operator's pause in one process and the engine's step in another never
-- overwrite each other. run_steps mirrors the document's steps for queries
-- and step_transitions records every step state change.
ALTER TABLE deploy_runs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deploy_runs ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE deploy_runs ADD COLUMN doc TEXT CHECK (doc IS NULL OR json_valid(doc));

ALTER TABLE run_steps ADD COLUMN kind TEXT NOT NULL DEFAULT 'service';
ALTER TABLE run_steps ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE run_steps ADD COLUMN progress TEXT NOT NULL DEFAULT '';
ALTER TABLE run_steps ADD COLUMN weight INTEGER NOT NULL DEFAULT 0;
