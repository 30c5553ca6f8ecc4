// Files compiled into the binary by cmake/embed_files.cmake: the OpenAPI document and the
// operator console's assets, so the service serves them with nothing beside its executable.
#pragma once

#include <span>
#include <string_view>

namespace dispatcher {

struct embedded_file {
  std::string_view name;  // its path under the embedded folder, e.g. "app.js"
  std::string_view bytes;
};

namespace embedded {

/// schemas/openapi.yaml (GET /openapi.yaml).
std::span<const embedded_file> openapi_files();
/// Every file of ui/ (GET /ui).
std::span<const embedded_file> console_files();

}  // namespace embedded
}  // namespace dispatcher
