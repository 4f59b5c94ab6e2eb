#!/usr/bin/env bash
# build.sh builds kube-apiserver v1.37.2 from the Go module k8s.io/kubernetes
# (tools/go.mod beside this script) into a cache directory outside the clone, for
# the integration tests of package logship/internal/kubetest. It is idempotent:
# an existing binary stamped with the wanted version is kept. The first build
# takes about 15 minutes on 2 cores; it runs under nice so it shares the machine.
#
#   LOGSHIP_KUBE_CACHE  cache directory; default $HOME/.cache/logship/kube
#
# The binary ends up at $LOGSHIP_KUBE_CACHE/bin/kube-apiserver; the script
# prints that path on its last line.
set -euo pipefail

version=v1.37.2
here="$(cd "$(dirname "$0")" && pwd)"
cache="${LOGSHIP_KUBE_CACHE:-${HOME}/.cache/logship/kube}"
bin="$cache/bin/kube-apiserver"
stamp="$bin.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
	echo "kube-apiserver $version cached at $bin" >&2
	echo "$bin"
	exit 0
fi

mkdir -p "$cache/bin"
minor="${version#v1.}"
minor="${minor%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
echo "building kube-apiserver $version into $bin (this takes a while the first time)" >&2
start=$(date +%s)
(
	cd "$here/tools"
	# -mod=mod: resolve Kubernetes's requirements into tools/go.sum as needed.
	CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 15 go build -trimpath -ldflags "$ldflags" \
		-o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
)
mv "$bin.tmp" "$bin"
echo "$version" > "$stamp"
echo "built kube-apiserver $version in $(( $(date +%s) - start ))s" >&2
echo "$bin"
