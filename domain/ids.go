package domain

// AccountID names an account (tenant). PoolID names a pool, NodeID a node
// within its pool, CommandID a command (R20), FlavorID a flavor of the rate
// card. They are plain strings so that they read well in code, logs and
// scenario files; ValidID says which are acceptable, and every command checks
// its ids before anything else.
type (
	AccountID string
	PoolID    string
	NodeID    string
	CommandID string
	FlavorID  string
)

// MaxIDLen is the longest id accepted.
const MaxIDLen = 128

// ValidID reports whether s can be an account, pool or command id: 1 to 128
// characters among letters, digits and "-_.:". The set keeps ids safe inside
// stream names ("pool-" + id) and file names.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}
