#include "harness/targets/embedded_target.hpp"

#include <map>

namespace gearspec::targets {
namespace {

class embedded_instance final : public engine::target_instance {
 public:
  void add(const std::string& name, refsrv::server_config config) {
    config.listen_address = "127.0.0.1";
    config.port = 0;
    servers_[name] = std::make_unique<refsrv::embedded_server>(std::move(config));
  }
  engine::endpoint address(const std::string& server) const override {
    return {"127.0.0.1", servers_.at(server)->port()};
  }

 private:
  std::map<std::string, std::unique_ptr<refsrv::embedded_server>> servers_;
};

}  // namespace

std::unique_ptr<engine::target_instance> embedded_target::start(const std::vector<std::string>& servers) {
  auto instance = std::make_unique<embedded_instance>();
  try {
    for (const auto& name : servers) instance->add(name, config_);
  } catch (const std::exception& e) {
    throw engine::target_error(std::string("embedded reference server did not start: ") + e.what());
  }
  return instance;
}

}  // namespace gearspec::targets
