// Key names are built here and nowhere else, so the layout can be read (and changed) in
// one file; the Lua scripts build the same names from KEYS[1].
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::redis {

std::string bucket_name(std::int64_t ms) {
  static constexpr char hex[] = "0123456789abcdef";
  auto hour = static_cast<std::uint64_t>(ms < 0 ? 0 : ms / bucket_ms);
  std::string out(6, '0');
  for (int i = 5; i >= 0 && hour > 0; --i, hour >>= 4)
    out[static_cast<std::size_t>(i)] = hex[hour & 0xf];
  return out;
}

std::optional<std::string> layout_problem(const std::optional<std::string>& stored,
                                          bool legacy_keys) {
  const std::string needed(layout_version);
  if (legacy_keys && (!stored || *stored != needed)) {
    return "Redis holds data in layout 1 (keys such as endpoints:version without a {stream} "
           "prefix), written by an earlier dispatcher; this one reads layout " +
           needed + ". Start it on an empty Redis (or another DISPATCHER_REDIS_URL database)";
  }
  if (stored && *stored != needed) {
    return "Redis holds data in layout " + *stored + "; this dispatcher reads layout " + needed +
           ". Run the dispatcher version that wrote it, or start on an empty Redis";
  }
  return std::nullopt;
}

keyspace::keyspace(std::string_view stream) : stream_(stream), prefix_("{" + stream_ + "}:") {}

std::string keyspace::cat(std::string_view a, std::string_view b, std::string_view c) const {
  std::string out;
  out.reserve(prefix_.size() + a.size() + b.size() + c.size());
  out.append(prefix_).append(a).append(b).append(c);
  return out;
}

}  // namespace dispatcher::redis
