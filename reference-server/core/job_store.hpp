#pragma once
// The core's view of a persistent queue (issue #8): background jobs are handed to a job_store
// when they are created and taken back when they end. The store is I/O; the core only calls it.
// Durability is the I/O layer's business: it commits the store after each event and before it
// writes that event's replies, so JOB_CREATED never leaves before its job is stored.

#include <cstdint>
#include <string>
#include <string_view>

namespace gearspec::refsrv {

/// Job priority; the numeric order is the assignment order.
enum class priority : std::uint8_t { high = 0, normal = 1, low = 2 };

/// A background job as a persistent queue keeps it.
struct stored_job {
  std::string handle;
  std::string function;
  std::string unique;  ///< as submitted ("-" kept: the key is then the data)
  std::string data;
  priority prio = priority::normal;
  /// SUBMIT_JOB_EPOCH's run time in Unix seconds; 0 = runnable at once.
  std::int64_t epoch = 0;
  bool has_reducer = false;  ///< SUBMIT_REDUCE_JOB_BACKGROUND
  std::string reducer;
  std::string aggregator;
};

class job_store {
 public:
  virtual ~job_store() = default;
  /// Records a job. False if it could not be recorded: the submit is then refused.
  virtual bool add(const stored_job& job) = 0;
  /// Forgets a job (it completed, failed, or was cancelled or dropped).
  virtual void remove(std::string_view handle) = 0;
};

}  // namespace gearspec::refsrv
