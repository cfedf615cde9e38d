#pragma once
// An actor: one scripted Gearman connection. It connects, writes, and waits (every wait bounded)
// for what the server sends; a reader coroutine decodes everything that arrives into an inbox.
// Each operation returns its outcome as a value; deciding whether packets match is
// expectation.hpp's job, and the only call out is the transcript sink. Actors are coroutines on
// the caller's io_context: the scenario runner's, or sync_actor's own for blocking use.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/engine/expectation.hpp"
#include "harness/engine/target.hpp"
#include "harness/net/asio.hpp"
#include "harness/wire/admin.hpp"
#include "harness/wire/decoder.hpp"

namespace gearspec::engine {

using steady_time = std::chrono::steady_clock::time_point;

/// Receives what an actor did and saw: direction '>' sent, '<' received, '*' an event.
using transcript_sink = std::function<void(const std::string& actor, char direction,
                                           std::string text, std::optional<wire::packet> packet)>;

/// The outcome of one operation.
struct step_outcome {
  enum class kind {
    ok,       ///< as expected
    fail,     ///< the server did something else
    error,    ///< infrastructure (could not connect) or the scenario's own fault (bad regex)
    aborted,  ///< the run was aborted while waiting (another step failed first)
  };
  kind result = kind::ok;
  std::string expected;
  std::string actual;
  std::string note;
  /// Why, in a few stable words, so reports can group failures by cause (expectation.hpp).
  std::string cause;

  static step_outcome ok() { return {}; }
  static step_outcome fail(std::string expected, std::string actual, std::string note = {},
                           std::string cause = {}) {
    return {kind::fail, std::move(expected), std::move(actual), std::move(note), std::move(cause)};
  }
  static step_outcome error(std::string expected, std::string actual, std::string note = {},
                            std::string cause = {}) {
    return {kind::error, std::move(expected), std::move(actual), std::move(note), std::move(cause)};
  }
  static step_outcome aborted() { return {kind::aborted, {}, {}, {}, {}}; }
  explicit operator bool() const noexcept { return result == kind::ok; }
};

/// An admin answer, or the outcome that explains why there is none (or why it did not match).
struct admin_result {
  std::optional<wire::admin_response> answer;
  step_outcome status;
};

/// What an actor's connection carries.
enum class protocol {
  binary,  ///< binary packets only (clients and workers of a scenario): anything else is garbage
  admin,   ///< admin text only (admin actors)
  mixed,   ///< both, told apart by the first byte (scripts, which may do either on one socket)
};

class actor {
 public:
  /// ignore: packet types that may arrive at any time without a step expecting them.
  actor(net::asio::io_context& io, std::string name, protocol speaks,
        std::vector<wire::command> ignore, transcript_sink sink);
  /** The other end: an actor that plays the server (`gearspec clients`) adopts a connection a
      library opened, reads the request magic \0REQ from it and answers with \0RES packets. */
  struct accepted_peer {};
  actor(net::asio::io_context& io, std::string name, std::vector<wire::command> ignore,
        transcript_sink sink, accepted_peer);
  ~actor();
  actor(const actor&) = delete;
  actor& operator=(const actor&) = delete;

  const std::string& name() const noexcept { return name_; }
  bool binary() const noexcept { return speaks_ != protocol::admin; }
  bool connected() const noexcept { return connected_; }
  /// The connection is gone (either side closed it).
  bool closed() const noexcept { return closed_; }
  /// This side closed the connection (disconnect or kill).
  bool closed_by_us() const noexcept { return closed_by_us_; }
  const std::string& close_reason() const noexcept { return close_reason_; }
  /// The connection ended with its server (restart or crash): using it again is the scenario's
  /// fault.
  bool lost_to_restart = false;

