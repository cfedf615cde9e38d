#pragma once
// Reads one line of the adapter contract: a JSON object (docs/clients.md). Strings, numbers,
// booleans, null and lists of them; an object inside a list is kept as its text, for
// parse_json_line again (a worker's script). Anything else is a contract error, thrown as
// std::invalid_argument with the column where reading stopped.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gearspec::clients {

struct json_scalar {
  enum class kind { null, boolean, number, string, object } type = kind::null;
  std::string text;  ///< the string, the number as written, or an object's JSON text
  bool flag = false;
};

struct json_field {
  json_scalar value;
  std::vector<json_scalar> list;  ///< for a list (value is then null)
  bool is_list = false;
};

using json_object = std::map<std::string, json_field>;

/// Parses one object; throws std::invalid_argument("column N: what is wrong").
json_object parse_json_line(std::string_view line);

/// Hex of bytes (lower case) and back; from_hex throws std::invalid_argument on bad input.
std::string to_hex(std::string_view bytes);
std::string from_hex(std::string_view hex);

}  // namespace gearspec::clients
