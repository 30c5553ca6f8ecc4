# Build and run the dispatcher on Debian bookworm, the packages the scripts use.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/setup && TESTS=OFF scripts/build dispatcher

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libboost-url1.81.0 libboost-program-options1.81.0 libssl3 libhiredis0.14 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/dispatcher /usr/local/bin/dispatcher
ENV DISPATCHER_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nobody
ENTRYPOINT ["dispatcher"]
CMD ["serve"]
