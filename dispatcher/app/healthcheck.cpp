// Where the container health check looks, apart from its client (healthcheck_probe.cpp)
// so the choice is unit-tested: a wildcard listen address is reached on loopback.
#include "dispatcher/app/healthcheck.hpp"

namespace dispatcher::app {

std::string healthcheck_address(const std::optional<std::string>& listen) {
  std::string address = listen && !listen->empty() ? *listen : "127.0.0.1:8080";
  if (address.starts_with("0.0.0.0:")) return "127.0.0.1:" + address.substr(8);
  if (address.starts_with("[::]:")) return "[::1]:" + address.substr(5);
  if (address.starts_with(":")) return "127.0.0.1" + address;
  return address;
}

}  // namespace dispatcher::app
