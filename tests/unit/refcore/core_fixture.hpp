#pragma once
// Drives the job core with no sockets: connections are numbers, output is recorded per connection
// and decoded back into packets (nghttp2-style "bytes in, bytes out" testing).

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "harness/wire/decoder.hpp"
#include "harness/wire/encoder.hpp"
#include "harness/wire/printer.hpp"
#include "reference-server/core/job_server.hpp"

namespace gearspec::refsrv::test {

using wire::command;
using wire::packet;

/// Records everything the core writes.
class recording_sink : public output_sink {
 public:
  void write(conn_id conn, std::string_view bytes) override { output[conn].append(bytes); }
  void close_after_flush(conn_id conn) override { closed.push_back(conn); }
  void shutdown_requested(bool graceful) override { shutdowns.push_back(graceful); }

  std::map<conn_id, std::string> output;
  std::vector<conn_id> closed;
  std::vector<bool> shutdowns;
};

class CoreTest : public ::testing::Test {
 protected:
  CoreTest() { reset({}); }

  /// Rebuilds the core with other options (drops every connection and job).
  void reset(core_options options);

  /// Opens connection id (peer 127.0.0.1).
  void connect(conn_id id);
  void disconnect(conn_id id);
  /// Sends one request packet.
  void send(conn_id id, command cmd, std::initializer_list<std::string_view> args);
  /// Feeds raw bytes; returns the core's receive result.
  job_server::receive_result raw(conn_id id, std::string_view bytes);
  /// Sends an admin line and returns the text written in reply.
  std::string admin(conn_id id, std::string_view line);

  /// Packets written to id since the last call, as printed lines (readable failures).
  std::vector<std::string> take(conn_id id);
  /// Same, decoded.
  std::vector<packet> take_packets(conn_id id);

  /// Submits a foreground job and returns its handle (fails the test if no JOB_CREATED).
  std::string submit(conn_id id, std::string_view func, std::string_view unique, std::string_view data,
                     command how = command::submit_job);
  /// Grabs a job; returns the JOB_ASSIGN packet's handle, or "" for NO_JOB.
  std::string grab(conn_id worker);

  void advance(std::chrono::milliseconds d);

  static std::string line(command cmd, std::initializer_list<std::string> args);

  core_options options_;
  recording_sink sink_;
  std::unique_ptr<job_server> core_;
  time_point now_{};
  std::int64_t unix_ms_ = 1'700'000'000'000;
};

}  // namespace gearspec::refsrv::test
