#include "harness/engine/target.hpp"

#include <cstdlib>

namespace gearspec::engine {

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
