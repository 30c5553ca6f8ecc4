#include "tests/support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <hiredis/hiredis.h>

namespace dispatcher::testing {

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

redis_server::redis_server(bool append_only) : append_only_(append_only) {
  char tmpl[] = "/tmp/dispatcher-redis-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  port_ = free_port();
  start();
}

redis_server::~redis_server() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void redis_server::start() {
  pid_ = ::fork();
  if (pid_ == 0) {
    const std::string port = std::to_string(port_);
    const char* aof = append_only_ ? "yes" : "no";
    ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--dir",
             dir_.c_str(), "--save", "", "--appendonly", aof, "--loglevel", "warning",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (cmd({"PING"}) == "PONG") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

void redis_server::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void redis_server::kill_and_restart() {
  stop();
  start();
}

namespace {

void flatten(const redisReply* r, std::string& out) {
  switch (r->type) {
    case REDIS_REPLY_NIL:
      out += "(nil)";
      break;
    case REDIS_REPLY_INTEGER:
      out += std::to_string(r->integer);
      break;
    case REDIS_REPLY_ARRAY:
      for (std::size_t i = 0; i < r->elements; ++i) {
        if (i) out += "\n";
        flatten(r->element[i], out);
      }
      break;
    default:
      out.append(r->str, r->len);
  }
}

}  // namespace

std::string redis_server::cmd(const std::vector<std::string>& args) const {
  const timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return "ERR connect";
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  std::string out;
  if (r == nullptr) {
    out = "ERR io";
  } else {
    flatten(r, out);
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

}  // namespace dispatcher::testing
