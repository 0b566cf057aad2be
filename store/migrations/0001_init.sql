-- 0001_init: the schema for the whole product.
--
-- Conventions:
-- * Tables are STRICT: a value of the wrong type is an error, not silently kept.
-- * Timestamps are TEXT, UTC, RFC 3339 with nine fractional digits
--   ("2025-01-02T03:04:05.000000000Z"), so text order is time order.
-- * Structured details that only the application interprets (evidence,
--   impact, dependency lists) are JSON text, checked with json_valid.
-- * States are plain TEXT without CHECK lists: the engines own their state
--   machines, and SQLite cannot alter a CHECK without rebuilding the table.
-- * Runtime tables name releases, services and environments by their spec
--   names without foreign keys to objects: history must outlive the spec
--   object it was about (a service removed from the spec keeps its past runs).

------------------------------------------------------------------------------
-- Spec and audit

-- objects: the declarative spec objects (teams, vendors, libraries, services,
-- gates, environments, calendar items, releases) as applied from YAML, one row
-- per object in its canonical JSON. model.Record.
CREATE TABLE objects (
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL CHECK (json_valid(spec)),
    digest     TEXT    NOT NULL,              -- "sha256:<hex>" of spec
    source     TEXT    NOT NULL DEFAULT '',   -- file:line last applied from
    generation INTEGER NOT NULL DEFAULT 1,    -- bumped on every change of spec
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT;

-- audit_events: the append-only, hash-chained log of every command that
-- changed state. hash = sha256(prev_hash "\n" canonical(event)); see audit.go.
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,            -- 1, 2, 3... without gaps
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    command   TEXT    NOT NULL,
    summary   TEXT    NOT NULL,
    payload   TEXT    CHECK (json_valid(payload)),
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_command ON audit_events (command, seq);
CREATE INDEX audit_events_at ON audit_events (at);

-- The log is append-only for warroom itself. Anyone holding the file can drop
-- these triggers, which is why the chain and audit_head exist.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- audit_head: the seq and hash of the newest event, updated in the same
-- transaction as each append, so that removing the newest events (which
-- leaves a valid shorter chain) is detected too.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

------------------------------------------------------------------------------
-- Deployment engine

-- deploy_runs: one deployment of a release through its environments; the unit
-- the durable engine resumes after a crash. A process drives a run only while
-- it holds the lease; another may take it over once lease_expires_at passed.
CREATE TABLE deploy_runs (
    id               TEXT    PRIMARY KEY,
    release          TEXT    NOT NULL,
    environments     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(environments)), -- ordered env names
    plan             TEXT    CHECK (json_valid(plan)),  -- the frozen plan the run executes
    plan_digest      TEXT,
    state            TEXT    NOT NULL,      -- pending, running, paused, succeeded, failed, aborted, rolling-back, rolled-back
    emergency        INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1)),
    change_id        TEXT,                  -- the change request that authorised it
    started_by       TEXT    NOT NULL,
    lease_owner      TEXT,                  -- host:pid:nonce of the driving process
    lease_expires_at TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    finished_at      TEXT
) STRICT;
CREATE INDEX deploy_runs_release ON deploy_runs (release, created_at);
CREATE INDEX deploy_runs_unfinished ON deploy_runs (state) WHERE finished_at IS NULL;

