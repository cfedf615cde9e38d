#pragma once
// Blocking calls run side by side (scripts' `parallel`): each on a thread of its own, the join
// bounded like every other wait of the engine.

#include <chrono>
#include <exception>
#include <functional>
#include <vector>

namespace gearspec::engine {

/** Runs each call on its own thread and waits at most `timeout` for all of them. Returns the
    exception each call threw (null where none), in order. Throws expect_error if a call is still
    running at the timeout; that call is left to finish on its own. */
std::vector<std::exception_ptr> run_concurrently(std::vector<std::function<void()>> calls,
                                                 std::chrono::milliseconds timeout);

}  // namespace gearspec::engine
