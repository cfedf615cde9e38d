#pragma once
// Capabilities: optional or commonly missing features of a server (each grab request, ECHO,
// OPTION_REQ, the submit variants, status requests, the admin commands, ...). A short probe phase
// finds which ones a target has; a scenario that needs one the target lacks is `blocked` instead
// of failing for a reason it is not about, and only the scenarios about that feature fail.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/engine/runner.hpp"
#include "harness/engine/target.hpp"
#include "harness/scenario/model.hpp"

namespace gearspec::engine {

/// The capabilities that have a probe (scenario::capability_names() less grab, sync and
/// admin-shutdown).
const std::vector<std::string>& probed_capabilities();

/** The capabilities a scenario needs: those its steps use (packet types it sends, admin commands,
    the generic grab) and its `needs:`, except the ones a MUST or SHOULD scenario is about (found
    from its requirements): those it runs and, where they are missing, fails. */
std::vector<std::string> needed_capabilities(const scenario::scenario& s);

/// Every capability a scenario uses: its steps' packet types and admin commands, and `needs:`.
std::vector<std::string> used_capabilities(const scenario::scenario& s);

/** The capabilities a scenario is about (its requirements') and uses that are missing: why a
    MUST or SHOULD scenario failed on a target without them. */
std::vector<std::string> lacking_capabilities(const scenario::scenario& s,
                                              const std::set<std::string>& missing);

/// Which widely used client or worker libraries fail on a server without it (empty if none known).
std::string who_breaks_without(const std::string& capability);

/// The capabilities a requirement is about (empty for most).
std::vector<std::string> capabilities_of_requirement(const std::string& id);

/// What the probe found.
struct capability_report {
  std::set<std::string> present;
  std::map<std::string, std::string> missing;  ///< name -> what the probe saw instead
  bool probed = false;
  /// The grab request a generic `grab` step sends on this target.
  wire::command grab = wire::command::grab_job;
  /// The request a `sync` step sends on this target (ECHO_REQ, else GET_STATUS).
  wire::command sync = wire::command::echo_req;
  /** Binary replies decode but for carrying the request magic \0REQ: binary-framing is missing,
      and the probes (and the suite: suite_options::read_past_request_magic) read past it. */
  bool request_magic = false;
};

/** Probes a target with one small scenario per capability, on one server, with short waits
    (scaled like every other). A target with no server named "main" is not probed. */
capability_report probe_capabilities(target& t, const run_options& options, unsigned jobs);

}  // namespace gearspec::engine
