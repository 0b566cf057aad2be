-- A change request is mirrored from one ticketing plugin: which one, and
-- the link people follow to it, are kept beside ticket_ref so that
-- `change sync` knows whom to ask and the console can show where to look.
-- One ticket is one change: filing the same ticket again updates it.
ALTER TABLE change_requests ADD COLUMN ticket_system TEXT NOT NULL DEFAULT '';
ALTER TABLE change_requests ADD COLUMN ticket_url TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX change_requests_ticket ON change_requests (ticket_system, ticket_ref)
    WHERE ticket_ref IS NOT NULL;
