#pragma once
// The reference server's persistent queue: background jobs in one SQLite table.
// Writes collect in a transaction that commit() ends; the server commits after every event,
// before that event's replies are written, so a JOB_CREATED the client saw is on disk.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference-server/core/job_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gearspec::refsrv {

/// The database cannot be used: unreadable, not a database, corrupt, or of another format.
/// The message names the file and says what is wrong.
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How hard a commit waits for the disk (SQLite's PRAGMA synchronous, in WAL mode).
enum class store_sync {
  normal,  ///< survives a crash of the server process; a power loss may undo the last commits
  full,    ///< survives a power loss too (an fsync per commit)
};

class sqlite_store final : public job_store {
 public:
  /// Opens (creating if needed) the queue database and checks it. Throws store_error.
  sqlite_store(std::string path, store_sync sync = store_sync::full);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  /// Every stored job, oldest first. Throws store_error if a row cannot be read.
  std::vector<stored_job> load();
  bool add(const stored_job& job) override;
  void remove(std::string_view handle) override;
  /// Makes every add/remove since the last commit durable. Throws store_error.
  void commit();
  /// From now on nothing is written: the open transaction is rolled back, later adds and removes
  /// are ignored. For a server that is stopping (its own teardown must not change the queue) or
  /// crashes on purpose (fault injection).
  void abandon();
  /// Jobs stored, for tests and logs.
  std::size_t size();
  const std::string& path() const noexcept { return path_; }

 private:
  void open(store_sync sync);
  void exec(const char* sql);
  void begin_if_needed();
  sqlite3_stmt* prepare(const char* sql);
  [[noreturn]] void fail(const std::string& doing);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  bool in_transaction_ = false;
  bool abandoned_ = false;
  std::string deferred_error_;  ///< a failed remove(), reported by the next commit()
};

/// Parses a --queue specification ("sqlite:PATH"); throws std::invalid_argument otherwise.
std::string sqlite_path_from_spec(const std::string& spec);

}  // namespace gearspec::refsrv
