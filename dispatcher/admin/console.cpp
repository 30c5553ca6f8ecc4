// Serves the embedded console files. The headers are the page's security boundary: the
// Content-Security-Policy allows scripts, styles, images and fetches from this origin
// only (no inline script or style, no framing, no form posts elsewhere), so a value that
// an event or a receiver put in a delivery cannot run as script even if the page
// mishandled it, and the page cannot leak data (or the token) to another host.
#include "dispatcher/admin/console.hpp"

#include <algorithm>

#include "dispatcher/common/embedded_file.hpp"

namespace dispatcher::admin {
namespace {

constexpr std::string_view content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

response with_headers(response r) {
  r.headers.emplace_back("Content-Security-Policy", content_security_policy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  // A new binary brings a new page; revalidating costs little on an operator console.
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

response plain(int status, std::string_view text) {
  response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = text;
  return with_headers(std::move(r));
}

}  // namespace

std::string_view console_content_type(std::string_view name) {
  const auto ends_with = [&](std::string_view ext) { return name.ends_with(ext); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

std::optional<response> console_response(const request& req) {
  std::string_view path = req.path;
  if (path != "/ui" && !path.starts_with("/ui/")) return std::nullopt;
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = plain(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  std::string_view name = path == "/ui" || path == "/ui/" ? "index.html" : path.substr(4);
  const auto files = embedded::console_files();
  const auto it = std::find_if(files.begin(), files.end(),
                               [&](const embedded_file& f) { return f.name == name; });
  if (it == files.end()) return plain(404, "no such file in the console\n");
  response r;
  r.content_type = console_content_type(name);
  r.body = it->bytes;
  return with_headers(std::move(r));
}

}  // namespace dispatcher::admin
