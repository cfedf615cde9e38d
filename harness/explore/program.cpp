#include "harness/explore/program.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

namespace gearspec::explore {
namespace {

using wire::command;

const std::vector<std::pair<action::kind, std::string>>& kinds() {
  static const std::vector<std::pair<action::kind, std::string>> all{
      {action::kind::submit, "submit"},
      {action::kind::option, "option"},
      {action::kind::get_status, "get_status"},
      {action::kind::can_do, "can_do"},
      {action::kind::cant_do, "cant_do"},
      {action::kind::reset, "reset"},
      {action::kind::grab, "grab"},
      {action::kind::pre_sleep, "pre_sleep"},
      {action::kind::work, "work"},
      {action::kind::admin_status, "admin_status"},
      {action::kind::admin_workers, "admin_workers"},
      {action::kind::disconnect, "disconnect"},
      {action::kind::kill, "kill"},
      {action::kind::cut_packet, "cut_packet"},
      {action::kind::admin_cancel, "admin_cancel"},
      {action::kind::admin_maxqueue, "admin_maxqueue"},
      {action::kind::wait, "wait"},
      {action::kind::restart, "restart"},
      {action::kind::crash, "crash"}};
  return all;
}

/// What the generator knows of each actor while it writes the program.
struct model {
  std::set<std::string> alive;
  std::map<std::string, std::set<int>> abilities;  // worker -> functions
  std::map<std::string, int> submissions;          // client -> count
  std::set<std::string> grabbed, opted;
};

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

command weighted(std::mt19937_64& rng, const std::vector<std::pair<command, double>>& choices) {
  std::vector<double> w;
  for (const auto& c : choices) w.push_back(c.second);
  return choices[std::discrete_distribution<std::size_t>(w.begin(), w.end())(rng)].first;
}

}  // namespace

const char* unique_kind(int unique) {
  switch (unique) {
    case 3:
      return "64-byte key";
    case 4:
      return "63-byte key";
    case 5:
      return "key with spaces";
    default:
      return "key";
  }
}

std::string boundary_unique(int unique) {
  if (unique == 5) return " key  with spaces ";
  return unique == 3 ? "u64-" + std::string(60, 'k') : "u63-" + std::string(59, 'k');
}

const std::vector<std::string>& kind_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [k, n] : kinds()) out.push_back(n);
    return out;
  }();
  return names;
}

std::string kind_name(action::kind k) {
  for (const auto& [kind, name] : kinds())
    if (kind == k) return name;
  return "?";
}

void weights::apply(const std::string& text) {
  for (std::size_t at = 0; at < text.size();) {
    const auto comma = std::min(text.find(',', at), text.size());
    const auto item = text.substr(at, comma - at);
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("--weights takes KIND=NUMBER,..., got '" + item + "'");
    const auto name = item.substr(0, eq);
    const bool share = name == "second_server";  // not a move: a share of the programs
    if (!share && !of.count(name)) {
      std::string known;
      for (const auto& n : kind_names()) known += (known.empty() ? "" : ", ") + n;
      known += ", second_server";
      throw std::invalid_argument("--weights: unknown move '" + name + "' (" + known + ")");
    }
    std::size_t used = 0;
    double value = -1;
    try {
      value = std::stod(item.substr(eq + 1), &used);
    } catch (const std::exception&) {
    }
    const bool number = value >= 0 && used == item.size() - eq - 1;
    if (share) {
      if (!number || value > 1)
        throw std::invalid_argument("--weights: 'second_server' is a share from 0 to 1");
      second_server = value;
    } else {
      if (!number)
        throw std::invalid_argument("--weights: '" + name + "' needs a number of 0 or more");
      of[name] = value;
    }
    at = comma + 1;
  }
}