-- run_steps: the steps of a run (wave -> service -> environment/region ->
-- strategy phase) with their current state. A transition is written here
-- before the effect it announces is started; the idempotency key goes with
-- every call to the deploy target so a resumed step is never repeated blindly.
CREATE TABLE run_steps (
    run_id          TEXT    NOT NULL REFERENCES deploy_runs (id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,           -- position in the plan
    wave            INTEGER NOT NULL,
    service         TEXT    NOT NULL,
    version         TEXT    NOT NULL DEFAULT '',
    artifact_digest TEXT,
    env             TEXT    NOT NULL,
    region          TEXT    NOT NULL DEFAULT '',
    strategy        TEXT    NOT NULL,           -- rolling, blue-green, canary
    phase           TEXT    NOT NULL DEFAULT '', -- e.g. canary weight "10%", drain, migrate, switch
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempt         INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,                       -- run/step/attempt
    not_before      TEXT,                       -- start of its window, bake time included
    started_at      TEXT,
    finished_at     TEXT,
    updated_at      TEXT    NOT NULL,
    error           TEXT,
    evidence        TEXT    CHECK (json_valid(evidence)),
    PRIMARY KEY (run_id, idx)
) STRICT;
CREATE UNIQUE INDEX run_steps_idempotency ON run_steps (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX run_steps_state ON run_steps (run_id, state);
CREATE INDEX run_steps_target ON run_steps (service, env, region);

-- step_transitions: every state change of every step, with who or what caused
-- it (an operator's command or a verdict), for the timeline and post-mortems.
CREATE TABLE step_transitions (
    id         INTEGER PRIMARY KEY,
    run_id     TEXT    NOT NULL,
    step_idx   INTEGER NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    attempt    INTEGER NOT NULL,
    actor      TEXT    NOT NULL,               -- a person, or "engine"
    reason     TEXT    NOT NULL DEFAULT '',
    evidence   TEXT    CHECK (json_valid(evidence)),
    audit_seq  INTEGER,                        -- the audit event that recorded it
    at         TEXT    NOT NULL,
    FOREIGN KEY (run_id, step_idx) REFERENCES run_steps (run_id, idx) ON DELETE CASCADE
) STRICT;
CREATE INDEX step_transitions_step ON step_transitions (run_id, step_idx, id);

------------------------------------------------------------------------------
-- Build integrity

-- artifacts: immutable build outputs, identified by digest; one digest per
-- service version (rebuilding a version under the same number is refused).
CREATE TABLE artifacts (
    digest       TEXT PRIMARY KEY CHECK (digest LIKE 'sha256:%'),
    service      TEXT NOT NULL,
    version      TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',     -- repository@commit or build URL
    built_at     TEXT,
    dependencies TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(dependencies)), -- name -> version
    recorded_at  TEXT NOT NULL,
    UNIQUE (service, version)
) STRICT;

-- artifact_signatures: minisign (Ed25519) signatures of artifacts; promotion
-- requires one that verifies against a trusted key.
CREATE TABLE artifact_signatures (
    id              INTEGER PRIMARY KEY,
    digest          TEXT NOT NULL REFERENCES artifacts (digest),
    format          TEXT NOT NULL DEFAULT 'minisign',
    key_id          TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    signature       TEXT NOT NULL,             -- the .minisig text
    trusted_comment TEXT NOT NULL DEFAULT '',
    verified_at     TEXT,
    recorded_at     TEXT NOT NULL,
    UNIQUE (digest, key_id)
) STRICT;

------------------------------------------------------------------------------
-- Gates

-- gate_results: each evaluation of a gate for a release entering an
-- environment (service '' = release-wide). Rows are history; the newest per
-- (release, env, gate, service) is the current status.
CREATE TABLE gate_results (
    id          INTEGER PRIMARY KEY,
    release     TEXT NOT NULL,
    env         TEXT NOT NULL,
    gate        TEXT NOT NULL,
    service     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,                 -- pass, fail, pending, error
    evidence    TEXT CHECK (json_valid(evidence)), -- parsed report summary and thresholds
    report_ref  TEXT,                          -- path or URL of the raw report
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;
CREATE INDEX gate_results_current ON gate_results (release, env, gate, service, id);

-- gate_waivers: a failed gate let through by an authorised approver, with the
-- reason; a waiver may expire.
CREATE TABLE gate_waivers (
    id         INTEGER PRIMARY KEY,
    release    TEXT NOT NULL,
    env        TEXT NOT NULL,
    gate       TEXT NOT NULL,
    service    TEXT NOT NULL DEFAULT '',
    result_id  INTEGER REFERENCES gate_results (id),
    approver   TEXT NOT NULL,
    reason     TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    expires_at TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX gate_waivers_lookup ON gate_waivers (release, env, gate, service);

------------------------------------------------------------------------------
-- Change governance

-- change_requests: a change with its class, risk, impact (computed from the
-- dependency graph), backout plan and stakeholders; mirrored to a ticketing
-- plugin through ticket_ref.
CREATE TABLE change_requests (
    id           TEXT PRIMARY KEY,             -- e.g. CHG-0042
    release      TEXT,
    title        TEXT NOT NULL,
    requester    TEXT NOT NULL,
    class        TEXT NOT NULL,                -- standard, normal, emergency
    state        TEXT NOT NULL,                -- draft, submitted, approved, rejected, implemented, closed
    risk_score   REAL,
    risk_factors TEXT CHECK (json_valid(risk_factors)),
    impact       TEXT CHECK (json_valid(impact)),
    backout      TEXT NOT NULL DEFAULT '',
    stakeholders TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(stakeholders)),
    ticket_ref   TEXT,                         -- id in the ticketing system
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX change_requests_release ON change_requests (release);
CREATE INDEX change_requests_state ON change_requests (state);

-- change_approvals: each decision on a change by a role (security,
-- compliance, operations...). Rows are history: a later decision by the same
-- approver and role supersedes an earlier one.
CREATE TABLE change_approvals (
    id        INTEGER PRIMARY KEY,
    change_id TEXT NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
    approver  TEXT NOT NULL,
    role      TEXT NOT NULL,
    decision  TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason    TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL
) STRICT;
CREATE INDEX change_approvals_change ON change_approvals (change_id, id);

-- Core checks this too; the trigger keeps the rule even for a buggy caller.
CREATE TRIGGER change_approvals_not_own BEFORE INSERT ON change_approvals
WHEN NEW.approver = (SELECT requester FROM change_requests WHERE id = NEW.change_id)
BEGIN
    SELECT RAISE(ABORT, 'nobody approves their own change');
END;

------------------------------------------------------------------------------
-- Canary analysis

-- canary_judgements: verdicts of the sequential canary analysis on a step,
-- per metric and overall (metric ''), with the statistics behind them.
CREATE TABLE canary_judgements (
    id       INTEGER PRIMARY KEY,
    run_id   TEXT    NOT NULL,
    step_idx INTEGER NOT NULL,
    metric   TEXT    NOT NULL DEFAULT '',
    verdict  TEXT    NOT NULL,                 -- continue, pass, fail, inconclusive
    evidence TEXT    CHECK (json_valid(evidence)),
    at       TEXT    NOT NULL,
    FOREIGN KEY (run_id, step_idx) REFERENCES run_steps (run_id, idx) ON DELETE CASCADE
) STRICT;
CREATE INDEX canary_judgements_step ON canary_judgements (run_id, step_idx, id);

-- metric_samples: the samples a canary was judged on, written in batches.
-- Time is integer Unix milliseconds here: this table is high-rate and
-- queried by range, and the integer is half the size of the text form.
CREATE TABLE metric_samples (
    run_id   TEXT    NOT NULL,
    step_idx INTEGER NOT NULL,
    metric   TEXT    NOT NULL,
    cohort   TEXT    NOT NULL CHECK (cohort IN ('baseline', 'canary')),
    at_ms    INTEGER NOT NULL,
    value    REAL    NOT NULL,
    FOREIGN KEY (run_id, step_idx) REFERENCES run_steps (run_id, idx) ON DELETE CASCADE
) STRICT;
CREATE INDEX metric_samples_series ON metric_samples (run_id, step_idx, metric, cohort, at_ms);

------------------------------------------------------------------------------
-- Environments, release contents and readiness

-- env_reservations: who uses a shared environment when, for conflict checks.
CREATE TABLE env_reservations (
    id         INTEGER PRIMARY KEY,
    env        TEXT NOT NULL,
    team       TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    purpose    TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX env_reservations_env ON env_reservations (env, starts_at);

-- feature_toggles: flags shipped with a release, per environment, in the
-- shape of OpenFeature/flagd (state, variants, default variant).
CREATE TABLE feature_toggles (
    release         TEXT NOT NULL,
    env             TEXT NOT NULL,
    flag            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'DISABLED' CHECK (state IN ('ENABLED', 'DISABLED')),
    variants        TEXT NOT NULL DEFAULT '{"on":true,"off":false}' CHECK (json_valid(variants)),
    default_variant TEXT NOT NULL DEFAULT 'off',
    description     TEXT NOT NULL DEFAULT '',
    updated_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (release, env, flag)
) STRICT;

-- readiness_signoffs: go / no-go decisions of operations, support, business
-- (or any area) for a release; rows are history, newest per area counts.
CREATE TABLE readiness_signoffs (
    id       INTEGER PRIMARY KEY,
    release  TEXT NOT NULL,
    area     TEXT NOT NULL,
    signer   TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('go', 'no-go')),
    reason   TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL
) STRICT;
CREATE INDEX readiness_signoffs_release ON readiness_signoffs (release, area, id);

------------------------------------------------------------------------------
-- Configuration, plugins, incidents

-- config_values: the layered configuration store. layer is 'base' or an
-- environment name; service '' applies to all services. A value is either
-- plain or a reference to a secret, never a secret itself.
CREATE TABLE config_values (
    layer      TEXT NOT NULL,
    service    TEXT NOT NULL DEFAULT '',
    key        TEXT NOT NULL,
    value      TEXT,
    secret_ref TEXT,                           -- e.g. vault://kv/payments#db_password
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((value IS NULL) <> (secret_ref IS NULL)),
    PRIMARY KEY (layer, service, key)
) STRICT;

-- plugin_trust: plugin binaries an operator trusted, by SHA-256; the host
-- refuses to launch a binary whose checksum has no unrevoked row.
CREATE TABLE plugin_trust (
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
    path       TEXT NOT NULL DEFAULT '',
    trusted_by TEXT NOT NULL,
    at         TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (name, sha256)
) STRICT;

-- incidents: incidents during or after a release, and their blameless
-- post-mortem drafted from the recorded timeline. opened_at/resolved_at give
-- the time to restore for the DORA figures.
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    state       TEXT NOT NULL,                 -- open, mitigated, resolved
    release     TEXT,
    run_id      TEXT REFERENCES deploy_runs (id) ON DELETE SET NULL,
    opened_by   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    resolved_at TEXT,
    postmortem  TEXT NOT NULL DEFAULT '',      -- Markdown
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX incidents_release ON incidents (release);
