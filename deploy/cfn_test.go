package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/opensearchservice"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// openTemplate parses a CloudFormation template with goformation, which
// rejects unknown resource properties. Parameters take the given overrides
// (else their defaults); Fn::If picks its branch from conds (goformation's own
// condition evaluation replaces conditional resources by a bool); Fn::GetAtt
// becomes the placeholder "arn:getatt:<Resource>.<Attribute>" so references to
// other resources stay visible to the checks.
func openTemplate(path string, params map[string]any, conds map[string]bool) (*cloudformation.Template, error) {
	getAtt := func(_ string, input any, _ any) any {
		switch v := input.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			return "arn:getatt:" + strings.Join(parts, ".")
		case string:
			return "arn:getatt:" + v
		}
		return nil
	}
	fnIf := func(_ string, input any, _ any) any {
		arr, ok := input.([]any)
		if !ok || len(arr) != 3 {
			return nil
		}
		name, _ := arr[0].(string)
		if conds[name] {
			return arr[1]
		}
		return arr[2]
	}
	t, err := goformation.OpenWithOptions(path, &intrinsics.ProcessorOptions{
		ParameterOverrides:        params,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Fn::GetAtt": getAtt, "Fn::If": fnIf},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// mustTemplate is openTemplate failing the test on an error.
func mustTemplate(t *testing.T, path string, params map[string]any, conds map[string]bool) *cloudformation.Template {
	t.Helper()
	tpl, err := openTemplate(path, params, conds)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// cfnResource is the resource name of one type of a template (all, from its
// GetAll…Resources), failing the test when there is none.
func cfnResource[T any](t *testing.T, all map[string]*T, name string) *T {
	t.Helper()
	r := all[name]
	if r == nil {
		t.Fatalf("no %s", name)
	}
	return r
}

// policyOf converts a parsed policy document (interface{}) back to JSON and
// decodes it strictly, dropping statements removed by false conditions.
func policyOf(doc any) (iamPolicy, error) {
	if m, ok := doc.(map[string]any); ok {
		if sts, ok := m["Statement"].([]any); ok {
			m["Statement"] = slices.DeleteFunc(slices.Clone(sts), func(s any) bool { return s == nil })
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return iamPolicy{}, err
	}
	return parsePolicy(b)
}

// checkDomain returns the security properties an OpenSearch domain lacks:
// encryption at rest and between nodes, HTTPS only with TLS 1.2+,
// fine-grained access control, and an access policy that names principals.
func checkDomain(d *opensearchservice.Domain) []error {
	var errs []error
	isTrue := func(b *bool) bool { return b != nil && *b }
	if d.EncryptionAtRestOptions == nil || !isTrue(d.EncryptionAtRestOptions.Enabled) {
		errs = append(errs, fmt.Errorf("encryption at rest off"))
	}
	if d.NodeToNodeEncryptionOptions == nil || !isTrue(d.NodeToNodeEncryptionOptions.Enabled) {
		errs = append(errs, fmt.Errorf("node-to-node encryption off"))
	}
	if d.DomainEndpointOptions == nil || !isTrue(d.DomainEndpointOptions.EnforceHTTPS) {
		errs = append(errs, fmt.Errorf("HTTPS not enforced"))
	} else if p := d.DomainEndpointOptions.TLSSecurityPolicy; p == nil || !strings.Contains(*p, "TLS-1-2") {
		errs = append(errs, fmt.Errorf("TLS security policy %v, want TLS 1.2 minimum", p))
	}
	if a := d.AdvancedSecurityOptions; a == nil || !isTrue(a.Enabled) {
		errs = append(errs, fmt.Errorf("fine-grained access control off"))
	} else if a.MasterUserOptions == nil || a.MasterUserOptions.MasterUserARN == nil || !strings.HasPrefix(*a.MasterUserOptions.MasterUserARN, "arn:") {
		errs = append(errs, fmt.Errorf("fine-grained access control without an IAM master role"))
	}
	if d.AccessPolicies == nil {
		return append(errs, fmt.Errorf("no access policy"))
	}
	p, err := policyOf(d.AccessPolicies)
	if err != nil {
		return append(errs, err)
	}
	errs = append(errs, checkPolicy(p, policyRules{resourcePolicy: true})...)
	for _, st := range p.Statement {
		var pr struct {
			AWS stringList `json:"AWS"`
		}
		if err := json.Unmarshal(st.Principal, &pr); err != nil || len(pr.AWS) == 0 {
			errs = append(errs, fmt.Errorf("access policy statement without named AWS principals (%s)", st.Principal))
			continue
		}
		for _, a := range pr.AWS {
			if !strings.HasPrefix(a, "arn:") || (!strings.Contains(a, ":role/") && !strings.HasPrefix(a, "arn:getatt:")) {
				errs = append(errs, fmt.Errorf("access policy principal %q is not a role", a))
			}
		}
	}
	return errs
}