  /// Connects to where (a numeric address or a host name) within limit.
  net::asio::awaitable<step_outcome> connect(const endpoint& where,
                                             std::chrono::milliseconds limit);
  /// Takes over a connection accepted from a client or worker and starts reading it.
  void adopt(net::tcp::socket accepted);
  /// Writes bytes, in pieces when pacing says so. shown (and packet) go to the transcript first.
  net::asio::awaitable<step_outcome> write(std::string bytes, scenario::write_pacing pacing,
                                           std::string shown, std::optional<wire::packet> packet);
  /// The next packet of the inbox, waiting until deadline; nullopt with the reason otherwise.
  net::asio::awaitable<std::optional<wire::packet>> next_packet(steady_time deadline,
                                                                step_outcome* why = nullptr);
  /// The next relevant packets match one of the alternatives (captures committed to vars, the
  /// matched packets moved to matched if given). limit is the wait the deadline came from.
  net::asio::awaitable<step_outcome> expect(const alternatives& wanted, variables& vars,
                                            steady_time deadline, std::chrono::milliseconds limit,
                                            std::vector<wire::packet>* matched = nullptr);
  /// Nothing that the actor may not ignore arrives for window, and the connection stays open.
  net::asio::awaitable<step_outcome> expect_none(std::chrono::milliseconds window);
  /** The server closes the connection by the deadline, and sent nothing before it but packet
      types the actor ignores: an undecodable or incomplete packet before the close is a failure,
      as is any other packet. */
  net::asio::awaitable<step_outcome> expect_closed(steady_time deadline,
                                                   std::chrono::milliseconds limit);
  /// Sends an admin line and reads one whole answer.
  net::asio::awaitable<admin_result> admin(const std::string& line, steady_time deadline);
  /// Judges an answer: "" when it is the one waited for, otherwise what was expected instead.
  using answer_judge = std::function<std::string(const wire::admin_response&)>;
  /** Repeats the admin line every interval until judge accepts the answer, by deadline. Each poll
      may take up to per_poll, so the last answer is judged rather than cut off. A repeated
      identical answer is counted, not recorded again. */
  net::asio::awaitable<admin_result> poll_admin(const std::string& line, const answer_judge& judge,
                                                steady_time deadline,
                                                std::chrono::milliseconds per_poll,
                                                std::chrono::milliseconds interval);
  /** The end-of-scenario check: sends ECHO_REQ(token) and waits for its ECHO_RES, which the
      server can only send after everything it had to say on this connection before; packets that
      arrive first stay in the inbox for audit(). A connection that is closed, or closes, is left
      to audit() too. Fails if the answer does not come back by the deadline. With sync
      GET_STATUS (a target without ECHO) the token is an unknown handle and STATUS_RES the answer.
   */
  net::asio::awaitable<step_outcome> end_round_trip(const std::string& token, steady_time deadline,
                                                    std::chrono::milliseconds limit,
                                                    const char* label = "end of scenario",
                                                    wire::command sync = wire::command::echo_req);
  /// Everything received and not yet consumed, in arrival order (the inbox is emptied).
  std::vector<wire::packet> take_received();
  /// Bytes received that did not decode (empty if all did).
  const std::string& undecodable_bytes() const noexcept { return garbage_; }
  /** Reads replies that carry the request magic \0REQ as if they carried \0RES (a target whose
      only framing defect that is: FRAME-RES-MAGIC's scenarios judge it, the others read past it).
      The transcript marks each such packet. */
  void accept_request_magic(bool on) noexcept { accept_request_magic_ = on; }
  /// Closes the connection: abortive sends RST (a crashed peer), otherwise FIN.
  void close(bool abortive);
  /// Ends every wait and write at once and closes the connection (the run is over).
  void abort();
  /** What is left unexplained at the end of a scenario (an undecodable stream, a packet no step
      expected, an unexpected close, unread admin text), as a failure; ok otherwise. */
  step_outcome audit() const;

 private:
  net::asio::awaitable<void> reader();
  void start_reading();
  /// The admin exchange itself, recording nothing.
  net::asio::awaitable<admin_result> exchange(const std::string& line, steady_time deadline);
  /// An answer as the transcript shows it.
  static std::string shown(const wire::admin_response& answer);
  /// Waits until deadline, or until something arrives or the connection closes.
  net::asio::awaitable<void> nap(steady_time deadline);
  net::asio::awaitable<void> pause(std::chrono::milliseconds d);
  void record(char direction, std::string text, std::optional<wire::packet> p = std::nullopt);
  void decode_received(std::string_view bytes);
  bool ignored(wire::command cmd) const;

  net::asio::io_context& io_;
  std::string name_;
  protocol speaks_;
  std::vector<wire::command> ignore_;
  transcript_sink sink_;
  net::tcp::socket socket_;
  net::asio::steady_timer signal_;  ///< cancelled whenever something arrives or the run aborts
  net::asio::steady_timer pause_;
  wire::stream_decoder decoder_;
  std::deque<wire::packet> inbox_;
  std::string text_;  ///< admin text not yet parsed into an answer
  bool accept_request_magic_ = false;
  /// Who is at the other end, for messages: "the server", or "the library" for an adopted one.
  std::string peer_ = "the server";
  std::string garbage_;  ///< why the stream could not be decoded, once it could not
  std::string close_reason_;
  std::string garbage_kind_;  ///< the kind of undecodable input, for causes
  /// What the actor sent last (a packet name, or an admin command), for causes and messages.
  std::string last_request_;
  std::optional<wire::command> last_packet_;
  bool connected_ = false;
  bool closed_ = false;
  bool closed_by_us_ = false;
  bool close_expected_ = false;
  bool aborted_ = false;
  bool reading_ = false;
  /// Shared with the detached reader coroutine: an actor destroyed while a read is pending (its
  /// socket closed by the destructor) must not be touched when that read completes.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gearspec::engine
