package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

// Error codes the emulator returns, as AWS spells them in "__type" and
// X-Amzn-ErrorType (the service model's error shapes; design.md, "Wire
// protocol").
const (
	CodeInvalidParameter      = "InvalidParameterException"
	CodeResourceNotFound      = "ResourceNotFoundException"
	CodeResourceAlreadyExists = "ResourceAlreadyExistsException"
	CodeLimitExceeded         = "LimitExceededException"
	CodeThrottling            = "ThrottlingException"
	CodeServiceUnavailable    = "ServiceUnavailableException"
	CodeTooManyTags           = "TooManyTagsException"
	CodeUnrecognizedClient    = "UnrecognizedClientException"
	CodeInvalidSignature      = "InvalidSignatureException"
	CodeIncompleteSignature   = "IncompleteSignatureException"
	CodeMissingAuthentication = "MissingAuthenticationTokenException"
	CodeUnknownOperation      = "UnknownOperationException"
	CodeSerialization         = "SerializationException"
	CodeInvalidOperation      = "InvalidOperationException"
	CodeOperationAborted      = "OperationAbortedException"
	CodeAccessDenied          = "AccessDeniedException"
)

// Messages AWS returns (design.md, "PutLogEvents", cites where each was
// reported). Clients
// such as the legacy Go plugin match on "group"/"stream" in them.
const (
	msgGroupNotFound   = "The specified log group does not exist."
	msgStreamNotFound  = "The specified log stream does not exist."
	msgFilterNotFound  = "The specified subscription filter does not exist."
	msgGroupExists     = "The specified log group already exists"
	msgStreamExists    = "The specified log stream already exists"
	msgChronological   = "Log events in a single PutLogEvents request must be in chronological order."
	msgSpan24h         = "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
	msgThrottled       = "Rate exceeded"
	msgUnavailable     = "The service cannot complete the request."
	msgBadToken        = "The security token included in the request is invalid."
	msgMissingAuth     = "Request is missing Authentication Token"
	msgBadSignature    = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownOp       = "The action or operation requested is invalid. Verify that the action is typed correctly."
	msgInvalidToken    = "The specified nextToken is invalid."
	msgLimitExceeded   = "Resource limit exceeded."
	msgTooManyTags     = "A resource can have no more than 50 tags."
	msgReservedPrefix  = "Log group name cannot start with 'aws/'."
	msgOrderByPrefix   = "Cannot order by LastEventTime with a logStreamNamePrefix."
	msgGroupXorID      = "Exactly one of logGroupName or logGroupIdentifier must be specified."
	msgPrefixXorPat    = "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
	msgStreamsXorPfx   = "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
	msgInvalidARN      = "The specified ARN is not valid."
	msgUnsupportedPatn = "Invalid or unsupported filter pattern: the emulator supports plain terms and JSON ({ $.x = ... }) patterns."
)

// apiError is an error response: HTTP status, code and message, plus the
// extra members some error shapes carry.
type apiError struct {
	status       int
	code         string
	message      string
	resourceName string // TooManyTagsException
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errInvalidParameter(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeInvalidParameter, message: msg}
}

func errNotFound(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeResourceNotFound, message: msg}
}

func errExists(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeResourceAlreadyExists, message: msg}
}

func errClient(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: msg}
}

// errThrottled is ThrottlingException, HTTP 400 "Rate exceeded" [issue-cwh-120].
func errThrottled() *apiError {
	return &apiError{status: http.StatusBadRequest, code: CodeThrottling, message: msgThrottled}
}

// errUnavailable is ServiceUnavailableException. It is modelled as a fault;
// the CloudWatch Logs API reference lists HTTP 500 for it, which the
// emulator uses (design.md, "Wire protocol"). The SDK retries any 500.
func errUnavailable() *apiError {
	return &apiError{status: http.StatusInternalServerError, code: CodeServiceUnavailable, message: msgUnavailable}
}

// validation collects Coral-style constraint failures:
// "N validation error(s) detected: Value '<v>' at '<path>' failed to satisfy
// constraint: <constraint>; ..." (design.md, "Wire protocol"). List members
// are addressed 1-based ("logEvents.1.member.message"), the Coral
// convention (AWS does not document the base).
type validation struct {
	errs []string
}

func (v *validation) fail(value, path, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, path, constraint))
}

func (v *validation) null(path string) {
	v.errs = append(v.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
}

func (v *validation) minLen(value, path string, n int) {
	if len([]rune(value)) < n {
		v.fail(value, path, fmt.Sprintf("Member must have length greater than or equal to %d", n))
	}
}

func (v *validation) maxLen(value, path string, n int) {
	if runeCountAbove(value, n) {
		v.fail(value, path, fmt.Sprintf("Member must have length less than or equal to %d", n))
	}
}

func (v *validation) length(value, path string, lo, hi int) {
	v.minLen(value, path, lo)
	v.maxLen(value, path, hi)
}

func (v *validation) pattern(value, path, pattern string, ok bool) {
	if !ok {
		v.fail(value, path, "Member must satisfy regular expression pattern: "+pattern)
	}
}

func (v *validation) intRange(value int64, path string, lo, hi int64) {
	if value < lo {
		v.fail(fmt.Sprint(value), path, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if value > hi {
		v.fail(fmt.Sprint(value), path, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

func (v *validation) enum(value, path string, allowed []string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.fail(value, path, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// err returns the InvalidParameterException for the collected failures, or
// nil when there are none.
func (v *validation) err() *apiError {
	switch n := len(v.errs); n {
	case 0:
		return nil
	case 1:
		return errInvalidParameter("1 validation error detected: " + v.errs[0])
	default:
		return errInvalidParameter(fmt.Sprintf("%d validation errors detected: %s", n, strings.Join(v.errs, "; ")))
	}
}

func runeCountAbove(s string, n int) bool {
	if len(s) <= n {
		return false
	}
	c := 0
	for range s {
		c++
		if c > n {
			return true
		}
	}
	return false
}
