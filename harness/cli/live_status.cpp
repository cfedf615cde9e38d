#include "harness/cli/live_status.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace gearspec::cli {

live_status::live_status(bool enabled, std::size_t total) : enabled_(enabled), total_(total) {
  if (!enabled_) return;
  ticker_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(250));
      if (!stopping_) draw();
    }
  });
}

live_status::~live_status() {
  stop();
}

void live_status::started(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_.insert(id);
  draw();
}

void live_status::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    clear();
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void live_status::clear() {
  if (!enabled_ || !shown_) return;
  std::cout << "\r\033[K" << std::flush;
  shown_ = false;
}

void live_status::draw() {
  if (!enabled_ || stopping_) return;
  winsize size{};
  const std::size_t width =
      ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20 ? size.ws_col : 100;
  char head[64];
  std::snprintf(head, sizeof head, "[%zu/%zu] %.1f s", done_, total_,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  std::string line = head;
  if (!running_.empty()) {
    line += "  running:";
    std::size_t listed = 0;
    for (const auto& id : running_) {
      const std::string more = " (+" + std::to_string(running_.size() - listed) + ")";
      if (line.size() + 1 + id.size() + more.size() >= width) {
        line += more;
        break;
      }
      line += ' ';
      line += id;
      ++listed;
    }
  }
  if (line.size() >= width) line.resize(width - 1);
  std::cout << "\r\033[K" << line << std::flush;
  shown_ = true;
}

}  // namespace gearspec::cli
