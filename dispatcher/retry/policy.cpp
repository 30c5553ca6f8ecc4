// The retry decision (CONTRACT section 3). Every branch ends in a finite delay or a final
// state, whatever the receiver answers, so a misbehaving endpoint can never park a delivery
// forever or make it spin.
#include "dispatcher/retry/policy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "dispatcher/common/time.hpp"

namespace dispatcher::retry {

namespace {

// Retry-After can ask for anything; a day is longer than the whole default schedule's
// longest step and still short enough that the delivery is not forgotten.
constexpr std::chrono::milliseconds max_retry_after = std::chrono::hours(24);

// 12 digits is over 30000 years: anything longer is clamped rather than overflowed.
constexpr std::size_t max_seconds_digits = 12;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// IMF-fixdate (RFC 9110 section 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". The obsolete
// RFC 850 and asctime forms are not accepted; no current server sends them in Retry-After.
std::optional<std::int64_t> parse_imf_fixdate(std::string_view text) {
  static constexpr std::array<std::string_view, 7> days{"Mon", "Tue", "Wed", "Thu",
                                                        "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> months{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // "Wed, 21 Oct 2015 07:28:00 GMT" is exactly 29 characters.
  if (text.size() != 29) return std::nullopt;
  if (std::find(days.begin(), days.end(), text.substr(0, 3)) == days.end()) return std::nullopt;
  if (text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
      text.substr(25) != " GMT") {
    return std::nullopt;
  }
  const auto month = std::find(months.begin(), months.end(), text.substr(8, 3));
  if (month == months.end()) return std::nullopt;
  const std::string_view day = text.substr(5, 2);
  const std::string_view year = text.substr(12, 4);
  const std::string_view clock = text.substr(17, 8);
  if (!all_digits(day) || !all_digits(year)) return std::nullopt;

  // Reuse the RFC 3339 parser for the calendar checks and arithmetic.
  char iso[32];
  const int month_number = static_cast<int>(month - months.begin()) + 1;
  std::snprintf(iso, sizeof iso, "%.4s-%02d-%.2sT%.8sZ", year.data(), month_number, day.data(),
                clock.data());
  const auto ms = parse_time(iso);
  if (!ms) return std::nullopt;
  return *ms / 1000;
}

}  // namespace

action decide(const attempt_outcome& outcome, int attempt,
              const std::vector<std::chrono::milliseconds>& schedule, double jitter_draw) {
  if (outcome.status_code && *outcome.status_code >= 200 && *outcome.status_code <= 299) {
    return {action_kind::succeeded, {}};
  }
  // Standard Webhooks: 410 means the receiver wants no more webhooks at this URL.
  if (outcome.status_code == 410) return {action_kind::disable_endpoint, {}};

  if (outcome.manual) return {action_kind::failed, {}};
  const int made = std::max(attempt, 1);
  if (static_cast<std::size_t>(made) >= schedule.size() + 1) return {action_kind::failed, {}};

  // A draw outside [-1, 1] (or NaN) would stretch the jitter past ±20% or poison the delay.
  const double draw = std::isfinite(jitter_draw) ? std::clamp(jitter_draw, -1.0, 1.0) : 0.0;
  const auto base = schedule[static_cast<std::size_t>(made - 1)];
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(
      std::llround(static_cast<double>(base.count()) * (1 + 0.2 * draw))));

  const bool honours_retry_after = outcome.status_code == 429 || outcome.status_code == 503;
  if (honours_retry_after && outcome.retry_after) {
    const auto asked =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min<std::chrono::seconds>(
            *outcome.retry_after,
            std::chrono::duration_cast<std::chrono::seconds>(max_retry_after)));
    if (asked > delay) delay = asked;
  }
  return {action_kind::retry, delay};
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::int64_t now_unix) {
  value = trim(value);
  if (all_digits(value)) {
    if (value.size() > max_seconds_digits) {
      return std::chrono::seconds(std::int64_t{999'999'999'999});
    }
    std::int64_t seconds = 0;
    for (const char c : value) seconds = seconds * 10 + (c - '0');
    return std::chrono::seconds(seconds);
  }
  const auto at = parse_imf_fixdate(value);
  if (!at) return std::nullopt;
  return std::chrono::seconds(std::max<std::int64_t>(*at - now_unix, 0));
}

}  // namespace dispatcher::retry
