// The SQLite persistent queue: what is committed survives reopening, in order and byte for byte;
// what is not committed does not; files that cannot be trusted are refused with a clear error.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "reference-server/persistence/sqlite_store.hpp"

namespace gearspec::refsrv {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreTest() {
    dir_ = fs::temp_directory_path() /
           ("gearspec-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "queue.db").string();
  }
  ~SqliteStoreTest() override { fs::remove_all(dir_); }

  static stored_job job(std::string handle, std::string data) {
    stored_job j;
    j.handle = std::move(handle);
    j.function = "f";
    j.data = std::move(data);
    return j;
  }
  static std::vector<std::string> handles(const std::vector<stored_job>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs) out.push_back(j.handle);
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, CommittedJobsSurviveReopeningInOrderWithEveryField) {
  {
    sqlite_store store(path_);
    stored_job a = job("H:x:1", std::string("bin\0ary\xff", 8));
    a.function = std::string("fn\0x", 4);
    a.unique = "key";
    a.prio = priority::high;
    a.epoch = 1800000000;
    stored_job b = job("H:x:2", "");
    b.prio = priority::low;
    b.has_reducer = true;
    b.reducer = "red";
    b.aggregator = "";
    ASSERT_TRUE(store.add(a));
    ASSERT_TRUE(store.add(b));
    ASSERT_TRUE(store.add(job("H:x:3", "c")));
    store.commit();
  }
  sqlite_store reopened(path_);
  const auto jobs = reopened.load();
  ASSERT_EQ((std::vector<std::string>{"H:x:1", "H:x:2", "H:x:3"}), handles(jobs));
  EXPECT_EQ(std::string("fn\0x", 4), jobs[0].function);
  EXPECT_EQ(std::string("bin\0ary\xff", 8), jobs[0].data);
  EXPECT_EQ("key", jobs[0].unique);
  EXPECT_EQ(priority::high, jobs[0].prio);
  EXPECT_EQ(1800000000, jobs[0].epoch);
  EXPECT_FALSE(jobs[0].has_reducer);
  EXPECT_EQ(priority::low, jobs[1].prio);
  EXPECT_TRUE(jobs[1].has_reducer);
  EXPECT_EQ("red", jobs[1].reducer);
  EXPECT_EQ("", jobs[1].data);
}

TEST_F(SqliteStoreTest, RemovedJobsAreGone) {
  {
    sqlite_store store(path_);
    store.add(job("H:x:1", "a"));
    store.add(job("H:x:2", "b"));
    store.commit();
    store.remove("H:x:1");
    store.commit();
    EXPECT_EQ(1u, store.size());
  }
  EXPECT_EQ(std::vector<std::string>{"H:x:2"}, handles(sqlite_store(path_).load()));
}

TEST_F(SqliteStoreTest, AbandonedWritesAreNotKept) {
  {
    sqlite_store store(path_);
    store.add(job("H:x:1", "kept"));
    store.commit();
    store.add(job("H:x:2", "lost"));  // not committed when the "crash" comes
    store.abandon();
    store.remove("H:x:1");  // ignored from now on
    store.commit();
  }
  EXPECT_EQ(std::vector<std::string>{"H:x:1"}, handles(sqlite_store(path_).load()));
}

TEST_F(SqliteStoreTest, ADuplicateHandleIsRefusedNotOverwritten) {
  sqlite_store store(path_);
  EXPECT_TRUE(store.add(job("H:x:1", "first")));
  EXPECT_FALSE(store.add(job("H:x:1", "second")));
  store.commit();
  const auto jobs = store.load();
  ASSERT_EQ(1u, jobs.size());
  EXPECT_EQ("first", jobs[0].data);
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsRefused) {
  std::ofstream(path_) << "this is not an SQLite database, just some text that is long enough\n";
  try {
    sqlite_store store(path_);
    FAIL() << "opened a text file as a queue";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, ADamagedDatabaseIsRefused) {
  {
    sqlite_store store(path_);
    for (int i = 0; i < 200; ++i) store.add(job("H:x:" + std::to_string(i), std::string(500, 'd')));
    store.commit();
  }
  // Checkpointed into the main file on close; now overwrite the middle of it with garbage.
  const auto size = fs::file_size(path_);
  ASSERT_GT(size, 3 * 4096u);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(2 * 4096));
    const std::string garbage(2 * 4096, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  EXPECT_THROW(sqlite_store{path_}, store_error);
}

TEST_F(SqliteStoreTest, ADatabaseOfAnotherFormatVersionIsRefused) {
  {
    sqlite_store store(path_);
    store.add(job("H:x:1", "a"));
    store.commit();
  }
  // Mark it as written by a later format, as a newer server would.
  sqlite3* db = nullptr;
  ASSERT_EQ(SQLITE_OK, sqlite3_open(path_.c_str(), &db));
  ASSERT_EQ(SQLITE_OK, sqlite3_exec(db, "PRAGMA user_version = 2", nullptr, nullptr, nullptr));
  sqlite3_close(db);
  try {
    sqlite_store store(path_);
    FAIL() << "opened a queue of another format";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("format version 2"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, AnUnopenablePathIsRefused) {
  EXPECT_THROW(sqlite_store{(dir_ / "missing" / "dir" / "q.db").string()}, store_error);
}

TEST(SqliteSpec, ParsesOnlySqlitePaths) {
  EXPECT_EQ("/tmp/q.db", sqlite_path_from_spec("sqlite:/tmp/q.db"));
  EXPECT_THROW(sqlite_path_from_spec("sqlite:"), std::invalid_argument);
  EXPECT_THROW(sqlite_path_from_spec("mysql:db"), std::invalid_argument);
  EXPECT_THROW(sqlite_path_from_spec("/tmp/q.db"), std::invalid_argument);
}

}  // namespace
}  // namespace gearspec::refsrv
