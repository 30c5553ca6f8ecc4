// The benchmark's webhook receiver: an HTTP/1.1 keep-alive server that answers every POST
// with 204 and, when the body carries "sent_ns":<CLOCK_REALTIME ns> (put there by
// bench_publisher), records receipt time minus that publish time. It is deliberately one
// thread on raw epoll with a hand-rolled parser that reads only the request line and
// Content-Length: the point is to cost the machine as little as possible so the
// dispatcher, not the receiver, is what gets measured (wrk gives this sink's ceiling).
//
// Control requests (not counted): GET /stats returns the counters as JSON and is cheap
// enough to poll; GET /latency adds the latency percentiles (it sorts every sample, so ask
// once at the end of a phase); GET /samples lists every latency sample in microseconds, one
// a line, in arrival order (for looking at stalls over time); POST /reset clears everything. Every
// other request counts; only timestamped POSTs contribute latency samples, so wrk's untimestamped
// requests are just counted.
//
// Usage: bench_sink [--port N] [--port-file PATH]. Port 0 (the default) picks a free port;
// the chosen port is printed on stdout and written to --port-file when given.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

std::int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Counters since the last reset. Latency samples are kept whole (8 bytes each) rather than
// in a histogram: a full benchmark phase is at most a few million requests, and exact
// percentiles are worth a few megabytes.
struct stats {
  std::uint64_t requests = 0;  // counted requests (not /stats or /reset)
  std::uint64_t stamped = 0;   // of those, POSTs whose body carried sent_ns
  std::int64_t first_ns = 0;   // CLOCK_REALTIME of the first and last counted request
  std::int64_t last_ns = 0;
  std::vector<std::int64_t> latencies_ns;

  void reset() {
    requests = stamped = 0;
    first_ns = last_ns = 0;
    latencies_ns.clear();
  }
};

// Reads the integer after "sent_ns": in the body; -1 when absent.
std::int64_t find_sent_ns(std::string_view body) {
  static constexpr std::string_view key = "\"sent_ns\":";
  const auto at = body.find(key);
  if (at == std::string_view::npos) return -1;
  std::int64_t value = 0;
  std::size_t i = at + key.size();
  while (i < body.size() && body[i] == ' ') ++i;
  const std::size_t start = i;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9')
    value = value * 10 + (body[i++] - '0');
  return i == start ? -1 : value;
}

bool iequals_prefix(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

struct request_head {
  std::string_view method;
  std::string_view target;
  std::size_t content_length = 0;
  bool close = false;
  std::size_t head_size = 0;  // bytes up to and including the blank line
};

// Parses one request head at the start of `data`; false while it is incomplete.
bool parse_head(std::string_view data, request_head& out) {
  const auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  out = request_head{};
  out.head_size = end + 4;
  const auto line_end = data.find("\r\n");
  const std::string_view line = data.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 + 1);
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 == std::string_view::npos ? sp2 : sp2 - sp1 - 1);
  std::size_t pos = line_end + 2;
  while (pos < end) {
    const auto next = data.find("\r\n", pos);
    const std::string_view header = data.substr(pos, next - pos);
    if (iequals_prefix(header, "content-length:")) {
      out.content_length = std::strtoull(header.data() + 15, nullptr, 10);
    } else if (iequals_prefix(header, "connection:")) {
      out.close = header.find("close") != std::string_view::npos;
    }
    pos = next + 2;
  }
  return true;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size()));
  return sorted[std::min(rank, sorted.size() - 1)];
}

std::string stats_json(const stats& s, bool with_latency) {
  std::string out =
      "{\"requests\":" + std::to_string(s.requests) + ",\"stamped\":" + std::to_string(s.stamped) +
      ",\"first_ns\":" + std::to_string(s.first_ns) + ",\"last_ns\":" + std::to_string(s.last_ns);
  if (!with_latency) return out + "}";
  std::vector<std::int64_t> sorted = s.latencies_ns;
  std::sort(sorted.begin(), sorted.end());
  auto us = [](std::int64_t ns) { return std::to_string(static_cast<double>(ns) / 1000.0); };
  out += ",\"p50_us\":" + us(percentile(sorted, 0.50)) +
         ",\"p90_us\":" + us(percentile(sorted, 0.90)) +
         ",\"p99_us\":" + us(percentile(sorted, 0.99)) +
         ",\"p999_us\":" + us(percentile(sorted, 0.999)) +
         ",\"max_us\":" + us(sorted.empty() ? 0 : sorted.back()) + "}";
  return out;
}

