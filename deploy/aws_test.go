package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/opensearchservice"
)

// readPolicy reads and parses an IAM policy document.
func readPolicy(t *testing.T, path string) iamPolicy {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePolicy(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIAMPolicy_Shipper(t *testing.T) {
	p := readPolicy(t, "aws/iam-policy.json")
	for _, err := range checkPolicy(p, policyRules{actions: shipperActions}) {
		t.Error(err)
	}
	var got []string
	for _, st := range p.Statement {
		got = append(got, st.Action...)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(shipperActions))
	if !slices.Equal(got, want) {
		t.Errorf("actions %v, want exactly %v", got, want)
	}
}

func TestIAMPolicy_Subscribe(t *testing.T) {
	p := readPolicy(t, "aws/subscribe-policy.json")
	rules := policyRules{
		actions:     []string{"logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DescribeLogGroups", "logs:DescribeSubscriptionFilters", "logs:PutSubscriptionFilter", "lambda:AddPermission", "lambda:GetPolicy"},
		accountWide: []string{"logs:DescribeLogGroups"},
	}
	for _, err := range checkPolicy(p, rules) {
		t.Error(err)
	}
}

// TestCheckPolicy_Rejects proves the IAM checks bite.
func TestCheckPolicy_Rejects(t *testing.T) {
	tests := []struct {
		name, policy, want string
		rules              policyRules
	}{
		{"wildcard action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:r:1:log-group:g:*"}]}`, `wildcard action "logs:*"`, policyRules{}},
		{"star resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":"*"}]}`, `Resource "*"`, policyRules{}},
		{"every group", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":"arn:aws:logs:r:1:log-group:*"}]}`, "covers every log group", policyRules{}},
		{"unneeded action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:DeleteLogGroup"],"Resource":"arn:aws:logs:r:1:log-group:g:*"}]}`, "not needed", policyRules{actions: shipperActions}},
		{"anyone", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["es:ESHttpGet"],"Resource":"arn:aws:es:r:1:domain/d/*"}]}`, "Principal is anyone", policyRules{resourcePolicy: true}},
		{"NotAction", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"arn:aws:logs:r:1:log-group:g:*"}]}`, "NotAction", policyRules{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePolicy([]byte(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			errs := checkPolicy(p, tt.rules)
			if !strings.Contains(joinErrs(errs), tt.want) {
				t.Fatalf("checkPolicy()=%q, want a finding containing %q", joinErrs(errs), tt.want)
			}
		})
	}
}

// cfnParams are parameter values for parsing (where a default is empty).
var cfnParams = map[string]any{
	"CodeS3Bucket": "logship-artifacts",
	"AdminRoleArn": "arn:aws:iam::111122223333:role/opensearch-admin",
}

func TestCloudFormation_Parse(t *testing.T) {
	files, err := filepath.Glob("aws/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("templates %v, want log-group, shipper-role, cwl-to-opensearch", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			tpl := mustTemplate(t, f, cfnParams, map[string]bool{"MakeDomain": true, "CreateGroups": true})
			if len(tpl.Resources) == 0 {
				t.Fatal("no resources")
			}
			for name, r := range tpl.Resources {
				if r.AWSCloudFormationType() == "AWS::Elasticsearch::Domain" {
					t.Errorf("%s: AWS::Elasticsearch::Domain is being replaced; use AWS::OpenSearchService::Domain", name)
				}
			}
			for name, lg := range tpl.GetAllLogsLogGroupResources() {
				if lg.RetentionInDays == nil || *lg.RetentionInDays <= 0 {
					t.Errorf("log group %s without RetentionInDays", name)
				}
			}
			for name, role := range tpl.GetAllIAMRoleResources() {
				trust, err := policyOf(role.AssumeRolePolicyDocument)
				if err != nil {
					t.Fatalf("role %s trust: %v", name, err)
				}
				for _, st := range trust.Statement {
					if principalIsAnyone(st.Principal) {
						t.Errorf("role %s trusts anyone", name)
					}
				}
				for _, pol := range role.Policies {
					p, err := policyOf(pol.PolicyDocument)
					if err != nil {
						t.Fatalf("role %s policy %s: %v", name, pol.PolicyName, err)
					}
					for _, err := range checkPolicy(p, policyRules{}) {
						t.Errorf("role %s policy %s: %v", name, pol.PolicyName, err)
					}
				}
				if len(role.ManagedPolicyArns) > 0 {
					t.Errorf("role %s has managed policies %v (least privilege is written inline)", name, role.ManagedPolicyArns)
				}
			}
		})
	}
}

func TestCloudFormation_ShipperRole(t *testing.T) {
	for _, allow := range []string{"true", "false"} {
		tpl := mustTemplate(t, "aws/shipper-role.yaml", map[string]any{"AllowCreateLogGroup": allow}, map[string]bool{"CreateGroups": allow == "true"})
		role := cfnResource(t, tpl.GetAllIAMRoleResources(), "ShipperRole")
		trust, err := policyOf(role.AssumeRolePolicyDocument)
		if err != nil {
			t.Fatal(err)
		}
		if len(trust.Statement) != 1 || string(trust.Statement[0].Principal) != `{"Service":"pods.eks.amazonaws.com"}` ||
			!slices.Equal(trust.Statement[0].Action, stringList{"sts:AssumeRole", "sts:TagSession"}) {
			t.Errorf("trust %+v, want pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession", trust.Statement)
		}
		var actions []string
		for _, pol := range role.Policies {
			p, err := policyOf(pol.PolicyDocument)
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range checkPolicy(p, policyRules{actions: shipperActions}) {
				t.Errorf("AllowCreateLogGroup=%s: %v", allow, err)
			}
			for _, st := range p.Statement {
				actions = append(actions, st.Action...)
			}
		}
		if got := slices.Contains(actions, "logs:CreateLogGroup"); got != (allow == "true") {
			t.Errorf("AllowCreateLogGroup=%s: CreateLogGroup granted=%v", allow, got)
		}
		pias := tpl.GetAllEKSPodIdentityAssociationResources()
		if len(pias) != 1 {
			t.Fatalf("%d PodIdentityAssociations, want 1", len(pias))
		}
		for _, pia := range pias {
			if pia.Namespace != "logship" || pia.ServiceAccount != "logship" || pia.RoleArn != "arn:getatt:ShipperRole.Arn" {
				t.Errorf("association %s/%s → %s, want logship/logship → ShipperRole", pia.Namespace, pia.ServiceAccount, pia.RoleArn)
			}
		}
	}
}

func TestCloudFormation_CWLToOpenSearch(t *testing.T) {
	params := map[string]any{"CreateDomain": "true"}
	for k, v := range cfnParams {
		params[k] = v
	}
	tpl := mustTemplate(t, "aws/cwl-to-opensearch.yaml", params, map[string]bool{"MakeDomain": true})
	fn := cfnResource(t, tpl.GetAllLambdaFunctionResources(), "Function")
	if fn.Runtime == nil || *fn.Runtime != "provided.al2023" || fn.Handler == nil || *fn.Handler != "bootstrap" {
		t.Errorf("runtime %v handler %v, want provided.al2023 bootstrap", fn.Runtime, fn.Handler)
	}
	if fn.ReservedConcurrentExecutions == nil || *fn.ReservedConcurrentExecutions <= 0 {
		t.Error("no reserved concurrency limit")
	}
	if fn.Environment == nil || fn.Environment.Variables["INDEX_PREFIX"] == "" || fn.Environment.Variables["OPENSEARCH_SIGV4_SERVICE"] != "es" {
		t.Errorf("environment %+v", fn.Environment)
	}
	perm := cfnResource(t, tpl.GetAllLambdaPermissionResources(), "InvokePermission")
	if perm.Principal != "logs.amazonaws.com" || perm.Action != "lambda:InvokeFunction" {
		t.Errorf("permission %s %s", perm.Principal, perm.Action)
	}
	if perm.SourceArn == nil || !strings.Contains(*perm.SourceArn, ":log-group:/k8s/my-cluster/containers:*") || perm.SourceAccount == nil || *perm.SourceAccount == "" {
		t.Errorf("permission SourceArn %v SourceAccount %v: want the group's ARN and the account (confused deputy)", perm.SourceArn, perm.SourceAccount)
	}
	sf := cfnResource(t, tpl.GetAllLogsSubscriptionFilterResources(), "SubscriptionFilter")
	if !slices.Contains(sf.AWSCloudFormationDependsOn, "InvokePermission") {
		t.Errorf("SubscriptionFilter DependsOn %v, want InvokePermission", sf.AWSCloudFormationDependsOn)
	}
	if sf.DestinationArn != "arn:getatt:Function.Arn" {
		t.Errorf("DestinationArn %q", sf.DestinationArn)
	}
	role := cfnResource(t, tpl.GetAllIAMRoleResources(), "FunctionRole")
	for _, pol := range role.Policies {
		p, err := policyOf(pol.PolicyDocument)
		if err != nil {
			t.Fatal(err)
		}
		rules := policyRules{actions: []string{"logs:CreateLogStream", "logs:PutLogEvents", "es:ESHttpPost", "es:ESHttpPut"}}
		for _, err := range checkPolicy(p, rules) {
			t.Error(err)
		}
		for _, st := range p.Statement {
			for _, r := range st.Resource {
				if strings.Contains(r, ":es:") && !strings.HasSuffix(r, ":domain/logship-logs/*") {
					t.Errorf("es resource %q, want the one domain", r)
				}
			}
		}
	}
	d := cfnResource(t, tpl.GetAllOpenSearchServiceDomainResources(), "Domain")
	if d.AWSCloudFormationCondition != "MakeDomain" {
		t.Errorf("Domain condition %q, want MakeDomain", d.AWSCloudFormationCondition)
	}
	for _, err := range checkDomain(d) {
		t.Error(err)
	}
	// The domain is optional and off by default.
	tpl = mustTemplate(t, "aws/cwl-to-opensearch.yaml", nil, nil)
	if p, ok := tpl.Parameters["CreateDomain"]; !ok || p.Default != "false" {
		t.Errorf("parameter CreateDomain %+v, want default \"false\"", p)
	}
}

// TestCheckDomain_Rejects proves the domain check bites on an empty domain.
func TestCheckDomain_Rejects(t *testing.T) {
	errs := checkDomain(&opensearchservice.Domain{})
	for _, want := range []string{"encryption at rest off", "node-to-node encryption off", "HTTPS not enforced", "fine-grained access control off", "no access policy"} {
		if !strings.Contains(joinErrs(errs), want) {
			t.Errorf("checkDomain(empty)=%q, want %q", joinErrs(errs), want)
		}
	}
}
