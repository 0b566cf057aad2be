-- plugin_faults: the last fault of each plugin, whichever warroom process
-- saw it, so that `warroom plugins list` and the console's Plugins screen
-- show what happened in the engine's process, not only in their own. One
-- row per plugin, replaced by the next fault. Operational telemetry like
-- metric_samples: not audited.
CREATE TABLE plugin_faults (
    name    TEXT PRIMARY KEY,
    fault   TEXT NOT NULL CHECK (fault IN ('crashed', 'timeout', 'malformed', 'refused', 'handshake', 'untrusted')),
    call    TEXT NOT NULL,
    message TEXT NOT NULL,
    at      TEXT NOT NULL,
    process TEXT NOT NULL
) STRICT;
