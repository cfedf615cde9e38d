#include "harness/engine/concurrent.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "harness/engine/sync_actor.hpp"

namespace gearspec::engine {

std::vector<std::exception_ptr> run_concurrently(std::vector<std::function<void()>> calls,
                                                 std::chrono::milliseconds timeout) {
  // Shared with the threads, which may outlive this call when it times out.
  struct shared {
    std::mutex mutex;
    std::condition_variable finished;
    std::size_t remaining = 0;
    std::vector<std::exception_ptr> errors;
  };
  auto state = std::make_shared<shared>();
  state->remaining = calls.size();
  state->errors.resize(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    std::thread([state, i, call = std::move(calls[i])] {
      std::exception_ptr error;
      try {
        call();
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(state->mutex);
      state->errors[i] = error;
      if (--state->remaining == 0) state->finished.notify_all();
    }).detach();
  }
  std::unique_lock<std::mutex> lock(state->mutex);
  if (!state->finished.wait_for(lock, timeout, [&] { return state->remaining == 0; }))
    throw expect_error(
        std::to_string(state->remaining) + " of " + std::to_string(state->errors.size()) +
        " parallel calls did not finish within " + std::to_string(timeout.count()) + " ms");
  return state->errors;
}

}  // namespace gearspec::engine
