// Bulk replay walks the chosen index page by page and requeues in short script calls, so
// a replay of many deliveries never blocks Redis for long.
#include "dispatcher/replay/requeuer.hpp"

#include <algorithm>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/redis/eval.hpp"
#include "dispatcher/redis/script_io.hpp"

namespace dispatcher::replay {

namespace asio = boost::asio;

namespace {

// Ids per requeue script: the script blocks Redis while it runs, so keep each one short.
constexpr std::size_t page_size = 500;

}  // namespace

requeuer::requeuer(redis::connection& conn, history::store& history,
                   const config::settings& settings, std::function<void()> queued)
    : conn_(conn), history_(history), settings_(settings), queued_(std::move(queued)) {}

asio::awaitable<requeuer::outcomes> requeuer::async_requeue(
    std::vector<std::string> ids, bool paced, std::vector<history::delivery_status> statuses) {
  redis::requeue_request request{settings_.stream,
                                 unix_now_ms(),
                                 settings_.endpoint_concurrency,
                                 paced ? 1000.0 / static_cast<double>(settings_.replay_rate) : 0.0,
                                 std::move(statuses),
                                 std::move(ids)};
  auto r = co_await redis::async_eval(conn_, redis::requeue_deliveries, redis::encode(request));
  if (auto ec = redis::error_of(r)) co_return outcomes{ec, {}};
  auto per_id = redis::decode_requeue(std::move(r.value));
  if (!per_id || per_id->size() != request.delivery_ids.size()) {
    co_return outcomes{make_error_code(errc::redis_error_reply), {}};
  }
  queued_();
  co_return outcomes{{}, std::move(*per_id)};
}

asio::awaitable<single_outcome> requeuer::async_requeue_one(const std::string& delivery_id) {
  // Named, not braced temporaries: GCC 12 cannot keep an initializer_list's array alive
  // across co_await ("array used as initializer").
  std::vector<std::string> ids(1, delivery_id);
  std::vector<history::delivery_status> statuses{history::delivery_status::failed,
                                                 history::delivery_status::succeeded};
  auto r = co_await async_requeue(std::move(ids), false, std::move(statuses));
  if (r.ec) co_return single_outcome{r.ec, {}};
  co_return single_outcome{{}, std::move(r.per_id.front())};
}

asio::awaitable<bulk_outcome> requeuer::async_requeue_matching(history::delivery_filter filter,
                                                               bool dry_run) {
  bulk_outcome out;
  const auto status = filter.status.value_or(history::delivery_status::failed);
  filter.after.reset();
  for (;;) {
    auto page = co_await history_.async_match_ids(filter, page_size);
    if ((out.ec = page.ec)) co_return out;
    out.matched += page.ids.size();
    if (!dry_run && !page.ids.empty()) {
      std::vector<history::delivery_status> statuses(1, status);
      auto r = co_await async_requeue(std::move(page.ids), true, std::move(statuses));
      if ((out.ec = r.ec)) co_return out;
      out.queued +=
          static_cast<std::size_t>(std::count(r.per_id.begin(), r.per_id.end(), "queued"));
    }
    if (!page.next) break;
    filter.after = page.next;
  }
  obs::log_info(dry_run ? "replay dry run" : "replay queued",
                {{"matched", std::to_string(out.matched)}, {"queued", std::to_string(out.queued)}});
  co_return out;
}

}  // namespace dispatcher::replay
