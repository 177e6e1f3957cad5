# syntax=docker/dockerfile:1
#
# Kairos: one image carrying both binaries.
#   docker build -t kairos .
#   docker run --rm --env-file .env -p 127.0.0.1:8080:8080 kairos            # kairos-api serve
#   docker run --rm --env-file .env kairos kairos-keepers                     # the keepers

# ---------------------------------------------------------------- builder ----
FROM rust:1.95-bookworm AS builder

WORKDIR /src

# rust-toolchain.toml pins 1.95.0 with rustfmt + clippy; rustup installs
# whatever the image lacks on first use.
COPY . .

# The cache mounts keep the registry and target/ between builds (BuildKit);
# target/ lives in the cache, so the binaries are copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p kairos-api -p kairos-keepers \
 && mkdir -p /out \
 && cp target/release/kairos-api target/release/kairos-keepers /out/

# ---------------------------------------------------------------- runtime ----
FROM debian:bookworm-slim AS runtime

# ca-certificates: outbound TLS (venues, OTLP); curl: container health checks;
# postgresql-client-16 (from the PostgreSQL project's apt repository, set up by
# postgresql-common's script): pg_dump/pg_restore for backups, of the compose
# server's major version (Debian's own client is 15 and cannot dump a 16 server).
# Unpinned on purpose: bookworm-slim's security updates are wanted.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl postgresql-common \
 && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
 && apt-get install -y --no-install-recommends postgresql-client-16 \
 && rm -rf /var/lib/apt/lists/*

# Unprivileged user; the working dir is its own, since the binaries create
# data/ (KAIROS_DATA_DIR, default "data") under the working directory.
RUN groupadd --system --gid 10001 kairos \
 && useradd --system --uid 10001 --gid kairos --home-dir /var/lib/kairos \
        --shell /usr/sbin/nologin kairos \
 && mkdir -p /var/lib/kairos/data /var/lib/kairos/backups \
 && chown -R kairos:kairos /var/lib/kairos

COPY --from=builder /out/kairos-api /out/kairos-keepers /usr/local/bin/

# Numeric ids (= kairos:kairos) so runtimes can verify "runAsNonRoot".
USER 10001:10001
WORKDIR /var/lib/kairos

ENV KAIROS_BIND=0.0.0.0:8080 \
    KAIROS_METRICS_BIND=0.0.0.0:9090

# 8080: the API (/v1, /health, /ready); 9090: Prometheus metrics.
EXPOSE 8080 9090

# No HEALTHCHECK here: the same image runs the keepers, which serve no HTTP;
# docker-compose.yml gives the api service its check (curl /ready).

CMD ["kairos-api", "serve"]
