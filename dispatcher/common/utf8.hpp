// Cutting text to a byte budget without splitting a UTF-8 character: response excerpts in
// the attempt history and payload excerpts of dead letters are both stored as JSON or
// shown through it, and a cut multi-byte sequence would make that JSON invalid.
#pragma once

#include <cstddef>
#include <string_view>

namespace dispatcher {

/// Length of the longest prefix of `text` that ends on a UTF-8 character boundary (the
/// whole text unless it ends inside a multi-byte sequence). Bytes that are not UTF-8 at
/// all are left as they are.
std::size_t utf8_prefix_length(std::string_view text);

/// The first `max_bytes` of `text` or fewer, ending on a character boundary.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace dispatcher
