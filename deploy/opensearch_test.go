package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

func decodeStrictJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestOpenSearch_SecurityRole checks the Lambda's OpenSearch role: only the
// cwl-* indices, only write actions, never all_access-like grants.
func TestOpenSearch_SecurityRole(t *testing.T) {
	var role struct {
		Description        string   `json:"description"`
		ClusterPermissions []string `json:"cluster_permissions"`
		IndexPermissions   []struct {
			IndexPatterns  []string `json:"index_patterns"`
			AllowedActions []string `json:"allowed_actions"`
		} `json:"index_permissions"`
	}
	decodeStrictJSON(t, "aws/opensearch/role-cwl_writer.json", &role)
	for _, p := range role.ClusterPermissions {
		if !slices.Contains([]string{"cluster_composite_ops", "cluster_monitor", "indices:data/write/bulk"}, p) {
			t.Errorf("cluster permission %q", p)
		}
	}
	if len(role.IndexPermissions) == 0 {
		t.Fatal("no index permissions")
	}
	for _, ip := range role.IndexPermissions {
		for _, p := range ip.IndexPatterns {
			if !strings.HasPrefix(p, "cwl-") {
				t.Errorf("index pattern %q outside cwl-*", p)
			}
		}
		for _, a := range ip.AllowedActions {
			if !slices.Contains([]string{"crud", "create_index", "write", "index"}, a) {
				t.Errorf("index action %q", a)
			}
		}
	}
	var m struct {
		BackendRoles []string `json:"backend_roles"`
		Hosts        []string `json:"hosts"`
		Users        []string `json:"users"`
	}
	decodeStrictJSON(t, "aws/opensearch/rolesmapping-cwl_writer.json", &m)
	if len(m.BackendRoles) != 1 || !strings.HasPrefix(m.BackendRoles[0], "arn:aws:iam::") || !strings.Contains(m.BackendRoles[0], ":role/") || len(m.Users) != 0 || len(m.Hosts) != 0 {
		t.Errorf("rolesmapping %+v, want exactly the function's IAM role", m)
	}
}

// TestOpenSearch_IndexTemplate checks that the template maps the fields
// cwl2es writes (cmd/cwl2es/document.go) for the indices it writes.
func TestOpenSearch_IndexTemplate(t *testing.T) {
	var tpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Priority      int      `json:"priority"`
		Template      struct {
			Settings map[string]any `json:"settings"`
			Mappings struct {
				DynamicTemplates []map[string]any `json:"dynamic_templates"`
				Properties       map[string]struct {
					Type string `json:"type"`
				} `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	decodeStrictJSON(t, "aws/opensearch/index-template-cwl.json", &tpl)
	if !slices.Equal(tpl.IndexPatterns, []string{"cwl-*"}) {
		t.Errorf("index_patterns %v", tpl.IndexPatterns)
	}
	want := map[string]string{"@id": "keyword", "@timestamp": "date", "@message": "text", "@owner": "keyword", "@log_group": "keyword", "@log_stream": "keyword"}
	for f, typ := range want {
		if got := tpl.Template.Mappings.Properties[f].Type; got != typ {
			t.Errorf("%s mapped as %q, want %q", f, got, typ)
		}
	}
}
