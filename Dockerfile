# syntax=docker/dockerfile:1
# Multi-stage build: a static logship binary on a distroless static base.
# Published as ghcr.io/logship/logship:<version> (docker build -t
# ghcr.io/logship/logship:v0.1.0 .); deploy/base and deploy/jobs pin that tag.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -tags osusergo,netgo \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/logship ./cmd/logship

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/logship /logship
# The DaemonSet runs it as root (to read /var/log and write /var/lib/logship on
# the host) with every capability dropped and a read-only root filesystem; see
# deploy/base.
ENTRYPOINT ["/logship"]
CMD ["run"]
