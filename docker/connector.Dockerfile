# The connector service as a small image: a static binary in FROM scratch, run as
# a non-root user. Build from the workspace root:
#
#   docker build -f docker/connector.Dockerfile -t augment-it/connector .
#
# (`augment stack up` does not use this file: it copies an already built
# static binary into docker/Dockerfile.prebuilt, so nothing is pulled.)

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
# glibc, statically linked: the binary needs nothing from the image. TLS is
# rustls, so there is no OpenSSL to link either.
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN cargo build --release --locked --target x86_64-unknown-linux-gnu -p connector --bin connector \
 && cp target/x86_64-unknown-linux-gnu/release/connector /connector

FROM scratch
COPY --from=build /connector /service
# No CA bundle needed: reqwest's rustls-tls carries its own (webpki) roots.
# scratch has no /etc/passwd: a numeric user, 65532 being the usual "nonroot".
USER 65532:65532
ENV CONNECTOR_LISTEN=0.0.0.0:8082
EXPOSE 8082
# No HEALTHCHECK: scratch has no shell or HTTP client to run one. Kubernetes
# probes /health and /ready over HTTP (docker/k8s/), and `augment stack`
# polls /health over loopback itself.
ENTRYPOINT ["/service"]
