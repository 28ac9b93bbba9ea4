# resetbot: `make demo` runs the whole product offline; `make test` installs what the tests
# need (when missing) and runs go vet and the race-enabled tests.
GO ?= go

.PHONY: demo test deps vet build

demo:
	$(GO) run . demo

build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/resetbot .

# deps installs the real servers the tests start (redis-server) from Debian's packages when
# running as root; otherwise it says what to install.
deps:
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is missing: run 'sudo apt-get install redis-server' (the tests start their own on a unix socket)"; exit 1; \
	  fi; \
	fi

vet:
	$(GO) vet ./...

test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...
