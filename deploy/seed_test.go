package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/opensearchservice"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The 2017 AWS workshop's manifests, configuration and policies are negative
// fixtures: every check that applies to a file must reject it, and the test
// logs what it rejected (go test -v -run TestSeed).

// seedFindings runs one named check and returns its findings.
type seedCase struct {
	file  string
	check string
	run   func(t *testing.T) []error
	// want are substrings that must each appear among the findings.
	want []string
}

func TestSeed_Rejected(t *testing.T) {
	decodeErrs := func(file string) func(t *testing.T) []error {
		return func(t *testing.T) []error {
			_, errs := readSeed(t, file)
			return errs
		}
	}
	dsChecks := func(file string, upgrade bool) func(t *testing.T) []error {
		return func(t *testing.T) []error {
			ds := seedDaemonSet(t, file, upgrade)
			return checkDaemonSet(ds, defaultAgentExpect)
		}
	}
	pss := func(file string) func(t *testing.T) []error {
		return func(t *testing.T) []error {
			ds := seedDaemonSet(t, file, false)
			return checkAgentPSS(&ds.Spec.Template.ObjectMeta, &ds.Spec.Template.Spec)
		}
	}
	cases := []seedCase{
		{"fluentd-ds.yaml", "strict decode", decodeErrs("fluentd-ds.yaml"), []string{"extensions/v1beta1 is removed"}},
		{"fluentd-ds.yaml", "DaemonSet must-have fields (decoded as apps/v1)", dsChecks("fluentd-ds.yaml", true), []string{
			"priorityClassName", "tolerates every taint", "maxSurge", "NODE_NAME", "/healthz",
			"capabilities drop ALL", "privilege escalation", "read-only root filesystem", "seccomp",
			"writable host paths [/var/log]", "state hostPath", "static credentials in env [AWS_ACCESS_KEY AWS_SECRET_KEY]",
		}},
		{"head/fluentd-ds.yaml", "DaemonSet must-have fields", dsChecks("head/fluentd-ds.yaml", false), []string{
			"priorityClassName", "tolerates every taint", "maxSurge", "NODE_NAME", "/healthz",
			"capabilities drop ALL", "privilege escalation", "read-only root filesystem", "seccomp",
			"writable host paths [/var/log]", "state hostPath", "static credentials in env [AWS_ACCESS_KEY AWS_SECRET_KEY]",
		}},
		{"head/fluentd-ds.yaml", "pod security (beyond hostPath/root)", pss("head/fluentd-ds.yaml"), []string{
			"restricted: allowPrivilegeEscalation != false", "restricted: unrestricted capabilities", "restricted: seccompProfile",
		}},
		{"fluentd-role.yaml", "strict decode", decodeErrs("fluentd-role.yaml"), []string{"rbac.authorization.k8s.io/v1beta1 is removed"}},
		{"fluentd-role-binding.yaml", "strict decode", decodeErrs("fluentd-role-binding.yaml"), []string{"rbac.authorization.k8s.io/v1beta1 is removed"}},
		{"heapster.yaml", "strict decode", decodeErrs("heapster.yaml"), []string{"Deployment/heapster: apiVersion extensions/v1beta1 is removed"}},
		{"head/hpa-manifest.yaml", "strict decode", decodeErrs("head/hpa-manifest.yaml"), []string{"autoscaling/v2beta1 is removed"}},
		{"fluentd-configmap.yaml", "fluent.conf directives (kubernetes-input.conf + output.conf)", func(t *testing.T) []error {
			objs, errs := readSeed(t, "fluentd-configmap.yaml")
			if len(errs) > 0 {
				t.Fatalf("seed ConfigMap does not decode: %v", joinErrs(errs))
			}
			cms := find[*corev1.ConfigMap](objs)
			if len(cms) != 1 {
				t.Fatalf("%d ConfigMaps", len(cms))
			}
			return checkFluentConf(cms[0].Data["kubernetes-input.conf"] + cms[0].Data["output.conf"])
		}, []string{"v1 tail source", "pos_file on the state hostPath", "CRI parser", "stream per tag", "file buffer", "retry_forever", "overflow_action block"}},
		{"iam-policy-fluentd-user.json", "IAM least privilege (shipper)", func(t *testing.T) []error {
			return checkPolicy(readPolicy(t, seedFile(t, "iam-policy-fluentd-user.json")), policyRules{actions: shipperActions})
		}, []string{`action "logs:DescribeLogGroups" not needed`, `action "logs:DescribeLogStreams" not needed`, "covers every log group"}},
		{"readme-commands.txt", "IAM least privilege (domain access policy)", func(t *testing.T) []error {
			p, err := parsePolicy([]byte(seedAccessPolicy(t)))
			if err != nil {
				t.Fatal(err)
			}
			return checkPolicy(p, policyRules{resourcePolicy: true})
		}, []string{"Principal is anyone", `wildcard action "es:*"`, `Resource "*"`}},
		{"readme-commands.txt", "OpenSearch domain (create-elasticsearch-domain as a domain resource)", func(t *testing.T) []error {
			d := &opensearchservice.Domain{AccessPolicies: jsonAny(t, seedAccessPolicy(t))}
			return checkDomain(d)
		}, []string{"encryption at rest off", "node-to-node encryption off", "HTTPS not enforced", "fine-grained access control off", "Principal is anyone"}},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.check, func(t *testing.T) {
			errs := c.run(t)
			if len(errs) == 0 {
				t.Fatalf("%s: %s accepted it, want it rejected", c.file, c.check)
			}
			all := joinErrs(errs)
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("findings %q lack %q", all, w)
				}
			}
			for _, e := range errs {
				t.Logf("REJECTED %s [%s]: %v", c.file, c.check, e)
			}
		})
	}
}

