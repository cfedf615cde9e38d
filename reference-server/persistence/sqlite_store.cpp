#include "reference-server/persistence/sqlite_store.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

namespace gearspec::refsrv {

namespace {

// Format version in PRAGMA user_version; a database with another version is refused rather than
// guessed at.
constexpr int kFormatVersion = 1;

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS gearspec_queue ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"  // insertion order = queue order on reload
    " handle BLOB NOT NULL UNIQUE,"
    " function BLOB NOT NULL,"
    " unique_key BLOB NOT NULL,"
    " data BLOB NOT NULL,"
    " priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),"
    " epoch INTEGER NOT NULL,"
    " reducer BLOB,"  // NULL unless SUBMIT_REDUCE_JOB_BACKGROUND
    " aggregator BLOB)";

std::string column_bytes(sqlite3_stmt* stmt, int column) {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  return bytes ? std::string(bytes, static_cast<std::size_t>(size)) : std::string();
}

void bind_bytes(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // SQLITE_TRANSIENT: SQLite copies, so the caller's strings may go away before the step.
  sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
}

}  // namespace

std::string sqlite_path_from_spec(const std::string& spec) {
  constexpr std::string_view scheme = "sqlite:";
  if (spec.substr(0, scheme.size()) != scheme || spec.size() == scheme.size())
    throw std::invalid_argument("queue '" + spec + "': expected sqlite:PATH");
  return spec.substr(scheme.size());
}

sqlite_store::sqlite_store(std::string path, store_sync sync) : path_(std::move(path)) {
  // A constructor that throws runs no destructor: release the handle here (SQLite returns one even
  // when opening fails).
  try {
    open(sync);
  } catch (...) {
    sqlite3_finalize(insert_);
    sqlite3_finalize(delete_);
    sqlite3_close(db_);
    throw;
  }
}

void sqlite_store::open(store_sync sync) {
  if (sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    fail("cannot open");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 2000);  // another process holding the file: wait a little, then fail
  // quick_check reads every page: a truncated or damaged file is refused here, not lost later.
  sqlite3_stmt* check = prepare("PRAGMA quick_check");
  std::string verdict;
  int rc = sqlite3_step(check);
  if (rc == SQLITE_ROW) verdict = column_bytes(check, 0);
  sqlite3_finalize(check);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail("cannot read");
  if (verdict != "ok") throw store_error("queue database " + path_ + " is corrupt: " + verdict);

  sqlite3_stmt* version = prepare("PRAGMA user_version");
  int found_version = 0;
  if (sqlite3_step(version) == SQLITE_ROW) found_version = sqlite3_column_int(version, 0);
  sqlite3_finalize(version);
  sqlite3_stmt* tables =
      prepare("SELECT count(*) FROM sqlite_master WHERE name = 'gearspec_queue'");
  int has_table = 0;
  if (sqlite3_step(tables) == SQLITE_ROW) has_table = sqlite3_column_int(tables, 0);
  sqlite3_finalize(tables);
  if (has_table && found_version != kFormatVersion)
    throw store_error("queue database " + path_ + " has format version " +
                      std::to_string(found_version) + "; this server reads version " +
                      std::to_string(kFormatVersion));

  exec("PRAGMA journal_mode = WAL");
  exec(sync == store_sync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  if (!has_table) {
    exec(kCreateTable);
    exec(("PRAGMA user_version = " + std::to_string(kFormatVersion)).c_str());
  }
  insert_ = prepare(
      "INSERT INTO gearspec_queue (handle, function, unique_key, data, priority, epoch, reducer, "
      "aggregator)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  delete_ = prepare("DELETE FROM gearspec_queue WHERE handle = ?");
}

sqlite_store::~sqlite_store() {
  // An open transaction is committed: what the server did before a clean stop is kept.
  if (in_transaction_ && db_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_finalize(insert_);
  sqlite3_finalize(delete_);
  sqlite3_close(db_);
}

void sqlite_store::fail(const std::string& doing) {
  std::string message = "queue database " + path_ + ": " + doing;
  if (db_) message += ": " + std::string(sqlite3_errmsg(db_));
  throw store_error(message);
}

void sqlite_store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string what = error ? error : "unknown error";
    sqlite3_free(error);
    throw store_error("queue database " + path_ + ": " + what + " (in: " + sql + ")");
  }
}

sqlite3_stmt* sqlite_store::prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) fail("cannot read");
  return stmt;
}

