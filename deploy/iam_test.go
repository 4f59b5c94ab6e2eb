package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// stringList is an IAM policy element that is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		var l []string
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*s = l
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*s = stringList{one}
	return nil
}

// iamPolicy is an IAM policy document (identity or resource based).
type iamPolicy struct {
	Version   string         `json:"Version"`
	ID        string         `json:"Id,omitempty"`
	Statement []iamStatement `json:"Statement"`
}

type iamStatement struct {
	Sid          string          `json:"Sid,omitempty"`
	Effect       string          `json:"Effect"`
	Principal    json.RawMessage `json:"Principal,omitempty"`
	NotPrincipal json.RawMessage `json:"NotPrincipal,omitempty"`
	Action       stringList      `json:"Action,omitempty"`
	NotAction    stringList      `json:"NotAction,omitempty"`
	Resource     stringList      `json:"Resource,omitempty"`
	NotResource  stringList      `json:"NotResource,omitempty"`
	Condition    json.RawMessage `json:"Condition,omitempty"`
}

// parsePolicy decodes a policy document strictly (unknown elements fail).
func parsePolicy(b []byte) (iamPolicy, error) {
	var p iamPolicy
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return p, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

// policyRules says what a policy may grant.
type policyRules struct {
	// actions, when set, is the explicit list of allowed actions.
	actions []string
	// accountWide are actions AWS evaluates without a log group in the
	// resource (DescribeLogGroups), so "log-group:*" is allowed for them.
	accountWide []string
	// resourcePolicy is true for resource-based policies (Principal allowed,
	// but never "*").
	resourcePolicy bool
}

// principalIsAnyone reports whether a Principal element admits everyone:
// "*", {"AWS": "*"} or {"AWS": ["*", …]}.
func principalIsAnyone(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]stringList
	if json.Unmarshal(raw, &m) != nil {
		return true // unparseable: treat as unsafe
	}
	for _, l := range m {
		if slices.Contains(l, "*") {
			return true
		}
	}
	return false
}

// checkPolicy returns the least-privilege violations of a policy: wildcard
// or unlisted actions, NotAction/NotResource, "*" resources, logs resources
// that do not name a log group (except the account-wide actions), and, in
// resource policies, a Principal that is anyone.
func checkPolicy(p iamPolicy, r policyRules) []error {
	var errs []error
	if p.Version != "2012-10-17" {
		errs = append(errs, fmt.Errorf("Version %q, want 2012-10-17", p.Version))
	}
	if len(p.Statement) == 0 {
		errs = append(errs, fmt.Errorf("no statements"))
	}
	for i, st := range p.Statement {
		id := st.Sid
		if id == "" {
			id = fmt.Sprint(i)
		}
		if st.Effect != "Allow" {
			continue
		}
		if principalIsAnyone(st.Principal) {
			errs = append(errs, fmt.Errorf("statement %s: Principal is anyone (%s)", id, st.Principal))
		}
		if len(st.Principal) > 0 && !r.resourcePolicy {
			errs = append(errs, fmt.Errorf("statement %s: Principal in an identity policy", id))
		}
		if len(st.NotAction) > 0 || len(st.NotResource) > 0 || len(st.NotPrincipal) > 0 {
			errs = append(errs, fmt.Errorf("statement %s: NotAction/NotResource/NotPrincipal", id))
		}
		if len(st.Action) == 0 {
			errs = append(errs, fmt.Errorf("statement %s: no explicit Action list", id))
		}
		accountWide := true
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				errs = append(errs, fmt.Errorf("statement %s: wildcard action %q", id, a))
			} else if r.actions != nil && !slices.Contains(r.actions, a) {
				errs = append(errs, fmt.Errorf("statement %s: action %q not needed (allowed: %v)", id, a, r.actions))
			}
			if !slices.Contains(r.accountWide, a) {
				accountWide = false
			}
		}
		if len(st.Resource) == 0 {
			errs = append(errs, fmt.Errorf("statement %s: no Resource", id))
		}
		for _, res := range st.Resource {
			if res == "*" {
				errs = append(errs, fmt.Errorf("statement %s: Resource \"*\"", id))
				continue
			}
			if g, ok := logGroupOf(res); ok && !accountWide && (g == "" || g == "*") {
				errs = append(errs, fmt.Errorf("statement %s: resource %q covers every log group", id, res))
			}
			if strings.HasPrefix(res, "arn:") && strings.Contains(res, ":es:") && strings.Contains(res, ":domain/*") {
				errs = append(errs, fmt.Errorf("statement %s: resource %q covers every domain", id, res))
			}
		}
	}
	return errs
}

// logGroupOf returns the log group name of a CloudWatch Logs ARN
// (arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME[:…]).
func logGroupOf(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[2] != "logs" || !strings.HasPrefix(parts[5], "log-group") {
		return "", false
	}
	name, _, _ := strings.Cut(parts[6], ":")
	return name, true
}

// shipperActions are the only actions the agent calls (sink: PutLogEvents,
// and on ResourceNotFound CreateLogStream, or CreateLogGroup with
// PutRetentionPolicy and tags when auto-creating). PutLogEvents ignores
// sequence tokens since January 2023, so no Describe* is needed
// (https://aws.amazon.com/about-aws/whats-new/2023/01/amazon-cloudwatch-logs-log-stream-transaction-quota-sequencetoken-requirement/).
var shipperActions = []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"}