struct connection {
  int fd = -1;
  std::string in;   // unparsed bytes
  std::string out;  // replies not yet written
  bool close_after_write = false;
  bool waiting_to_write = false;  // EPOLLOUT is in the interest set
};

class server {
 public:
  explicit server(std::uint16_t port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 1024) != 0) {
      std::perror("bench_sink: bind/listen");
      std::exit(1);
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    stats_.latencies_ns.reserve(1 << 20);
  }

  std::uint16_t port() const { return port_; }

  [[noreturn]] void run() {
    std::vector<epoll_event> events(256);
    for (;;) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0 && errno != EINTR) {
        std::perror("bench_sink: epoll_wait");
        std::exit(1);
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_fd_) {
          accept_all();
        } else {
          on_ready(fd, events[i].events);
        }
      }
    }
  }

 private:
  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
      auto& c = connections_[fd];
      c = std::make_unique<connection>();
      c->fd = fd;
    }
  }

  void close_connection(int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections_.erase(fd);
  }

  void on_ready(int fd, std::uint32_t flags) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    connection& c = *it->second;
    if (flags & EPOLLOUT) {
      if (!flush(c)) return close_connection(fd);
    }
    if (flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      bool peer_closed = false;
      for (;;) {
        const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
        if (got > 0) {
          c.in.append(buf, static_cast<std::size_t>(got));
          if (static_cast<std::size_t>(got) < sizeof buf) break;
        } else if (got == 0) {
          peer_closed = true;
          break;
        } else {
          if (errno != EAGAIN && errno != EWOULDBLOCK) peer_closed = true;
          break;
        }
      }
      handle_requests(c);
      if (!flush(c) || peer_closed) return close_connection(fd);
    }
  }

  // Answers every complete request in c.in, appending the replies to c.out.
  void handle_requests(connection& c) {
    std::size_t pos = 0;
    const std::int64_t now = realtime_ns();
    request_head head;
    while (!c.close_after_write && parse_head(std::string_view(c.in).substr(pos), head)) {
      if (c.in.size() - pos < head.head_size + head.content_length) break;
      const std::string_view body(c.in.data() + pos + head.head_size, head.content_length);
      if (head.target == "/stats" || head.target == "/latency") {
        const std::string json = stats_json(stats_, head.target == "/latency");
        c.out += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(json.size()) + "\r\n\r\n" + json;
      } else if (head.target == "/samples") {
        std::string text;
        text.reserve(stats_.latencies_ns.size() * 8);
        for (const std::int64_t ns : stats_.latencies_ns) text += std::to_string(ns / 1000) + "\n";
        c.out += "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(text.size()) + "\r\n\r\n" + text;
      } else if (head.target == "/reset") {
        stats_.reset();
        c.out += "HTTP/1.1 204 No Content\r\n\r\n";
      } else {
        ++stats_.requests;
        if (stats_.first_ns == 0) stats_.first_ns = now;
        stats_.last_ns = now;
        if (head.method == "POST") {
          if (const std::int64_t sent = find_sent_ns(body); sent > 0) {
            ++stats_.stamped;
            stats_.latencies_ns.push_back(now - sent);
          }
          c.out += "HTTP/1.1 204 No Content\r\n\r\n";
        } else {
          c.out += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        }
      }
      pos += head.head_size + head.content_length;
      if (head.close) c.close_after_write = true;
    }
    c.in.erase(0, pos);
  }

  // Writes what it can; false when the connection should close.
  bool flush(connection& c) {
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!c.waiting_to_write) watch(c, true);
        return true;
      } else {
        return false;
      }
    }
    // Level-triggered EPOLLOUT would fire on every wait once the buffer drained.
    if (c.waiting_to_write) watch(c, false);
    return !c.close_after_write;
  }

  void watch(connection& c, bool writable) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (writable ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.waiting_to_write = writable;
  }

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  std::uint16_t port_ = 0;
  stats stats_;
  std::unordered_map<int, std::unique_ptr<connection>> connections_;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
    } else if (arg == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_sink [--port N] [--port-file PATH]\n");
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  server s(port);
  std::printf("%u\n", s.port());
  std::fflush(stdout);
  if (!port_file.empty()) {
    // Written to a temporary name and renamed, so a reader never sees a partial number.
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << s.port() << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }
  s.run();
}
