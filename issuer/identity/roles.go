package identity

// Role is what a staff account may do at the desk.
type Role string

// Roles, each including the one before.
const (
	RoleDesk       Role = "desk"       // enter results, issue, print, share
	RoleSupervisor Role = "supervisor" // also revoke and correct, see the audit trail
	RoleAdmin      Role = "admin"      // also staff accounts and API tokens
	RolePatient    Role = "patient"    // a patient's own account (issue 13); no desk actions
)

// Action is something done at the desk.
type Action string

// Actions checked by Allowed.
const (
	ActEnterResults Action = "results.enter"
	ActIssue        Action = "cards.issue"
	ActPrint        Action = "cards.print"
	ActShare        Action = "links.share"
	ActSearch       Action = "patients.search"
	ActRevoke       Action = "cards.revoke"
	ActCorrect      Action = "results.correct"
	ActReadAudit    Action = "audit.read"
	ActManageStaff  Action = "staff.manage"
	ActManageTokens Action = "tokens.manage"
)

var minRole = map[Action]int{
	ActEnterResults: 1, ActIssue: 1, ActPrint: 1, ActShare: 1, ActSearch: 1,
	ActRevoke: 2, ActCorrect: 2, ActReadAudit: 2,
	ActManageStaff: 3, ActManageTokens: 3,
}

func (r Role) rank() int {
	switch r {
	case RoleDesk:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is a staff role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allowed is the one check of what a staff role may do: desk enters
// results, issues, prints, shares and searches; supervisor also revokes,
// corrects and reads the audit trail; admin also manages staff and tokens.
// Unknown roles and actions are refused (fail closed). It is the function a
// policy engine (issuer/authz) can take over.
func Allowed(r Role, a Action) bool {
	need, ok := minRole[a]
	return ok && r.rank() >= need
}
