// The admin API's request and response, free of Beast types so routes compile fast and
// can be unit-tested as plain functions.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dispatcher::admin {

struct request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query, e.g. /v1/endpoints/ep_1
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string authorization;                 // Authorization header value, may be empty
  std::string body;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace dispatcher::admin