void sqlite_store::begin_if_needed() {
  if (in_transaction_) return;
  exec("BEGIN IMMEDIATE");
  in_transaction_ = true;
}

std::vector<stored_job> sqlite_store::load() {
  sqlite3_stmt* rows = prepare(
      "SELECT handle, function, unique_key, data, priority, epoch, reducer, aggregator"
      " FROM gearspec_queue ORDER BY seq");
  std::vector<stored_job> jobs;
  int rc;
  while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
    stored_job j;
    j.handle = column_bytes(rows, 0);
    j.function = column_bytes(rows, 1);
    j.unique = column_bytes(rows, 2);
    j.data = column_bytes(rows, 3);
    j.prio = static_cast<priority>(sqlite3_column_int(rows, 4));
    j.epoch = sqlite3_column_int64(rows, 5);
    j.has_reducer = sqlite3_column_type(rows, 6) != SQLITE_NULL;
    j.reducer = column_bytes(rows, 6);
    j.aggregator = column_bytes(rows, 7);
    jobs.push_back(std::move(j));
  }
  sqlite3_finalize(rows);
  if (rc != SQLITE_DONE) fail("cannot read the queue");
  return jobs;
}

void sqlite_store::abandon() {
  if (in_transaction_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  in_transaction_ = false;
  abandoned_ = true;
}

bool sqlite_store::add(const stored_job& job) {
  if (abandoned_) return true;  // the server is going down as if killed: pretend, write nothing
  try {
    begin_if_needed();
  } catch (const store_error&) {
    return false;
  }
  bind_bytes(insert_, 1, job.handle);
  bind_bytes(insert_, 2, job.function);
  bind_bytes(insert_, 3, job.unique);
  bind_bytes(insert_, 4, job.data);
  sqlite3_bind_int(insert_, 5, static_cast<int>(job.prio));
  sqlite3_bind_int64(insert_, 6, job.epoch);
  if (job.has_reducer) {
    bind_bytes(insert_, 7, job.reducer);
    bind_bytes(insert_, 8, job.aggregator);
  } else {
    sqlite3_bind_null(insert_, 7);
    sqlite3_bind_null(insert_, 8);
  }
  const int rc = sqlite3_step(insert_);
  sqlite3_reset(insert_);
  sqlite3_clear_bindings(insert_);
  return rc == SQLITE_DONE;
}

void sqlite_store::remove(std::string_view handle) {
  if (abandoned_) return;
  // Called from inside the core: a failure is kept for commit() to report rather than thrown
  // through the core's handlers.
  try {
    begin_if_needed();
  } catch (const store_error& e) {
    if (deferred_error_.empty()) deferred_error_ = e.what();
    return;
  }
  bind_bytes(delete_, 1, handle);
  const int rc = sqlite3_step(delete_);
  sqlite3_reset(delete_);
  sqlite3_clear_bindings(delete_);
  if (rc != SQLITE_DONE && deferred_error_.empty())
    deferred_error_ =
        "queue database " + path_ + ": cannot remove a finished job: " + sqlite3_errmsg(db_);
}

void sqlite_store::commit() {
  if (abandoned_) return;
  if (!deferred_error_.empty()) throw store_error(std::exchange(deferred_error_, {}));
  if (!in_transaction_) return;
  in_transaction_ = false;
  exec("COMMIT");
}

std::size_t sqlite_store::size() {
  sqlite3_stmt* count = prepare("SELECT count(*) FROM gearspec_queue");
  std::size_t n = 0;
  if (sqlite3_step(count) == SQLITE_ROW)
    n = static_cast<std::size_t>(sqlite3_column_int64(count, 0));
  sqlite3_finalize(count);
  return n;
}

}  // namespace gearspec::refsrv
