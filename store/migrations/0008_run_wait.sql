-- wait: what a run waits on outside itself (deploy.Wait as JSON): the gates
-- that keep it out of the next environment (state waiting) or the approval
-- quorum it still needs (state awaiting-approval); NULL otherwise. Part of
-- the run's header, changed with its version like state and reason.
ALTER TABLE deploy_runs ADD COLUMN wait TEXT CHECK (wait IS NULL OR json_valid(wait));