// TestSeed_Accepted lists the seed files the checks must accept: they decode
// (ServiceAccount, Service, ConfigMap) or, at HEAD, meet the RBAC rules, as the
// fixture README requires. A check that rejected them would be over-broad.
func TestSeed_Accepted(t *testing.T) {
	for _, f := range []string{"fluentd-service-account.yaml", "fluentd-svc.yaml", "fluentd-configmap.yaml", "head/fluentd-ds.yaml", "head/fluentd-svc.yaml", "head/fluentd-service-account.yaml", "head/fluentd-role.yaml", "head/fluentd-role-binding.yaml"} {
		t.Run(f, func(t *testing.T) {
			objs, errs := readSeed(t, f)
			if len(errs) > 0 || len(objs) == 0 {
				t.Fatalf("decode: %v (%d objects)", joinErrs(errs), len(objs))
			}
		})
	}
	t.Run("head/fluentd-role.yaml RBAC", func(t *testing.T) {
		objs, _ := readSeed(t, "head/fluentd-role.yaml")
		roles := find[*rbacv1.ClusterRole](objs)
		if len(roles) != 1 {
			t.Fatalf("%d ClusterRoles", len(roles))
		}
		if errs := checkRules(roles[0].Rules); len(errs) > 0 {
			t.Fatal(joinErrs(errs))
		}
	})
	t.Run("head/fluentd-role-binding.yaml subject", func(t *testing.T) {
		objs, _ := readSeed(t, "head/fluentd-role-binding.yaml")
		bs := find[*rbacv1.ClusterRoleBinding](objs)
		if len(bs) != 1 {
			t.Fatalf("%d bindings", len(bs))
		}
		if err := checkBinding(bs[0], "fluentd", "logging"); err != nil {
			t.Fatal(err)
		}
	})
}

// seedDaemonSet decodes a seed DaemonSet; with upgrade, the removed
// extensions/v1beta1 apiVersion is first rewritten to apps/v1 so the field
// checks can run on the 2017 manifest.
func seedDaemonSet(t *testing.T, file string, upgrade bool) *appsv1.DaemonSet {
	t.Helper()
	b, err := os.ReadFile(seedFile(t, file))
	if err != nil {
		t.Fatal(err)
	}
	if upgrade {
		b = bytes.Replace(b, []byte("apiVersion: extensions/v1beta1"), []byte("apiVersion: apps/v1"), 1)
	}
	o, err := decodeStrict(b)
	if err != nil {
		t.Fatal(err)
	}
	ds, ok := o.Obj.(*appsv1.DaemonSet)
	if !ok {
		t.Fatalf("%s is %T, want a DaemonSet", file, o.Obj)
	}
	return ds
}

// seedAccessPolicy extracts the --access-policies JSON of the seed's
// 'aws es create-elasticsearch-domain' command.
func seedAccessPolicy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(seedFile(t, "readme-commands.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--access-policies '([^']+)'`).FindSubmatch(b)
	if m == nil {
		t.Fatal("readme-commands.txt: no --access-policies")
	}
	return string(m[1])
}

func jsonAny(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
