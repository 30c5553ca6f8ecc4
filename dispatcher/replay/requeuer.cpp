#include "dispatcher/replay/requeuer.hpp"

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/redis/eval.hpp"

namespace dispatcher::replay {

namespace asio = boost::asio;

namespace {

// Ids per requeue script: the script blocks Redis while it runs, so keep each one short.
constexpr std::size_t page_size = 500;

}  // namespace

requeuer::requeuer(redis::connection& conn, history::store& history,
                   const config::settings& settings, std::function<void()> queued)
    : conn_(conn), history_(history), settings_(settings), queued_(std::move(queued)) {}

asio::awaitable<redis::result> requeuer::async_requeue(const std::vector<std::string>& ids,
                                                       bool paced, const std::string& statuses) {
  const double pace_ms = paced ? 1000.0 / static_cast<double>(settings_.replay_rate) : 0.0;
  std::vector<std::string> args{
      std::to_string(unix_now_ms()), std::to_string(settings_.retention.count()),
      std::to_string(settings_.endpoint_concurrency), std::to_string(pace_ms), statuses};
  args.insert(args.end(), ids.begin(), ids.end());
  auto r = co_await redis::async_eval(conn_, redis::requeue_deliveries, std::move(args));
  if (r.ok()) queued_();
  co_return r;
}

asio::awaitable<single_outcome> requeuer::async_requeue_one(const std::string& delivery_id) {
  std::vector<std::string> ids{delivery_id};
  auto r = co_await async_requeue(ids, false, "failed,succeeded");
  if (auto ec = redis::error_of(r)) co_return single_outcome{ec, {}};
  if (r.value.elements.size() != 1) {
    co_return single_outcome{make_error_code(errc::redis_error_reply), {}};
  }
  co_return single_outcome{{}, r.value.elements[0].str};
}

asio::awaitable<bulk_outcome> requeuer::async_requeue_matching(history::delivery_filter filter,
                                                               bool dry_run) {
  bulk_outcome out;
  const std::string statuses = filter.status.value_or("failed");
  filter.after.reset();
  for (;;) {
    auto page = co_await history_.async_match_ids(filter, page_size);
    if ((out.ec = page.ec)) co_return out;
    out.matched += page.ids.size();
    if (!dry_run && !page.ids.empty()) {
      auto r = co_await async_requeue(page.ids, true, statuses);
      if ((out.ec = redis::error_of(r))) co_return out;
      for (const auto& outcome : r.value.elements) {
        if (outcome.str == "queued") ++out.queued;
      }
    }
    if (!page.next) break;
    filter.after = page.next;
  }
  obs::log_info(dry_run ? "replay dry run" : "replay queued",
                {{"matched", std::to_string(out.matched)}, {"queued", std::to_string(out.queued)}});
  co_return out;
}

}  // namespace dispatcher::replay
