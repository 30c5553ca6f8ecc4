# Build and run the dispatcher on Debian bookworm, the packages the scripts use.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN TESTS=OFF scripts/setup && TESTS=OFF scripts/build dispatcher && strip build/release/dispatcher

# The runtime: bookworm-slim and the shared libraries only (no compiler, no curl), as
# nobody. The health check is the binary itself asking its /healthz.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libboost-url1.81.0 libboost-program-options1.81.0 libssl3 libhiredis0.14 libjemalloc2 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/dispatcher /usr/local/bin/dispatcher
ENV DISPATCHER_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nobody
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["dispatcher", "healthcheck"]
ENTRYPOINT ["dispatcher"]
CMD ["serve"]