std::vector<std::string> weights::exclude_missing(const std::set<std::string>& missing) {
  std::vector<std::string> excluded;
  auto drop_kind = [&](const char* kind, const char* capability) {
    if (missing.count(capability) && of.at(kind) > 0) {
      of[kind] = 0;
      excluded.push_back(std::string(kind) + " (" + capability + ")");
    }
  };
  auto drop_command = [&](std::vector<std::pair<command, double>>& list, command cmd,
                          const char* capability) {
    if (!missing.count(capability)) return;
    const auto before = list.size();
    std::erase_if(list, [&](const auto& entry) { return entry.first == cmd; });
    if (list.size() != before)
      excluded.push_back(std::string(wire::name(cmd)) + " (" + capability + ")");
  };
  drop_command(submits, command::submit_job_bg, "submit-background");
  drop_command(submits, command::submit_job_high, "submit-high");
  drop_command(submits, command::submit_job_high_bg, "submit-high-background");
  drop_command(submits, command::submit_job_low, "submit-low");
  drop_command(submits, command::submit_job_low_bg, "submit-low-background");
  drop_command(submits, command::submit_job_epoch, "submit-epoch");
  drop_command(submits, command::submit_reduce_job, "submit-reduce");
  drop_command(submits, command::submit_reduce_job_background, "submit-reduce");
  drop_command(can_dos, command::can_do_timeout, "can-do-timeout");
  drop_command(grabs, command::grab_job, "grab-job");
  drop_command(grabs, command::grab_job_uniq, "grab-job-uniq");
  drop_command(grabs, command::grab_job_all, "grab-job-all");
  drop_command(works, command::work_data, "work-data");
  drop_command(works, command::work_warning, "work-warning");
  drop_command(works, command::work_exception, "work-exception");
  drop_kind("option", "option-exceptions");
  drop_kind("get_status", "get-status");
  drop_kind("admin_status", "admin-status");
  drop_kind("admin_workers", "admin-workers");
  drop_kind("admin_workers", "set-client-id");
  drop_kind("admin_cancel", "admin-cancel-job");
  drop_kind("admin_maxqueue", "admin-maxqueue");
  drop_kind("restart", "persistent-queue");
  drop_kind("crash", "persistent-queue");
  return excluded;
}

