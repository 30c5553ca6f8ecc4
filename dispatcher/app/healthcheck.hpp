// `dispatcher healthcheck`: the container's HEALTHCHECK. The runtime image has no curl
// (it stays small), so the binary asks its own /healthz: exit 0 when the service on
// DISPATCHER_LISTEN (or --url) answers 200 within the timeout, 1 otherwise.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dispatcher::app {

/// Where to ask: --url wins, else DISPATCHER_LISTEN (an unspecified address such as
/// 0.0.0.0 becomes the loopback of its family), else 127.0.0.1:8080. "host:port" form.
std::string healthcheck_address(const std::optional<std::string>& listen);

int run_healthcheck(const std::vector<std::string>& args,
                    const std::function<std::optional<std::string>(const std::string&)>& env);

}  // namespace dispatcher::app
