# logship — see README.md.
GO ?= go
PKGS ?= ./...

.PHONY: test vet build bench microbench torture torture-short fidelity clean

# test is what CI runs (.ci/run): vet, then every test with the race detector.
test: vet
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

vet:
	$(GO) vet $(PKGS)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/logship ./cmd/logship

# bench is the end-to-end benchmark: ~2,000,000 CRI lines through the real
# agent (a separate process) into a count-only emulator, for two buffer
# shapes (chunk_limit_size 1m x queue_limit_length 8 and 256), reporting
# lines/CPU-s, MB/CPU-s, peak RSS (VmHWM) and the buffer's high-water, then
# a steady-state run per shape (live files, 2,000 lines/s across the containers
# for 30 s).
# BENCH_PEER=/path/to/fluent-bit (or fluentd; BENCH_PEER_KIND if the name
# says neither) runs that agent on the same files in the same run, with a
# generated config, and prints the ratios. BENCH_ARGS passes more flags
# (--runs 3 for a range, --lines, --cpuprofile FILE).
bench: build
	./bin/logship bench $(BENCH_ARGS)

# torture runs the torture suite (internal/torture, build tag torture): the
# real logship binary as a separate process against the CloudWatch Logs
# emulator, scenario by scenario (issue 11 item 7, issue 17), full forms.
# Each scenario prints a line "TORTURE <name> [form] <figures> PASS|FAIL";
# TORTURE_OUT names a file that collects them. Not part of test.
TORTURE_OUT ?=
torture:
	LOGSHIP_TORTURE_FORM=full LOGSHIP_TORTURE_OUT=$(TORTURE_OUT) $(GO) test -tags torture -count=1 -v -timeout 90m ./internal/torture/

# torture-short runs the short form of every scenario (each ≤ ~2 min, about
# 10 min in all); .ci/run calls it after test.
torture-short:
	LOGSHIP_TORTURE_FORM=short LOGSHIP_TORTURE_OUT=$(TORTURE_OUT) $(GO) test -tags torture -count=1 -v -timeout 30m ./internal/torture/

# fidelity is the differential suite against the real Fluentd
# (../shared/peers/fluentd; install its ruby packages once with its
# install-deps.sh, as root): the same generated kubelet logs through both,
# every CloudWatch event compared. It skips with the reason when the peer,
# ruby or mount namespaces are missing (LOGSHIP_FIDELITY_REQUIRE=1 fails).
fidelity: build
	LOGSHIP_FIDELITY=1 LOGSHIP_BIN=$(CURDIR)/bin/logship $(GO) test -count=1 -timeout 60m -v -run 'TestFidelity|TestCompare' ./internal/fidelity/

# microbench runs the Go micro-benchmarks of every package (not part of test).
microbench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