program generate(std::uint64_t seed, const weights& w, std::size_t length) {
  std::mt19937_64 rng(seed);
  program p;
  p.seed = seed;
  const int clients = std::uniform_int_distribution<int>(1, 3)(rng);
  const int workers = std::uniform_int_distribution<int>(1, 2)(rng);
  for (int i = 1; i <= clients; ++i) p.clients.push_back(std::string("c") + std::to_string(i));
  for (int i = 1; i <= workers; ++i) p.workers.push_back(std::string("w") + std::to_string(i));
  p.admin = std::bernoulli_distribution(0.5)(rng);
  // Which actors are on the second server comes from a stream of its own, so that the moves of a
  // seed are the same whether or not the target can give two servers.
  if (w.second_server > 0) {
    std::mt19937_64 layout(seed ^ 0x5ec0d5e7'7e75e7ULL);
    if (std::bernoulli_distribution(w.second_server)(layout)) {
      std::vector<std::string> everyone = p.clients;
      everyone.insert(everyone.end(), p.workers.begin(), p.workers.end());
      for (const auto& name : everyone)
        if (std::bernoulli_distribution(0.5)(layout)) p.on_second.insert(name);
      if (p.on_second.empty()) p.on_second.insert(everyone.back());  // both servers in use
      if (p.on_second.size() == everyone.size()) p.on_second.erase(everyone.front());
    }
  }
  const bool two_servers = !p.on_second.empty();
  model m;
  for (const auto& c : p.clients) m.alive.insert(c);
  for (const auto& wk : p.workers) m.alive.insert(wk);
  int data_counter = 0;

  auto alive = [&](const std::vector<std::string>& names, auto&& also) {
    std::vector<std::string> out;
    for (const auto& n : names)
      if (m.alive.count(n) && also(n)) out.push_back(n);
    return out;
  };
  auto any = [](const std::string&) { return true; };

  while (p.actions.size() < length) {
    // Which kinds are legal now, each with its weight.
    const auto live_clients = alive(p.clients, any);
    const auto live_workers = alive(p.workers, any);
    const auto able =
        alive(p.workers, [&](const std::string& n) { return !m.abilities[n].empty(); });
    const auto grabbed =
        alive(p.workers, [&](const std::string& n) { return m.grabbed.count(n) > 0; });
    const auto submitted =
        alive(p.clients, [&](const std::string& n) { return m.submissions[n] > 0; });
    // The admin connection is on main. A handle from s2 would be compared with whatever main
    // holds under the same bytes, and a reused server holds earlier programs' jobs: not judged.
    const auto cancellable = alive(p.clients, [&](const std::string& n) {
      return m.submissions[n] > 0 && server_of(p, n) == "main";
    });
    const auto unopted = alive(p.clients, [&](const std::string& n) { return !m.opted.count(n); });
    const auto can_learn =
        alive(p.workers, [&](const std::string& n) { return m.abilities[n].size() < 2; });
    std::vector<action::kind> legal;
    std::vector<double> weight;
    auto allow = [&](action::kind k, bool ok) {
      const double wt = w.of.at(kind_name(k));
      if (ok && wt > 0) {
        legal.push_back(k);
        weight.push_back(wt);
      }
    };
    allow(action::kind::submit, !live_clients.empty() && !w.submits.empty());
    allow(action::kind::option, !unopted.empty());
    allow(action::kind::get_status, !submitted.empty());
    allow(action::kind::can_do, !can_learn.empty());
    allow(action::kind::cant_do, !able.empty());
    allow(action::kind::reset, !able.empty());
    allow(action::kind::grab, !live_workers.empty() && !w.grabs.empty());
    allow(action::kind::pre_sleep, !able.empty());
    allow(action::kind::work, !grabbed.empty() && !w.works.empty());
    allow(action::kind::admin_status, p.admin);
    allow(action::kind::admin_workers, p.admin);
    allow(action::kind::admin_cancel, p.admin && !cancellable.empty());
    allow(action::kind::admin_maxqueue, p.admin);
    allow(action::kind::wait, true);
    allow(action::kind::restart, !two_servers);  // one server's restart at a time: not yet
    allow(action::kind::crash, !two_servers);
    const bool can_end = m.alive.size() > 1;  // keep someone to act
    allow(action::kind::disconnect, can_end);
    allow(action::kind::kill, can_end);
    allow(action::kind::cut_packet, can_end);
    if (legal.empty()) break;
    action a;
    a.what = legal[std::discrete_distribution<std::size_t>(weight.begin(), weight.end())(rng)];
    switch (a.what) {
      case action::kind::submit:
        a.actor = pick(rng, live_clients);
        a.cmd = weighted(rng, w.submits);
        a.fn = std::bernoulli_distribution(0.75)(rng) ? 1 : 2;
        a.unique = std::discrete_distribution<int>(w.uniques.begin(), w.uniques.end())(rng);
        a.soon = a.cmd == command::submit_job_epoch && std::bernoulli_distribution(0.5)(rng);
        a.data = std::string("d") + std::to_string(++data_counter);
        ++m.submissions[a.actor];
        break;
      case action::kind::option:
        a.actor = pick(rng, unopted);
        m.opted.insert(a.actor);
        break;
      case action::kind::get_status:
        a.actor = pick(rng, submitted);
        a.job = std::uniform_int_distribution<int>(0, m.submissions[a.actor] - 1)(rng);
        break;
      case action::kind::can_do: {
        a.actor = pick(rng, can_learn);
        a.fn = m.abilities[a.actor].count(1)           ? 2
               : m.abilities[a.actor].count(2)         ? 1
               : std::bernoulli_distribution(0.8)(rng) ? 1
                                                       : 2;
        m.abilities[a.actor].insert(a.fn);
        a.cmd = weighted(rng, w.can_dos);
        break;
      }
      case action::kind::cant_do:
        a.actor = pick(rng, able);
        a.fn = *m.abilities[a.actor].begin();
        m.abilities[a.actor].erase(a.fn);
        break;
      case action::kind::reset:
        a.actor = pick(rng, able);
        m.abilities[a.actor].clear();
        break;
      case action::kind::grab:
        a.actor = pick(rng, live_workers);
        a.cmd = weighted(rng, w.grabs);
        m.grabbed.insert(a.actor);
        break;
      case action::kind::pre_sleep:
        a.actor = pick(rng, able);
        break;
      case action::kind::work:
        a.actor = pick(rng, grabbed);
        a.cmd = weighted(rng, w.works);
        a.data = std::string("r") + std::to_string(++data_counter);
        break;
      case action::kind::admin_status:
      case action::kind::admin_workers:
        a.actor = "adm";
        break;
      case action::kind::wait:  // nobody acts: the barrier after it asks every connection
        break;
      case action::kind::restart:
      case action::kind::crash:
        // Every connection ends; the actors connect again, as new connections.
        m.abilities.clear();
        m.submissions.clear();
        m.grabbed.clear();
        m.opted.clear();
        break;
      case action::kind::admin_cancel:
        a.actor = "adm";
        a.target = pick(rng, cancellable);
        a.job = std::uniform_int_distribution<int>(0, m.submissions[a.target] - 1)(rng);
        break;
      case action::kind::admin_maxqueue:
        a.actor = "adm";
        a.fn = std::bernoulli_distribution(0.75)(rng) ? 1 : 2;
        a.job = std::bernoulli_distribution(0.7)(rng) ? 1 : 0;
        break;
      case action::kind::disconnect:
      case action::kind::kill:
      case action::kind::cut_packet: {
        std::vector<std::string> ends;
        for (const auto& n : m.alive) ends.push_back(n);
        a.actor = pick(rng, ends);
        m.alive.erase(a.actor);
        break;
      }
    }
    // An epoch job due soon falls due during a wait, never between two ordinary moves (where a
    // slow machine would move its NOOP into another window than a fast one does).
    const bool due_soon = a.soon;
    p.actions.push_back(std::move(a));
    if (due_soon && p.actions.size() < length) {
      action pause;
      pause.what = action::kind::wait;
      p.actions.push_back(std::move(pause));
    }
  }
  return p;
}

std::string server_of(const program& p, const std::string& actor) {
  return p.on_second.count(actor) ? "s2" : "main";
}

std::vector<std::string> servers_of(const program& p) {
  if (p.on_second.empty()) return {"main"};
  return {"main", "s2"};
}

bool restarts_the_server(const action& a) {
  return a.what == action::kind::restart || a.what == action::kind::crash;
}

bool restarts_server(const program& p) {
  return std::any_of(p.actions.begin(), p.actions.end(), restarts_the_server);
}

std::string describe(const action& a) {
  std::string out = a.actor + " ";
  switch (a.what) {
    case action::kind::submit:
      return out + std::string(wire::name(a.cmd)) + std::string(" f") + std::to_string(a.fn) +
             (a.unique ? std::string(" u") + std::to_string(a.unique) : " (no unique)") +
             (a.cmd == command::submit_job_epoch ? (a.soon ? " due soon" : " due in an hour")
                                                 : "") +
             (a.unique >= 3 ? std::string(" (a ") + unique_kind(a.unique) + ")" : "") + " '" +
             a.data + "'";
    case action::kind::option:
      return out + "OPTION_REQ exceptions";
    case action::kind::get_status:
      return out + std::string("GET_STATUS of its submission ") + std::to_string(a.job + 1);
    case action::kind::can_do:
      return out + std::string(a.cmd == command::can_do_timeout ? "CAN_DO_TIMEOUT f" : "CAN_DO f") +
             std::to_string(a.fn) + (a.cmd == command::can_do_timeout ? " 1000" : "");
    case action::kind::cant_do:
      return out + std::string("CANT_DO f") + std::to_string(a.fn);
    case action::kind::reset:
      return out + "RESET_ABILITIES";
    case action::kind::grab:
      return out + std::string(wire::name(a.cmd));
    case action::kind::pre_sleep:
      return out + "PRE_SLEEP";
    case action::kind::work:
      return out + std::string(wire::name(a.cmd)) + " for its oldest held job" +
             (a.data.empty() ? "" : " '" + a.data + "'");
    case action::kind::admin_status:
      return out + "admin status";
    case action::kind::admin_workers:
      return out + "admin workers";
    case action::kind::admin_cancel:
      return out + "admin cancel job of " + a.target + "'s submission " + std::to_string(a.job + 1);
    case action::kind::admin_maxqueue:
      return out + "admin maxqueue f" + std::to_string(a.fn) + (a.job ? " 1" : " (no limit)");
    case action::kind::wait:
      return "time passes (until its timers have fired)";
    case action::kind::disconnect:
      return out + "disconnects";
    case action::kind::kill:
      return out + "is killed (RST)";
    case action::kind::cut_packet:
      return out + "writes half a packet and is killed";
    case action::kind::restart:
      return "the server restarts (graceful stop, persistent queue kept); everyone reconnects";
    case action::kind::crash:
      return "the server crashes (SIGKILL) and starts again; everyone reconnects";
  }
  return out + "?";
}

}  // namespace gearspec::explore
