# Two stages: build a static binary, then run it alone (with CA certificates) as an
# unprivileged user. Docker does not run on the development machines; issue 9 tests the image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/resetbot .

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/resetbot /resetbot
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/resetbot"]
CMD ["serve"]
