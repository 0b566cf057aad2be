package model

// Person is someone who acts in warroom, or a service account (a
// delegate) acting for someone. Once any person is declared, warroom
// enforces its policy: every actor is resolved to a person through the
// OS login, and an OS login nobody declares acts as a viewer.
type Person struct {
	Name        string `yaml:"name" json:"name" spec:"required"`
	DisplayName string `yaml:"display_name" json:"display_name,omitempty"`
	Email       string `yaml:"email" json:"email,omitempty"`
	// Logins are the OS user names this person logs in as; a login
	// belongs to one person only.
	Logins []string `yaml:"logins" json:"logins,omitempty"`
	// SSHKeys are authorized_keys lines, for SSH access to the war room.
	SSHKeys []string `yaml:"ssh_keys" json:"ssh_keys,omitempty"`
	// Teams the person belongs to; the person holds their governance
	// roles (security, compliance, ...).
	Teams []string `yaml:"teams" json:"teams,omitempty"`
	// Roles are built-in roles: captain, operator, approver, viewer, admin.
	Roles []string `yaml:"roles" json:"roles,omitempty"`
	// Delegate marks a service account (CI) that may act --as another
	// person; the audit then records "ci-bot for alice".
	Delegate bool `yaml:"delegate" json:"delegate,omitempty"`
}

// BuiltinRoles are the roles a person is given directly. Governance
// roles (Roles) come from the person's teams.
var BuiltinRoles = []string{"captain", "operator", "approver", "viewer", "admin"}

// Policy maps each action to the roles (built-in or governance) and teams
// allowed to take it, replacing the documented default for the actions it
// names. An organisation has at most one.
type Policy struct {
	Name        string `yaml:"name" json:"name" spec:"required"`
	Description string `yaml:"description" json:"description,omitempty"`
	// Actions maps an action ("deploy.start") to who may take it.
	Actions map[string][]string `yaml:"actions" json:"actions,omitempty"`
	// ApprovalTTL is how long an approval or sign-off stays valid
	// (0: the default, 24h).
	ApprovalTTL Duration `yaml:"approval_ttl" json:"approval_ttl,omitempty"`
}

// Quorum is how many distinct people must approve entry into the
// environment: Approvals, or 1 when unset.
func (e Environment) Quorum() int {
	if e.Approvals == nil || *e.Approvals < 1 {
		return 1
	}
	return *e.Approvals
}
