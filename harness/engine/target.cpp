#include "harness/engine/target.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gearspec::engine {

std::optional<target_instance::cpu_time> read_proc_cpu(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // "pid (comm) state ...": comm may hold spaces, so count fields after its closing parenthesis.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (tick <= 0) return std::nullopt;
  return target_instance::cpu_time{static_cast<double>(utime) / tick,
                                   static_cast<double>(stime) / tick};
}

endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
  endpoint e;
  e.host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535)
    throw std::invalid_argument("bad port in '" + text + "'");
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

}  // namespace gearspec::engine
