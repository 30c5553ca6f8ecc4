// The replay's progress line; see progress.hpp.
#include "dispatcher/app/progress.hpp"

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

namespace dispatcher::app {

bool replay_shows_progress(bool stderr_is_terminal, bool dry_run, bool single_delivery) {
  return stderr_is_terminal && !dry_run && !single_delivery;
}

std::string group_thousands(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string progress_line(std::optional<long long> matched, std::chrono::seconds elapsed) {
  std::string line = "\r\x1b[Kreplay: ";
  const std::string seconds = " " + std::to_string(elapsed.count()) + "s";
  if (!matched) return line + "counting matches..." + seconds;
  return line + group_thousands(*matched) + " matched, queueing..." + seconds;
}

void run_with_progress(bool show, const std::function<void()>& work,
                       const std::function<std::string(std::chrono::seconds)>& line) {
  if (!show) {
    work();
    return;
  }
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread worker([&] {
    work();
    const std::lock_guard lock(mutex);
    done = true;
    cv.notify_one();
  });
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex);
  while (!done) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
    std::cerr << line(elapsed) << std::flush;
    cv.wait_for(lock, std::chrono::seconds(1), [&] { return done; });
  }
  lock.unlock();
  worker.join();
}

}  // namespace dispatcher::app
