#include "harness/wire/admin.hpp"

#include "harness/wire/ascii.hpp"

namespace gearspec::wire {
namespace {

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos == s.size()) break;
    const auto end = s.find(' ', pos);
    const auto stop = end == std::string_view::npos ? s.size() : end;
    words.emplace_back(s.substr(pos, stop - pos));
    pos = stop;
  }
  return words;
}

bool is_err_line(std::string_view line) {
  return line == "ERR" || line.starts_with("ERR ");
}

void fill_single(std::string_view line, admin_response& out) {
  out.lines.assign(1, std::string(line));
  if (line == "OK" || line.starts_with("OK ")) {
    out.type = admin_response::kind::ok;
    out.value = line.size() > 3 ? std::string(line.substr(3)) : std::string{};
  } else if (is_err_line(line)) {
    out.type = admin_response::kind::err;
    auto rest = line.size() > 4 ? line.substr(4) : std::string_view{};
    const auto space = rest.find(' ');
    out.error_code = std::string(rest.substr(0, space));
    out.error_text =
        space == std::string_view::npos ? std::string{} : std::string(rest.substr(space + 1));
  } else {
    out.type = admin_response::kind::other;
  }
}

}  // namespace

admin_request parse_admin_request(std::string_view line) {
  // A trailing CR belongs to a CRLF ending that the caller left on.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  admin_request request;
  const auto first_space = line.find(' ');
  request.command = to_lower(line.substr(0, first_space));
  if (first_space != std::string_view::npos) request.args = split_words(line.substr(first_space));
  return request;
}

admin_shape admin_response_shape(std::string_view request_line) {
  const auto request = parse_admin_request(request_line);
  const auto& c = request.command;
  if (c == "workers" || c == "status" || c == "prioritystatus" || c == "jobs" || c == "clients" ||
      c == "gladiator")
    return admin_shape::list;
  if (c == "show" && !request.args.empty()) {
    const auto what = to_lower(request.args[0]);
    if (what == "jobs") return admin_shape::list;
    if (what == "unique" && request.args.size() >= 2 && to_lower(request.args[1]) == "jobs")
      return admin_shape::list;
  }
  return admin_shape::single_line;
}

admin_parse_result parse_admin_response(std::string_view input, admin_shape shape,
                                        admin_response& out, std::size_t max_line) {
  admin_response response;
  std::size_t pos = 0;
  while (true) {
    const auto window = input.substr(pos, max_line + 2);
    const auto newline = window.find('\n');
    if (newline == std::string_view::npos) {
      if (window.size() >= max_line + 2)
        return {0, decode_status::error, make_error_code(errc::line_too_long)};
      return {0, decode_status::need_more, {}};
    }
    auto line = window.substr(0, newline);
    response.ending = line_ending::lf;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      response.ending = line_ending::crlf;
    }
    const bool first = pos == 0;
    pos += newline + 1;
    if (shape == admin_shape::single_line || (first && is_err_line(line))) {
      fill_single(line, response);
      break;
    }
    if (line == ".") {
      response.type = admin_response::kind::list;
      break;
    }
    response.lines.emplace_back(line);
  }
  response.raw.assign(input.substr(0, pos));
  out = std::move(response);
  return {pos, decode_status::complete, {}};
}

std::string_view name(admin_response::kind k) noexcept {
  switch (k) {
    case admin_response::kind::ok:
      return "ok";
    case admin_response::kind::err:
      return "err";
    case admin_response::kind::list:
      return "list";
    case admin_response::kind::other:
      return "other";
  }
  return "other";
}

}  // namespace gearspec::wire
