package domain

import (
	"errors"
	"fmt"
)

// Code is the stable code of a rejected command (SPEC section 8). Codes are
// used in reports and logs and never change meaning.
type Code string

// The codes of SPEC section 8, and two of ours (marked "decision").
const (
	CodeInvalidName         Code = "invalid_name"
	CodeInvalidDescription  Code = "invalid_description"
	CodeInvalidNodes        Code = "invalid_nodes"
	CodeUnknownFlavor       Code = "unknown_flavor"
	CodeFlavorSoldOut       Code = "flavor_sold_out"
	CodeQuotaExceeded       Code = "quota_exceeded"
	CodeInvalidDuration     Code = "invalid_duration"
	CodeRegionNotSupported  Code = "region_not_supported"
	CodeInvalidNetwork      Code = "invalid_network"
	CodeInvalidAZ           Code = "invalid_az"
	CodeScalingNotSupported Code = "scaling_not_supported"
	CodeDeleteNotSupported  Code = "delete_not_supported"
	CodePoolNotRunning      Code = "pool_not_running"
	CodePoolGone            Code = "pool_gone"
	CodeUnknownNode         Code = "unknown_node"
	CodeLastNode            Code = "last_node"
	CodeNotFound            Code = "not_found"
	CodeRenewalNotSupported Code = "renewal_not_supported"
	CodeInsufficientBalance Code = "insufficient_balance"
	CodeInArrears           Code = "in_arrears"
	CodeConflict            Code = "conflict"
	// CodeInvalidAmount (decision): a top-up or balance that is not a
	// positive decimal amount.
	CodeInvalidAmount Code = "invalid_amount"
	// CodeInvalidCommand (decision): a command that is malformed in a way no
	// rule of SPEC names: an empty command id or account, an unknown pool
	// type or billing mode, a pool id that is not a valid id, a pool id
	// already taken by another command.
	CodeInvalidCommand Code = "invalid_command"
)

// The sentinels, one per code: errors.Is(err, domain.ErrQuotaExceeded) is true
// for every rejection with that code, whatever its message.
var (
	ErrInvalidName         = &RuleError{Code: CodeInvalidName}
	ErrInvalidDescription  = &RuleError{Code: CodeInvalidDescription}
	ErrInvalidNodes        = &RuleError{Code: CodeInvalidNodes}
	ErrUnknownFlavor       = &RuleError{Code: CodeUnknownFlavor}
	ErrFlavorSoldOut       = &RuleError{Code: CodeFlavorSoldOut}
	ErrQuotaExceeded       = &RuleError{Code: CodeQuotaExceeded}
	ErrInvalidDuration     = &RuleError{Code: CodeInvalidDuration}
	ErrRegionNotSupported  = &RuleError{Code: CodeRegionNotSupported}
	ErrInvalidNetwork      = &RuleError{Code: CodeInvalidNetwork}
	ErrInvalidAZ           = &RuleError{Code: CodeInvalidAZ}
	ErrScalingNotSupported = &RuleError{Code: CodeScalingNotSupported}
	ErrDeleteNotSupported  = &RuleError{Code: CodeDeleteNotSupported}
	ErrPoolNotRunning      = &RuleError{Code: CodePoolNotRunning}
	ErrPoolGone            = &RuleError{Code: CodePoolGone}
	ErrUnknownNode         = &RuleError{Code: CodeUnknownNode}
	ErrLastNode            = &RuleError{Code: CodeLastNode}
	ErrNotFound            = &RuleError{Code: CodeNotFound}
	ErrRenewalNotSupported = &RuleError{Code: CodeRenewalNotSupported}
	ErrInsufficientBalance = &RuleError{Code: CodeInsufficientBalance}
	ErrInArrears           = &RuleError{Code: CodeInArrears}
	ErrConflict            = &RuleError{Code: CodeConflict}
	ErrInvalidAmount       = &RuleError{Code: CodeInvalidAmount}
	ErrInvalidCommand      = &RuleError{Code: CodeInvalidCommand}
)

// RuleError is a rejected command: the code, the rule that rejected it (such
// as "R6"), and a message for people. errors.Is matches it against the
// sentinel of its code (ErrQuotaExceeded), and errors.As gives the details.
type RuleError struct {
	Code Code   // stable code, SPEC section 8
	Rule string // rule id, such as "R6"; empty for sentinels
	Msg  string // what was wrong and what would fix it
}

func (e *RuleError) Error() string {
	switch {
	case e.Rule == "" && e.Msg == "":
		return string(e.Code)
	case e.Rule == "":
		return string(e.Code) + ": " + e.Msg
	}
	return string(e.Code) + " (" + e.Rule + "): " + e.Msg
}

// Is reports whether target is a RuleError with the same code.
func (e *RuleError) Is(target error) bool {
	t, ok := target.(*RuleError)
	return ok && t.Code == e.Code
}

// reject builds the error of a broken rule.
func reject(code Code, rule, format string, args ...any) *RuleError {
	return &RuleError{Code: code, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err if it is (or wraps) a RuleError, and "" if not.
func CodeOf(err error) Code {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}
