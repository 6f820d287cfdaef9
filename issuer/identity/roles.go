package identity

// Role is what a staff account may do at the desk.
type Role string

// Roles, each including the one before. What a role may do is decided by
// the authorization policies (issuer/authz, principal Staff with attribute
// role; docs/authorization.md), not here.
const (
	RoleDesk       Role = "desk"       // enter results, issue, print, share
	RoleSupervisor Role = "supervisor" // also revoke and correct, see the audit trail
	RoleAdmin      Role = "admin"      // also staff accounts and API tokens
	RolePatient    Role = "patient"    // a patient's own account (issue 13); no desk actions
)

// Valid reports whether r is a staff role.
func (r Role) Valid() bool { return r == RoleDesk || r == RoleSupervisor || r == RoleAdmin }
