-- A decision on a change made through a delegate names both, as the
-- gate sign-offs and waivers of 0007 do: approver is the person whose
-- decision it is, via the delegate that acted for them ('' when the
-- person acted). Before, only the person was kept here; the audit event
-- had both.
ALTER TABLE change_approvals ADD COLUMN via TEXT NOT NULL DEFAULT '';
