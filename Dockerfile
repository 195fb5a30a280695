# jitgate container image: a static-ish release build on Debian, run on distroless as non-root.
#   docker build -t ghcr.io/jitgate/jitgate:0.1.0 .
# The image holds only the binary; configuration comes from a mounted file (see deploy/).

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
# The workspace's other members must be present for Cargo to read it (the domain crate is
# built with the dependencies; the benchmark crate is not built).
COPY Cargo.toml Cargo.lock rust-toolchain.toml build.rs ./
COPY proto ./proto
COPY crates ./crates
COPY bench ./bench
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked -p jitgate && rm -rf src target/release/.fingerprint/jitgate-[0-9a-f]*
COPY src ./src
RUN cargo build --release --locked -p jitgate && strip target/release/jitgate

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/jitgate /usr/local/bin/jitgate
USER 65532:65532
EXPOSE 9191 8080
ENTRYPOINT ["/usr/local/bin/jitgate"]
CMD ["serve", "--config", "/etc/jitgate/jitgate.yaml"]
