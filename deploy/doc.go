// Package deploy holds logship's deployment material and the offline checks
// that prove it: Kubernetes manifests (kustomize base/ and overlays/, the HPA
// example under examples/hpa, the subscribe Job under jobs/subscribe),
// CloudFormation templates and IAM policies under aws/.
//
// The package has no Go code of its own besides its tests. 'go test
// ./deploy/...' renders every kustomization with the kustomize API, strictly
// decodes every document against the client-go scheme (unknown fields and
// deprecated or removed apiVersions fail), evaluates the Pod Security
// Standards on every pod template, asserts the DaemonSet's must-have fields,
// least privilege in RBAC and IAM, and the key properties of the
// CloudFormation templates (parsed with goformation). Each check is also run
// on the 2017 AWS workshop's manifests (shared/fixtures/seed-workshop-2017),
// which it must reject; the tests log what each check rejected.
//
// Reference: shared/reference/deploy.md (§3, §4, §5, §6, §9).
package deploy
