// An endpoint read back from its Redis hash. The JSON field holds the record; a few hash
// fields beside it change without rewriting the JSON (the completion script disables an
// endpoint on a 410), so they win over it. Pure, apart from the store, so a damaged hash
// is unit-tested as a value saying why, never an exception.
#pragma once

#include <map>
#include <string>
#include <variant>

#include "dispatcher/routing/endpoint.hpp"
#include "dispatcher/signing/secret_box.hpp"

namespace dispatcher::routing {

/// An endpoint from its Redis hash (HGETALL as field/value pairs), or a sentence saying why
/// the hash cannot be read. Never throws.
std::variant<endpoint, std::string> endpoint_from_hash(
    const std::map<std::string, std::string>& fields, const signing::secret_box* key);

}  // namespace dispatcher::routing
