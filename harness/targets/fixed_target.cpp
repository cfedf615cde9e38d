#include "harness/targets/fixed_target.hpp"

#include <stdexcept>

namespace gearspec::targets {

namespace {

class fixed_instance final : public engine::target_instance {
 public:
  explicit fixed_instance(std::map<std::string, engine::endpoint> addresses)
      : addresses_(std::move(addresses)) {}
  engine::endpoint address(const std::string& server) const override {
    return addresses_.at(server);
  }

 private:
  std::map<std::string, engine::endpoint> addresses_;
};

}  // namespace

fixed_target::fixed_target(const std::vector<std::string>& specs) {
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos) {
      if (default_)
        throw std::invalid_argument(
            "give one --target HOST:PORT, or NAME=HOST:PORT for each server");
      default_ = engine::parse_endpoint(spec);
    } else {
      named_[spec.substr(0, eq)] = engine::parse_endpoint(spec.substr(eq + 1));
    }
  }
}

std::optional<std::string> fixed_target::unsupported(const std::vector<std::string>& servers,
                                                     const engine::server_needs& needs) const {
  if (needs.restart)
    return "restarts servers, which an existing server given by address cannot do (use --spawn or "
           "the embedded server)";
  if (needs.disposable)
    return "stops or disturbs the whole server, which an existing server (perhaps shared) must "
           "not suffer (use --spawn or the embedded server)";
  std::string missing;
  for (const auto& s : servers)
    if (!named_.count(s) && !(default_ && servers.size() == 1))
      missing += (missing.empty() ? "" : ", ") + s;
  if (missing.empty()) return std::nullopt;
  return "needs server(s) " + missing + ": give --target NAME=HOST:PORT for each";
}

std::unique_ptr<engine::target_instance> fixed_target::start(
    const std::vector<std::string>& servers, const engine::server_needs& needs) {
  if (auto why = unsupported(servers, needs)) throw engine::target_error(*why);
  std::map<std::string, engine::endpoint> addresses;
  for (const auto& s : servers) addresses[s] = named_.count(s) ? named_.at(s) : *default_;
  return std::make_unique<fixed_instance>(std::move(addresses));
}

std::string fixed_target::describe() const {
  std::string out;
  if (default_) out = default_->str();
  for (const auto& [name, e] : named_) out += (out.empty() ? "" : ", ") + name + "=" + e.str();
  return "existing server " + out;
}

}  // namespace gearspec::targets
