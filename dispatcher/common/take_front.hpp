// The oldest part of a queue kept in a vector, moved out in order: the recording writer's
// next batch (delivery/slots.hpp: record_outbox) and the reader's next ingest from what it
// read ahead (ingest/stream_reader.cpp).
#pragma once

#include <cstddef>
#include <iterator>
#include <vector>

namespace dispatcher {

/// The first `n` elements of `from`, moved out and erased from it; all of them, by a swap
/// that moves nothing, when it holds no more than `n`.
template <class T>
std::vector<T> take_front(std::vector<T>& from, std::size_t n) {
  std::vector<T> taken;
  if (from.size() <= n) {
    taken.swap(from);
  } else {
    const auto end = from.begin() + static_cast<std::ptrdiff_t>(n);
    taken.assign(std::make_move_iterator(from.begin()), std::make_move_iterator(end));
    from.erase(from.begin(), end);
  }
  return taken;
}

}  // namespace dispatcher
