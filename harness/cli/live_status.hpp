#pragma once
// Live progress on a terminal: one status line under the finished scenarios' lines, rewritten in
// place (done/total, elapsed, which scenarios are running), so a scenario that waits on purpose
// does not look like a stall. When stdout is not a terminal it prints nothing.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace gearspec::cli {

class live_status {
 public:
  live_status(bool enabled, std::size_t total);
  ~live_status();
  live_status(const live_status&) = delete;
  live_status& operator=(const live_status&) = delete;

  void started(const std::string& id);
  /// Clears the status line, lets print write the finished scenario's line, draws it again.
  template <typename Print>
  void finished(const std::string& id, Print&& print) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto it = running_.find(id); it != running_.end()) running_.erase(it);
    ++done_;
    clear();
    print();
    draw();
  }
  /// Removes the status line for good (before the summary).
  void stop();

 private:
  void clear();
  void draw();

  const bool enabled_;
  const std::size_t total_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::multiset<std::string> running_;
  std::size_t done_ = 0;
  bool shown_ = false;
  bool stopping_ = false;
  std::thread ticker_;  ///< redraws the elapsed time while nothing finishes
};

}  // namespace gearspec::cli
