// Package torture is logship's torture suite (issue 11 item 7, issue 17): a
// generator that writes container logs the way the kubelet and the container
// runtimes lay them out, where every line carries a unique, self-checking id;
// a ledger of what the generator actually wrote; a verifier that reads back
// every event a CloudWatch Logs emulator stored and reports, per scenario,
// lines missing, duplicated, out of order per (container, stream), cut,
// merged, with a wrong timestamp, and the emulator's rejections; and helpers
// that drive the real logship binary as a separate process.
//
// The scenarios themselves live in torture_test.go behind the "torture" build
// tag (make torture, make torture-short), so go test ./... runs only the unit
// tests of the generator and the verifier.
//
// Layouts written, with their public sources:
//   - CRI (containerd, CRI-O): /var/log/pods/<ns>_<pod>_<uid>/<ctr>/0.log,
//     lines "<RFC3339Nano> <stream> <P|F> <text>", lines over 16 KiB split
//     into P pieces and a final F piece (containerd
//     pkg/cri/io/logger.go, defaultBufSize / maxLen, v1.7; kubelet
//     pkg/kubelet/kuberuntime/logs/logs.go, v1.30).
//   - docker json-file: /var/lib/docker/containers/<id>/<id>-json.log, one
//     JSON object {"log","stream","time"} per line, lines over 16 KiB written
//     as pieces whose "log" has no trailing "\n" (moby
//     daemon/logger/copier.go, bufSize 16*1024, v24).
//   - kubelet rotation: rename 0.log to 0.log.<20060102-150405>, the
//     runtime reopens 0.log (late writes land in the renamed file until it
//     does), rotated files but the newest gzipped, at most
//     containerLogMaxFiles kept (kubelet
//     pkg/kubelet/logs/container_log_manager.go, v1.30).
//   - copytruncate: copy to a dated name, truncate in place (logrotate(8),
//     "copytruncate"); lines written between the copy and the truncation are
//     on no disk and are recorded as such.
package torture
