#include "harness/clients/json_line.hpp"

#include <cctype>
#include <stdexcept>

namespace gearspec::clients {
namespace {

class line_reader {
 public:
  explicit line_reader(std::string_view s) : s_(s) {}

  json_object object() {
    json_object out;
    skip();
    want('{');
    skip();
    if (peek() == '}') {
      ++at_;
      return end(std::move(out));
    }
    while (true) {
      skip();
      auto key = string();
      skip();
      want(':');
      skip();
      json_field f;
      if (peek() == '[') {
        ++at_;
        f.is_list = true;
        skip();
        if (peek() == ']') {
          ++at_;
        } else {
          while (true) {
            skip();
            f.list.push_back(scalar());
            skip();
            if (peek() == ',') {
              ++at_;
              continue;
            }
            want(']');
            break;
          }
        }
      } else {
        f.value = scalar();
      }
      out[std::move(key)] = std::move(f);
      skip();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      want('}');
      return end(std::move(out));
    }
  }

 private:
  json_object end(json_object out) {
    skip();
    if (at_ != s_.size()) fail("text after the object");
    return out;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("column " + std::to_string(at_ + 1) + ": " + what);
  }
  char peek() const { return at_ < s_.size() ? s_[at_] : '\0'; }
  void skip() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\r')) ++at_;
  }
  void want(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  void utf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  unsigned hex4() {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_digit(peek());
      if (d < 0) fail("bad \\u escape");
      v = v * 16 + static_cast<unsigned>(d);
      ++at_;
    }
    return v;
  }
  std::string string() {
    want('"');
    std::string out;
    while (true) {
      if (at_ >= s_.size()) fail("unterminated string");
      const char c = s_[at_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = peek();
      ++at_;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && peek() == '\\') {
            at_ += 2;
            const unsigned low = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8(cp, out);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  json_scalar scalar() {
    json_scalar v;
    const char c = peek();
    if (c == '"') {
      v.type = json_scalar::kind::string;
      v.text = string();
    } else if (s_.substr(at_, 4) == "true" || s_.substr(at_, 5) == "false") {
      v.type = json_scalar::kind::boolean;
      v.flag = c == 't';
      at_ += v.flag ? 4 : 5;
    } else if (c == '{') {
      // Kept as text: its end is the brace that balances this one, outside strings.
      v.type = json_scalar::kind::object;
      const auto start = at_;
      int depth = 0;
      bool in_string = false;
      for (; at_ < s_.size(); ++at_) {
        const char ch = s_[at_];
        if (in_string) {
          if (ch == '\\')
            ++at_;
          else if (ch == '"')
            in_string = false;
        } else if (ch == '"') {
          in_string = true;
        } else if (ch == '{') {
          ++depth;
        } else if (ch == '}' && --depth == 0) {
          break;
        }
      }
      if (at_ >= s_.size()) fail("unterminated object");
      ++at_;
      v.text = std::string(s_.substr(start, at_ - start));
    } else if (s_.substr(at_, 4) == "null") {
      at_ += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.type = json_scalar::kind::number;
      const auto start = at_;
      while (at_ < s_.size() &&
             (std::isdigit(static_cast<unsigned char>(s_[at_])) || s_[at_] == '-' ||
              s_[at_] == '.' || s_[at_] == 'e' || s_[at_] == 'E' || s_[at_] == '+'))
        ++at_;
      v.text = std::string(s_.substr(start, at_ - start));
    } else {
      fail("expected a string, number, true, false, null or a list");
    }
    return v;
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

}  // namespace

json_object parse_json_line(std::string_view line) {
  return line_reader(line).object();
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  if (hex.size() % 2) throw std::invalid_argument("odd number of hex digits");
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(std::string("not a hex digit: '") + c + "'");
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out += static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1]));
  return out;
}

}  // namespace gearspec::clients
