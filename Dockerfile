# Two stages: the Makefile's build target makes a static binary (CGO_ENABLED=0), which then runs
# alone on an empty image (no shell, no package manager) with the CA certificates, as an
# unprivileged user. resetbot itself refuses to serve as root unless RESETBOT_ALLOW_ROOT=true.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=$VERSION

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/bin/resetbot /resetbot
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/resetbot"]
CMD ["serve"]
