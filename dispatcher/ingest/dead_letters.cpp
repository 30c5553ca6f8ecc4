// Reads and deletes of the dead-letter stream. Paging walks the stream itself with
// XREVRANGE from the cursor, exclusive, so a page costs what it returns and entries
// added or deleted meanwhile neither repeat nor shift the pages after them.
#include "dispatcher/ingest/dead_letters.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace dispatcher::ingest {

namespace asio = boost::asio;

asio::awaitable<dead_letter_store::page> dead_letter_store::async_list(const dead_letter_query& q) {
  // One more than asked tells whether another page follows.
  const std::string count = std::to_string(q.limit + 1);
  const std::string start = q.after ? "(" + *q.after : std::string("+");
  auto r =
      co_await conn_.async_exec(redis::command{"XREVRANGE", stream_, start, "-", "COUNT", count});
  page out;
  if ((out.ec = redis::error_of(r))) co_return out;
  out.items = to_dead_letters(r.value);
  if (out.items.size() > q.limit) {
    out.items.resize(q.limit);
    out.next = out.items.back().id;
  }
  co_return out;
}

asio::awaitable<dead_letter_store::lookup> dead_letter_store::async_get(const std::string& id) {
  auto r = co_await conn_.async_exec(redis::command{"XRANGE", stream_, id, id});
  lookup out;
  if ((out.ec = redis::error_of(r))) co_return out;
  auto found = to_dead_letters(r.value);
  if (!found.empty()) out.value = std::move(found.front());
  co_return out;
}

asio::awaitable<dead_letter_store::removal> dead_letter_store::async_remove(const std::string& id) {
  auto r = co_await conn_.async_exec(redis::command{"XDEL", stream_, id});
  removal out;
  if ((out.ec = redis::error_of(r))) co_return out;
  out.removed = r.value.as_integer().value_or(0) > 0;
  co_return out;
}

}  // namespace dispatcher::ingest
