-- The rule that nobody approves their own change holds once people are
-- declared (enforced mode), as the store's four-eyes check and the rules
-- for runs and waivers do. In open mode (no person declared) anyone may do
-- anything, and identities are whatever --as says, so the trigger of 0001,
-- which refused an own change approval even there, is narrowed to match.
DROP TRIGGER change_approvals_not_own;
CREATE TRIGGER change_approvals_not_own BEFORE INSERT ON change_approvals
WHEN NEW.approver = (SELECT requester FROM change_requests WHERE id = NEW.change_id)
 AND EXISTS (SELECT 1 FROM objects WHERE kind = 'person')
BEGIN
    SELECT RAISE(ABORT, 'nobody approves their own change');
END;
