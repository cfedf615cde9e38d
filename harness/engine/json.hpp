#pragma once
// The one JSON writer of the harness (reports, gearspec-bench, gearspec-soak). Text is written as
// UTF-8 once: valid UTF-8 passes through unchanged, control characters are escaped, and bytes
// that are not UTF-8 become U+FFFD (transcripts show raw bytes escaped already).

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace gearspec::engine {

/// A JSON string literal (with its quotes).
std::string json_string(std::string_view text);

/// Writes one JSON document to a stream: objects and arrays nest, commas are placed for you.
class json_writer {
 public:
  explicit json_writer(std::ostream& out) : out_(out) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  /// The key of the next value inside an object.
  json_writer& key(std::string_view name);
  json_writer& value(std::string_view text);
  json_writer& value(const char* text) { return value(std::string_view(text)); }
  json_writer& value(const std::string& text) { return value(std::string_view(text)); }
  json_writer& value(bool b);
  json_writer& value(double number);
  json_writer& value(std::int64_t number);
  json_writer& value(std::uint64_t number);
  json_writer& value(int number) { return value(static_cast<std::int64_t>(number)); }
  json_writer& value(unsigned number) { return value(static_cast<std::uint64_t>(number)); }
  json_writer& null();
  /// A list of strings.
  json_writer& strings(const std::vector<std::string>& items);
  /// Starts a new line (for readable documents with one record per line).
  json_writer& newline();

 private:
  void before_value();

  std::ostream& out_;
  std::vector<bool> first_;  ///< per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace gearspec::engine
