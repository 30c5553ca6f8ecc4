// Walks back from the cut over continuation bytes only: a valid prefix needs nothing more,
// and bytes that were never UTF-8 are left alone rather than rejected (receivers send anything).
#include "dispatcher/common/utf8.hpp"

namespace dispatcher {

std::size_t utf8_prefix_length(std::string_view text) {
  std::size_t end = text.size();
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  std::size_t lead = end;
  while (lead > 0 && end - lead < 4 &&
         (static_cast<unsigned char>(text[lead - 1]) & 0xC0) == 0x80) {
    --lead;
  }
  if (lead == 0) return end;  // only continuation bytes: not UTF-8, leave the bytes
  const auto byte = static_cast<unsigned char>(text[lead - 1]);
  std::size_t needed = 1;
  if ((byte & 0xE0) == 0xC0) {
    needed = 2;
  } else if ((byte & 0xF0) == 0xE0) {
    needed = 3;
  } else if ((byte & 0xF8) == 0xF0) {
    needed = 4;
  }
  const std::size_t have = end - lead + 1;
  return have < needed ? lead - 1 : end;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  const auto cut = text.substr(0, max_bytes);
  return cut.substr(0, utf8_prefix_length(cut));
}

}  // namespace dispatcher
