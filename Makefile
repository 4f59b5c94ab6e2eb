# logship — see README.md.
GO ?= go
PKGS ?= ./...

.PHONY: test vet build bench fuzz clean

# test is what CI runs (.ci/run): vet, then every test with the race detector.
test: vet
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

vet:
	$(GO) vet $(PKGS)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/logship ./cmd/logship

# bench runs the Go micro-benchmarks of every package (not part of test).
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
