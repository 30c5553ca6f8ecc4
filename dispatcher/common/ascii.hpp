// ASCII case folding for protocol text: URL schemes and hosts, header names, setting values,
// the Bearer scheme. Unlike std::tolower it ignores the locale, and it leaves every byte
// outside A-Z alone, so UTF-8 text passes through unchanged.
#pragma once

#include <string>
#include <string_view>

namespace dispatcher {

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

/// Equal but for the case of A-Z.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace dispatcher
