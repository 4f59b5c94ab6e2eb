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
// on the 2017 AWS workshop's manifests (aws-samples/aws-workshop-for-kubernetes
// at 7632fb5, found through internal/fixtures; skipped when absent),
// which it must reject; the tests log what each check rejected.
//
// Design notes, with the sources of each rule: docs/deploy-design.md.
package deploy
