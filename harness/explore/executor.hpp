#pragma once
// Runs an explore program against one server and records what each connection observed after
// each move, normalised so that two servers can be compared: job handles renamed H1, H2, ... in
// the order they first appear, function names and uniques renamed f1/u1, ERROR codes dropped
// (implementation-defined, ERR-CODES), unset status numbers read as 0 (STATUS-UNSET), repeated
// NOOPs counted once, admin "status" reduced to the program's functions with work.

#include <map>
#include <string>
#include <vector>

#include "harness/engine/runner.hpp"
#include "harness/engine/target.hpp"
#include "harness/explore/program.hpp"
#include "harness/wire/packet.hpp"

namespace gearspec::explore {

/// What one connection saw after one move: normalised packets in a stable order (the order of
/// packets within one window is not compared: which of two jobs' results comes first is not
/// fixed), plus events ("closed by the server", "undecodable ...").
struct window {
  std::vector<wire::packet> packets;  ///< normalised; sorted by their text
  std::vector<std::string> events;
  std::vector<std::string> admin_lines;  ///< admin "status", normalised
  bool operator==(const window&) const = default;
};

/// One run of a program.
struct observation {
  /// windows[i][actor]: after move i (index 0 is after connecting, before the first move).
  std::vector<std::map<std::string, window>> windows;
  /// Per move: what it sent, with handles as the symbols above ("" when nothing was sent).
  std::vector<std::string> sent;
  /// Per move: the handle symbol a worker's WORK_* or a client's GET_STATUS used ("" if none).
  std::vector<std::string> handle_used;
  std::vector<engine::transcript_entry> transcript;
  std::string error;  ///< infrastructure: could not connect, time limit (then nothing compares)
  /// How the run was made, for the written scenario to do the same: the connections named
  /// themselves (SET_CLIENT_ID), and closes were awaited in "workers" (settle_with_workers).
  bool named = false, settled_by_workers = false;
  /// After each restart or crash an admin connection asked "status" (window actor "acct"): the
  /// account of acknowledged background jobs (run_settings::account).
  bool accounted = false;
  /// The account's first report of lost background jobs ("" if none): judged without the other
  /// server, so it stands on its own.
  std::string lost;
};

struct run_settings {
  std::chrono::milliseconds wait{2000};  ///< per barrier and admin answer (scaled)
  double timeout_scale = 1.0;
  std::chrono::milliseconds fault_settle{50};  ///< after a disconnect or kill (scaled)
  /// The target lists connections by client id in "workers" (the probe's set-client-id): after a
  /// connection is closed the executor first waits until the server no longer lists it (a slow
  /// server is waited for, not assumed done), then fault_settle.
  bool settle_with_workers = false;
  /// The barrier's round trip: ECHO_REQ, or GET_STATUS of an unknown handle for a target that
  /// does not answer ECHO_REQ (the probe's choice, as for the suite's `sync` steps).
  wire::command sync = wire::command::echo_req;
  /// After a restart or crash, check that every background job the server acknowledged and that
  /// has not ended is queued again (needs admin "status"; the probe's admin-status).
  bool account = true;
};

/// The name of an actor's connection in the written scenario: a connection ends with its server,
/// so after the k-th restart or crash the actor "c1" is a new actor "c1r<k>" (the scenario
/// format's rule). lives is the number of restarts and crashes before the move.
std::string connection_name(const std::string& actor, int lives);

/// Whether the program's connections name themselves with SET_CLIENT_ID first: for its "workers"
/// queries, and, with settle_with_workers, to see when the server has let a closed one go.
bool names_connections(const program& p, const run_settings& s);
/// Whether the move closes its actor's connection: disconnect, kill, or cut_packet (then RST).
bool closes_its_connection(const action& m);
/// Whether a client or worker of the program disconnects, is killed or cut off.
bool closes_a_connection(const program& p);
/// Whether the program has an admin "workers" move.
bool asks_workers(const program& p);

/// How many restarts and crashes come before move `move` (0-based) of the program.
int lives_before(const program& p, std::size_t move);

/// Runs the program on fresh connections to the server "main" of the instance.
observation execute(const program& p, engine::target_instance& servers, const run_settings& s);

}  // namespace gearspec::explore
