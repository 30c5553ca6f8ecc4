// Decodes XINFO GROUPS; see group_backlog.hpp.
#include "dispatcher/delivery/group_backlog.hpp"

namespace dispatcher::delivery {

std::optional<group_backlog> find_group_backlog(const redis::reply& xinfo_groups,
                                                std::string_view group) {
  if (xinfo_groups.type != redis::reply::kind::array) return std::nullopt;
  for (const auto& row : xinfo_groups.elements) {
    if (row.type != redis::reply::kind::array || row.elements.size() % 2 != 0) continue;
    std::optional<std::string_view> name;
    group_backlog out;
    bool has_pending = false;
    for (std::size_t i = 0; i + 1 < row.elements.size(); i += 2) {
      const auto& key = row.elements[i].str;
      const auto& value = row.elements[i + 1];
      if (key == "name") {
        name = value.str;
      } else if (key == "pending") {
        const auto n = value.as_integer();
        if (!n) return std::nullopt;
        out.pending = *n;
        has_pending = true;
      } else if (key == "lag" && !value.is_nil()) {
        out.lag = value.as_integer();
      }
    }
    if (name == group) return has_pending ? std::optional(out) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace dispatcher::delivery
