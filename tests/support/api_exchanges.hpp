// Records every admin API exchange the tests make through http_request, one JSON line per
// answer, so that tests/contract/validate_responses.py can check each answer against
// schemas/openapi.yaml after the suite ran. Recording, not checking, happens here: one
// validator run over the whole suite costs a fraction of a second, one per test would not.
#pragma once

#include <string>

namespace dispatcher::testing {

/// Appends {test, method, target, status, content_type, body} to this process's file in
/// the build's exchange folder (DISPATCHER_API_EXCHANGES_DIR); does nothing without one.
void record_api_exchange(const std::string& method, const std::string& target, int status,
                         const std::string& content_type, const std::string& body);

}  // namespace dispatcher::testing
