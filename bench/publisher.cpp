// The benchmark's event producer: XADDs valid connection lifecycle events (CONTRACT section 1)
// to the stream with hiredis' synchronous API, pipelined with redisAppendCommand, because one
// round trip per event would measure the network, not the dispatcher.
//
// Every event gets its own connectionid (a per-run nonce plus a counter) and no "id", so the
// dispatcher names it evt_<stream entry id> and never dedupes two of them. Each carries
// "data":{"sent_ns":<CLOCK_REALTIME ns>} stamped just before it is queued, which
// bench_sink turns into publish-to-receipt latency; the dispatcher passes "data" through
// byte for byte. A "pad" string brings the payload to about --size bytes.
//
// Modes:
//   --count N                 closed loop: N events as fast as pipelining allows
//   --rate R --duration S     open loop: R events/s for S seconds, released every
//                             millisecond on an absolute schedule, so a slow consumer
//                             never slows the producer down (no coordinated omission)
// Prints one JSON line: sent, errors, start/end (CLOCK_REALTIME ns), elapsed and rate.
#include <hiredis/hiredis.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

namespace {

struct options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string stream = "lifecycle:events";
  std::uint64_t count = 0;
  double rate = 0;
  double duration_s = 0;
  std::size_t batch = 256;  // closed-loop pipeline depth: deep enough to hide round trips
  std::size_t size = 400;
};

std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_publisher [--host H] [--port P] [--stream KEY] [--size BYTES]\n"
               "         (--count N [--batch B] | --rate R --duration SECONDS)\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) usage();
    const char* value = argv[++i];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      o.port = std::atoi(value);
    } else if (arg == "--stream") {
      o.stream = value;
    } else if (arg == "--count") {
      o.count = std::strtoull(value, nullptr, 10);
    } else if (arg == "--rate") {
      o.rate = std::atof(value);
    } else if (arg == "--duration") {
      o.duration_s = std::atof(value);
    } else if (arg == "--batch") {
      o.batch = std::max<std::size_t>(1, std::strtoull(value, nullptr, 10));
    } else if (arg == "--size") {
      o.size = std::strtoull(value, nullptr, 10);
    } else {
      usage();
    }
  }
  if ((o.count == 0) == (o.rate <= 0 || o.duration_s <= 0)) usage();
  return o;
}

class event_writer {
 public:
  event_writer(std::size_t target_size, std::uint32_t nonce) : target_size_(target_size) {
    std::snprintf(nonce_, sizeof nonce_, "%08" PRIx32, nonce);
  }

  // Formats event number n, stamped now, into buffer_.
  const std::string& make(std::uint64_t n) {
    static constexpr const char* types[] = {"created", "updated", "deleted"};
    static constexpr const char* statuses[] = {",\"status\":\"active\"", ",\"status\":\"inactive\"",
                                               ""};
    const std::size_t kind = n % 3;
    const std::int64_t now = clock_ns(CLOCK_REALTIME);
    char head[512];
    const int len = std::snprintf(
        head, sizeof head,
        "{\"event\":\"account.connection.%s\",\"accountid\":\"7f9c2c1e-8a3b-4c5d-9e6f-"
        "0a1b2c3d4e5f\","
        "\"consumerid\":\"11111111-1111-4111-8111-%012" PRIx64
        "\",\"connectionid\":\"%s-0000-4000-8000-%012" PRIx64 "\"%s,\"created\":%" PRId64
        ",\"name\":\"Odoo\",\"integrationid\":\"22222222-2222-4222-8222-222222222222\","
        "\"api\":\"accounting\",\"data\":{\"sent_ns\":%" PRId64 ",\"pad\":\"",
        types[kind], n % 1000, nonce_, n, statuses[kind], now / 1'000'000'000, now);
    buffer_.assign(head, static_cast<std::size_t>(len));
    // 4 bytes close the pad string and both objects.
    if (buffer_.size() + 4 < target_size_) buffer_.append(target_size_ - buffer_.size() - 4, 'x');
    buffer_ += "\"}}";
    return buffer_;
  }

 private:
  std::size_t target_size_;
  char nonce_[9];
  std::string buffer_;
};

class publisher {
 public:
  explicit publisher(const options& o)
      : options_(o), writer_(o.size, static_cast<std::uint32_t>(std::random_device{}())) {
    ctx_ = redisConnect(o.host.c_str(), o.port);
    if (ctx_ == nullptr || ctx_->err) {
      std::fprintf(stderr, "bench_publisher: cannot connect to %s:%d: %s\n", o.host.c_str(), o.port,
                   ctx_ ? ctx_->errstr : "out of memory");
      std::exit(1);
    }
  }
  ~publisher() { redisFree(ctx_); }

  void append(std::uint64_t n) {
    const std::string& payload = writer_.make(n);
    redisAppendCommand(ctx_, "XADD %b * payload %b", options_.stream.data(), options_.stream.size(),
                       payload.data(), payload.size());
  }

  // Reads the replies of `pending` appended commands.
  void collect(std::size_t pending) {
    for (std::size_t i = 0; i < pending; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK) {
        std::fprintf(stderr, "bench_publisher: %s\n", ctx_->errstr);
        std::exit(1);
      }
      auto* reply = static_cast<redisReply*>(raw);
      if (reply->type == REDIS_REPLY_ERROR) {
        if (errors_++ == 0) std::fprintf(stderr, "bench_publisher: XADD: %s\n", reply->str);
      }
      freeReplyObject(reply);
    }
  }

  std::uint64_t closed_loop() {
    std::uint64_t sent = 0;
    while (sent < options_.count) {
      const std::size_t n = std::min<std::uint64_t>(options_.batch, options_.count - sent);
      for (std::size_t i = 0; i < n; ++i) append(sent + i);
      collect(n);
      sent += n;
    }
    return sent;
  }

  std::uint64_t open_loop() {
    static constexpr std::int64_t tick_ns = 1'000'000;
    const std::int64_t start = clock_ns(CLOCK_MONOTONIC);
    const auto total = static_cast<std::uint64_t>(options_.rate * options_.duration_s);
    std::uint64_t sent = 0;
    for (std::int64_t tick = 1; sent < total; ++tick) {
      const double elapsed_s = static_cast<double>(clock_ns(CLOCK_MONOTONIC) - start) / 1e9;
      const auto due =
          std::min<std::uint64_t>(total, static_cast<std::uint64_t>(elapsed_s * options_.rate));
      if (due > sent) {
        for (std::uint64_t n = sent; n < due; ++n) append(n);
        collect(due - sent);
        sent = due;
      }
      const std::int64_t wake = start + tick * tick_ns;
      const timespec ts{static_cast<time_t>(wake / 1'000'000'000),
                        static_cast<long>(wake % 1'000'000'000)};
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    return sent;
  }

  std::uint64_t errors() const { return errors_; }

 private:
  const options& options_;
  event_writer writer_;
  redisContext* ctx_ = nullptr;
  std::uint64_t errors_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  publisher p(o);
  const std::int64_t start = clock_ns(CLOCK_REALTIME);
  const std::uint64_t sent = o.count > 0 ? p.closed_loop() : p.open_loop();
  const std::int64_t end = clock_ns(CLOCK_REALTIME);
  const double elapsed = static_cast<double>(end - start) / 1e9;
  std::printf("{\"sent\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"start_ns\":%" PRId64
              ",\"end_ns\":%" PRId64 ",\"elapsed_s\":%.6f,\"rate\":%.1f}\n",
              sent, p.errors(), start, end, elapsed,
              elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0);
  return p.errors() == 0 ? 0 : 1;
}
