// What an operator's bulk replay asks for, from the JSON body of POST /v1/deliveries/retry
// or POST /v1/endpoints/{id}/recover: the list filters plus dry_run. No I/O.
#pragma once

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "dispatcher/history/filter.hpp"

namespace dispatcher::replay {

struct bulk_request {
  history::delivery_filter filter;
  bool dry_run = false;
};

/// POST /v1/deliveries/retry: status (failed, the default, or succeeded), endpoint_id,
/// event, consumerid, connectionid, since, until (RFC 3339 or unix seconds), dry_run.
/// Unknown fields are refused: a misspelt filter must not widen a bulk replay.
std::variant<bulk_request, history::filter_error> parse_bulk_retry(const nlohmann::json& body);

/// POST /v1/endpoints/{id}/recover: since and until; always that endpoint's failed
/// deliveries.
std::variant<bulk_request, history::filter_error> parse_recover(const nlohmann::json& body,
                                                                const std::string& endpoint_id);

}  // namespace dispatcher::replay
