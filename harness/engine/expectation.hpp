#pragma once
// Judging what a server sent against what a scenario expects, with no I/O (like the codec and the
// job core): variables and templates, argument matchers, an actor's inbox against an expect
// step's alternatives, admin answers, and the descriptions of expected and actual that reports
// print. The actor (actor.hpp) does the waiting; this file decides.

#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "harness/scenario/model.hpp"
#include "harness/wire/admin.hpp"
#include "harness/wire/packet.hpp"

namespace gearspec::engine {

/// Captures made while judging, committed to the run's variables only when the judgement matches
/// (an alternative that fails half-way leaves nothing behind).
using bindings = std::map<std::string, std::string>;

/** A scenario's regex is not a valid ECMAScript pattern once its variables are expanded. That is
    the scenario's fault, never the server's: the runner reports it as the verdict `error`, and the
    Python API raises ValueError. Patterns without variables are already checked when the scenario
    is loaded. */
class bad_pattern : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A random token, different per run, that makes generated names unique (fn-<token>, ...).
std::string random_token();

/// The Unix time `seconds` from now (a scenario's ${epochN}).
long long epoch_after(long long seconds);
/// The first whole second at least N.5 seconds from now (a scenario's ${epochsoonN}): a due time
/// soon, but never so close that a step could miss it.
long long epoch_soon(long long n = 0);

/// The variables of one scenario run: generated placeholders and captured values.
class variables {
 public:
  explicit variables(std::string token) : token_(std::move(token)) {}

  /** The value of $name: a pending binding, a capture, or a generated placeholder, created on
      first use: fn, uniq, key (and fn2, ...) are "<name>-<token>", run is the token, epochN is
      the Unix time N seconds after first use. */
  std::string value(const std::string& name, const bindings& pending = {});
  /// A template with its variables replaced.
  std::string expand(const scenario::value_template& t, const bindings& pending = {});
  /// Makes captures visible to later steps.
  void commit(const bindings& captures);
  const std::string& token() const noexcept { return token_; }

 private:
  std::string token_;
  std::map<std::string, std::string> values_;
};

/// True if value satisfies m; a capture also records value in pending. Throws bad_pattern.
bool matches(const scenario::matcher& m, std::string_view value, variables& vars,
             bindings& pending);

/// Alternatives of an expect step: each is a sequence of packets.
using alternatives = std::vector<std::vector<scenario::packet_expectation>>;

/// The outcome of judging an actor's inbox against alternatives.
struct inbox_judgement {
  enum class kind {
    match,      ///< an alternative matched the next relevant packets
    mismatch,   ///< no alternative can match, whatever arrives next
    need_more,  ///< an alternative matched every packet so far; more must arrive
  };
  kind result = kind::need_more;
  std::size_t consumed = 0;  ///< on a match: inbox packets to drop (ignored ones before included)
  std::size_t matched = 0;   ///< on a match: how many of `relevant` the alternative used
  bindings captures;         ///< on a match
  std::vector<const wire::packet*> relevant;  ///< the packets judged (ignored types skipped)
};

/** Judges the inbox. Packet types in `ignore` (the actor's ignore list) are skipped unless an
    alternative names them. Throws bad_pattern. */
inbox_judgement judge_inbox(const alternatives& wanted, const std::deque<wire::packet>& inbox,
                            const std::vector<wire::command>& ignore, variables& vars);

/// The first packet in the inbox whose type the actor may not ignore, or null.
const wire::packet* first_unignored(const std::deque<wire::packet>& inbox,
                                    const std::vector<wire::command>& ignore);

/// Whether an admin `workers` answer ("FD IP CLIENT-ID : FUNCTION ...") lists a connection with
/// this client id.
bool workers_lists(const wire::admin_response& answer, const std::string& client_id);

/** Judges an admin answer: "" when it matches, otherwise what was expected (captures of `line`
    go to pending). Throws bad_pattern. */
std::string judge_admin(const scenario::admin_expectation& want, const wire::admin_response& got,
                        variables& vars, bindings& pending);

/// The packet types that answer a request (with ERROR), or empty for a request with no answer.
std::vector<wire::command> answers_to(wire::command request);

/** A short, stable name for why an expectation failed, so reports can group failures by cause:
    "after GRAB_JOB: expected JOB_ASSIGN, got NOOP", "ERROR with another code than expected".
    request is what the actor sent last (a packet name or an admin command), or "". */
std::string mismatch_cause(const alternatives& wanted, const std::vector<const wire::packet*>& got,
                           const std::string& request, variables& vars);

/// The packet names an alternative list starts with: "JOB_ASSIGN|NO_JOB".
std::string expected_kinds(const alternatives& wanted);

// ---------------------------------------------------------------------------------------------
// Descriptions, as the reports print them.

/// Bytes in double quotes, escaped, at most 80 of them.
std::string quote(std::string_view bytes);
/// `"abc"`, `/re/`, `"pre"...`, `*`, `<capture h>`.
std::string describe(const scenario::matcher& m, variables& vars, const bindings& pending = {});
/// `JOB_ASSIGN(handle="H:1", func=*)`.
std::string describe(const scenario::packet_expectation& e, variables& vars);
/// `A then B`, and alternatives joined by `  OR  `.
std::string describe(const std::vector<scenario::packet_expectation>& sequence, variables& vars);
std::string describe(const alternatives& wanted, variables& vars);
/// A step in a few words: `c1: expect WORK_COMPLETE`, `restart main`.
std::string describe(const scenario::step& st);
/// An admin answer: `list: "a" | "b"`.
std::string show(const wire::admin_response& got);
/// Received packets, comma-separated, at most `limit` of them.
std::string show(const std::vector<const wire::packet*>& got, std::size_t limit = 4);

}  // namespace gearspec::engine
