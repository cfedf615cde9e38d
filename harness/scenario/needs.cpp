#include "harness/scenario/needs.hpp"

#include <algorithm>

namespace gearspec::scenario {

const std::vector<std::string>& target_needs() {
  static const std::vector<std::string> names{"restart", "persistent-queue", "disposable-server"};
  return names;
}

const std::vector<std::string>& capability_names() {
  // "binary-framing" (the server's binary replies decode: \0RES magic, sane sizes) is derived from
  // every binary probe; "grab" is any grab request (derived from the three below), "sync" a round
  // trip a sync step can use (ECHO or GET_STATUS); admin-shutdown
  // is never probed (the probe would stop the server). The others each have a probe in
  // engine/capabilities.cpp.
  static const std::vector<std::string> names{"binary-framing",
                                              "grab",
                                              "sync",
                                              "echo",
                                              "grab-job",
                                              "grab-job-uniq",
                                              "grab-job-all",
                                              "submit-background",
                                              "submit-high",
                                              "submit-high-background",
                                              "submit-low",
                                              "submit-low-background",
                                              "submit-epoch",
                                              "submit-reduce",
                                              "get-status",
                                              "get-status-unique",
                                              "option-exceptions",
                                              "unique-attach",
                                              "admin-status",
                                              "admin-workers",
                                              "admin-version",
                                              "admin-maxqueue",
                                              "admin-getpid",
                                              "admin-verbose",
                                              "admin-prioritystatus",
                                              "admin-show-jobs",
                                              "admin-show-unique-jobs",
                                              "admin-cancel-job",
                                              "admin-create-function",
                                              "admin-drop-function",
                                              "work-data",
                                              "work-warning",
                                              "work-exception",
                                              "can-do-timeout",
                                              "set-client-id",
                                              "admin-shutdown"};
  return names;
}

bool is_target_need(const std::string& name) {
  const auto& t = target_needs();
  return std::find(t.begin(), t.end(), name) != t.end();
}

bool is_known_need(const std::string& name) {
  const auto& c = capability_names();
  return is_target_need(name) || std::find(c.begin(), c.end(), name) != c.end();
}

}  // namespace gearspec::scenario
