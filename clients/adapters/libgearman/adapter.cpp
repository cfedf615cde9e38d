// The `gearspec clients` adapter for C libgearman (Debian libgearman-dev 1.1.20), the library under
// PHP's gearman extension and the `gearman` tool. It only translates the contract
// (docs/clients.md) into libgearman calls, the way an application would make them: the task API
// for submissions (a task set run with gearman_client_run_tasks), gearman_worker_work for jobs.
// No test logic lives here.
//
// stdin is read on a thread of its own, so `quit` ends the process even while libgearman blocks.

#include <libgearman/gearman.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/clients/json_line.hpp"
#include "harness/engine/json.hpp"

namespace {

using gearspec::clients::from_hex;
using gearspec::clients::json_object;
using gearspec::clients::parse_json_line;
using gearspec::clients::to_hex;

std::mutex out_lock;

// Names travel as JSON strings (the engine's writer); bytes travel as hex.
constexpr auto quoted = [](std::string_view s) { return gearspec::engine::json_string(s); };

void emit(const std::string& name,
          const std::vector<std::pair<std::string, std::string>>& fields = {}) {
  std::string line = "{\"event\":" + quoted(name);
  for (const auto& [k, v] : fields) line += "," + quoted(k) + ":" + v;
  line += "}\n";
  std::lock_guard lock(out_lock);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

std::string field(const json_object& o, const std::string& key) {
  const auto it = o.find(key);
  return it == o.end() ? std::string() : it->second.value.text;
}

struct submission {
  std::string id, function, unique, data, priority;
  bool background = false;
  long long timeout_ms = 0;
  bool ended = false;
};

struct registration {
  std::string function;
  std::vector<json_object> script;
};

submission& sub_of(gearman_task_st* task) {
  return *static_cast<submission*>(gearman_task_context(task));
}

std::string task_data(gearman_task_st* task) {
  const auto* p = static_cast<const char*>(gearman_task_data(task));
  return p ? std::string(p, gearman_task_data_size(task)) : std::string();
}

gearman_return_t on_created(gearman_task_st* task) {
  auto& s = sub_of(task);
  emit("created", {{"id", quoted(s.id)}, {"handle", quoted(gearman_task_job_handle(task))}});
  if (s.background) s.ended = true;
  return GEARMAN_SUCCESS;
}
gearman_return_t on_data(gearman_task_st* task) {
  emit("data", {{"id", quoted(sub_of(task).id)}, {"data_hex", quoted(to_hex(task_data(task)))}});
  return GEARMAN_SUCCESS;
}
gearman_return_t on_warning(gearman_task_st* task) {
  emit("warning", {{"id", quoted(sub_of(task).id)}, {"data_hex", quoted(to_hex(task_data(task)))}});
  return GEARMAN_SUCCESS;
}
gearman_return_t on_status(gearman_task_st* task) {
  emit("status", {{"id", quoted(sub_of(task).id)},
                  {"numerator", std::to_string(gearman_task_numerator(task))},
                  {"denominator", std::to_string(gearman_task_denominator(task))}});
  return GEARMAN_SUCCESS;
}
gearman_return_t on_complete(gearman_task_st* task) {
  auto& s = sub_of(task);
  s.ended = true;
  emit("complete", {{"id", quoted(s.id)}, {"data_hex", quoted(to_hex(task_data(task)))}});
  return GEARMAN_SUCCESS;
}
gearman_return_t on_fail(gearman_task_st* task) {
  auto& s = sub_of(task);
  s.ended = true;
  emit("fail", {{"id", quoted(s.id)}});
  return GEARMAN_SUCCESS;
}
gearman_return_t on_exception(gearman_task_st* task) {
  auto& s = sub_of(task);
  s.ended = true;
  emit("exception", {{"id", quoted(s.id)}, {"data_hex", quoted(to_hex(task_data(task)))}});
  return GEARMAN_SUCCESS;
}

void* job_function(gearman_job_st* job, void* context, size_t* result_size, gearman_return_t* ret) {
  const auto& reg = *static_cast<registration*>(context);
  const std::string data(static_cast<const char*>(gearman_job_workload(job)),
                         gearman_job_workload_size(job));
  emit("job", {{"function", quoted(gearman_job_function_name(job))},
               {"handle", quoted(gearman_job_handle(job))},
               {"unique", quoted(gearman_job_unique(job) ? gearman_job_unique(job) : "")},
               {"data_hex", quoted(to_hex(data))}});
  *ret = GEARMAN_SUCCESS;
  *result_size = 0;
  for (const auto& a : reg.script) {
    const auto what = field(a, "do");
    const auto bytes =
        field(a, "data_hex").empty() ? std::string() : from_hex(field(a, "data_hex"));
    if (what == "data") {
      gearman_job_send_data(job, bytes.data(), bytes.size());
    } else if (what == "warning") {
      gearman_job_send_warning(job, bytes.data(), bytes.size());
    } else if (what == "status") {
      gearman_job_send_status(job, static_cast<uint32_t>(std::stoul(field(a, "numerator"))),
                              static_cast<uint32_t>(std::stoul(field(a, "denominator"))));
    } else if (what == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoll(field(a, "ms"))));
    } else if (what == "complete") {
      auto* result = static_cast<char*>(std::malloc(bytes.size() + 1));
      std::memcpy(result, bytes.data(), bytes.size());
      *result_size = bytes.size();
      return result;
    } else if (what == "fail") {
      *ret = GEARMAN_WORK_FAIL;
      return nullptr;
    } else if (what == "exception") {
      // libgearman's way to throw: send the exception, then return the failure.
      gearman_job_send_exception(job, bytes.data(), bytes.size());
      *ret = GEARMAN_WORK_EXCEPTION;
      return nullptr;
    }
  }
  return nullptr;
}

class adapter {
 public:
  explicit adapter(std::string servers) : servers_(std::move(servers)) {}

  void command(const json_object& o) {
    const auto verb = field(o, "cmd");
    if (verb == "submit") {
      auto s = std::make_unique<submission>();
      s->id = field(o, "id");
      s->function = field(o, "function");
      s->unique = field(o, "unique");
      s->data = from_hex(field(o, "data_hex"));
      s->priority = field(o, "priority");
      const auto bg = o.find("background");
      s->background = bg != o.end() && bg->second.value.flag;
      if (!field(o, "timeout_ms").empty()) s->timeout_ms = std::stoll(field(o, "timeout_ms"));
      queued_.push_back(std::move(s));
    } else if (verb == "run") {
      run();
    } else if (verb == "status") {
      bool known = false, running = false;
      uint32_t num = 0, den = 0;
      const auto rc = gearman_client_job_status(client(), field(o, "handle").c_str(), &known,
                                                &running, &num, &den);
      if (gearman_failed(rc))
        emit("error", {{"id", quoted(field(o, "id"))},
                       {"class", quoted(error_class(rc))},
                       {"message", quoted(gearman_client_error(client()))}});
      else
        emit("status_answer", {{"id", quoted(field(o, "id"))},
                               {"known", known ? "true" : "false"},
                               {"running", running ? "true" : "false"},
                               {"numerator", std::to_string(num)},
                               {"denominator", std::to_string(den)}});
    } else if (verb == "status_unique") {
      const auto u = field(o, "unique");
      const auto st = gearman_client_unique_status(client(), u.data(), u.size());
      emit("status_answer", {{"id", quoted(field(o, "id"))},
                             {"known", gearman_status_is_known(st) ? "true" : "false"},
                             {"running", gearman_status_is_running(st) ? "true" : "false"},
                             {"numerator", std::to_string(gearman_status_numerator(st))},
                             {"denominator", std::to_string(gearman_status_denominator(st))}});
    } else if (verb == "echo") {
      const auto d = from_hex(field(o, "data_hex"));
      const auto rc = gearman_client_echo(client(), d.data(), d.size());
      if (gearman_failed(rc))
        emit("error", {{"id", quoted(field(o, "id"))}, {"class", quoted(error_class(rc))}});
      else
        emit("echo", {{"id", quoted(field(o, "id"))}, {"data_hex", quoted(to_hex(d))}});
    } else if (verb == "client_id") {
      const auto id = from_hex(field(o, "data_hex"));
      gearman_client_set_identifier(client(), id.data(), id.size());
      gearman_worker_set_identifier(worker(), id.data(), id.size());
    } else if (verb == "register") {
      auto r = std::make_unique<registration>();
      r->function = field(o, "function");
      if (const auto it = o.find("script"); it != o.end())
        for (const auto& item : it->second.list) r->script.push_back(parse_json_line(item.text));
      // The API takes the timeout in seconds (libgearman's worker.h); CAN_DO_TIMEOUT carries it.
      const auto timeout_s =
          field(o, "timeout_ms").empty() ? 0 : std::stoll(field(o, "timeout_ms")) / 1000;
      gearman_worker_add_function(worker(), r->function.c_str(), static_cast<uint32_t>(timeout_s),
                                  job_function, r.get());
      registrations_.push_back(std::move(r));
    } else if (verb == "unregister") {
      gearman_worker_unregister(worker(), field(o, "function").c_str());
    } else if (verb == "work") {
      const auto jobs = std::stoul(field(o, "jobs"));
      for (unsigned long done = 0; done < jobs;) {
        const auto rc = gearman_worker_work(worker());
        if (rc == GEARMAN_SUCCESS || rc == GEARMAN_WORK_FAIL || rc == GEARMAN_WORK_EXCEPTION) {
          ++done;
        } else {
          // A lost server: libgearman connects again on the next call, as applications loop.
          std::fprintf(stderr, "gearman_worker_work: %s\n", gearman_worker_error(worker()));
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      emit("done");
    } else {
      emit("error",
           {{"class", quoted("unsupported")}, {"message", quoted("unknown command " + verb)}});
    }
  }

 private:
  static std::string error_class(gearman_return_t rc) {
    switch (rc) {
      case GEARMAN_TIMEOUT:
        return "timeout";
      case GEARMAN_LOST_CONNECTION:
      case GEARMAN_COULD_NOT_CONNECT:
      case GEARMAN_ERRNO:
        return "connection";
      case GEARMAN_SERVER_ERROR:
        return "server";
      default:
        return "other";
    }
  }

  gearman_client_st* client() {
    if (!client_) {
      client_ = gearman_client_create(nullptr);
      gearman_client_add_servers(client_, servers_.c_str());
      gearman_client_add_options(client_, GEARMAN_CLIENT_EXCEPTION);
      gearman_client_set_created_fn(client_, on_created);
      gearman_client_set_data_fn(client_, on_data);
      gearman_client_set_warning_fn(client_, on_warning);
      gearman_client_set_status_fn(client_, on_status);
      gearman_client_set_complete_fn(client_, on_complete);
      gearman_client_set_fail_fn(client_, on_fail);
      gearman_client_set_exception_fn(client_, on_exception);
    }
    return client_;
  }

  gearman_worker_st* worker() {
    if (!worker_) {
      worker_ = gearman_worker_create(nullptr);
      gearman_worker_add_servers(worker_, servers_.c_str());
    }
    return worker_;
  }

  void run() {
    auto* c = client();
    long long timeout = 0;
    for (const auto& s : queued_)
      if (s->timeout_ms && (!timeout || s->timeout_ms < timeout)) timeout = s->timeout_ms;
    gearman_client_set_timeout(c, timeout ? static_cast<int>(timeout) : -1);
    for (auto& s : queued_) {
      gearman_return_t rc = GEARMAN_SUCCESS;
      const char* unique = s->unique.empty() ? nullptr : s->unique.c_str();
      auto add = s->background ? (s->priority == "high"  ? gearman_client_add_task_high_background
                                  : s->priority == "low" ? gearman_client_add_task_low_background
                                                         : gearman_client_add_task_background)
                               : (s->priority == "high"  ? gearman_client_add_task_high
                                  : s->priority == "low" ? gearman_client_add_task_low
                                                         : gearman_client_add_task);
      if (!add(c, nullptr, s.get(), s->function.c_str(), unique, s->data.data(), s->data.size(),
               &rc))
        emit("error", {{"id", quoted(s->id)},
                       {"class", quoted(error_class(rc))},
                       {"message", quoted(gearman_client_error(c))}}),
            s->ended = true;
    }
    const auto rc = gearman_client_run_tasks(c);
    for (auto& s : queued_)
      if (!s->ended)
        emit("error",
             {{"id", quoted(s->id)},
              {"class", quoted(error_class(rc))},
              {"message", quoted(gearman_client_error(c) ? gearman_client_error(c) : "")}});
    // Tasks point at their submissions until libgearman frees them with the client.
    for (auto& s : queued_) ran_.push_back(std::move(s));
    queued_.clear();
    emit("done");
  }

  std::string servers_;
  gearman_client_st* client_ = nullptr;
  gearman_worker_st* worker_ = nullptr;
  std::vector<std::unique_ptr<submission>> queued_, ran_;
  std::vector<std::unique_ptr<registration>> registrations_;
};

}  // namespace

int main() {
  const char* servers = std::getenv("GEARSPEC_SERVERS");
  emit("hello",
       {{"library", quoted("libgearman")},
        {"version", quoted(gearman_version())},
        {"capabilities",
         "[\"client\",\"worker\",\"background\",\"unique\",\"priority\",\"status\","
         "\"status_unique\",\"exceptions\",\"data\",\"warning\",\"work_status\",\"timeout\","
         "\"can_do_timeout\",\"several_servers\",\"client_id\",\"echo\",\"reconnect\","
         "\"task_set\"]"}});
  std::mutex lock;
  std::condition_variable ready;
  std::deque<json_object> commands;
  std::thread reader([&] {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      json_object o;
      try {
        o = parse_json_line(line);
      } catch (const std::exception& e) {
        emit("error", {{"class", quoted("contract")}, {"message", quoted(e.what())}});
        continue;
      }
      if (field(o, "cmd") == "quit") break;
      std::lock_guard g(lock);
      commands.push_back(std::move(o));
      ready.notify_one();
    }
    std::lock_guard g(out_lock);  // never in the middle of an event line
    std::fflush(stdout);
    _exit(0);  // quit, or the end of the commands, even while libgearman blocks
  });
  adapter a(servers ? servers : "");
  while (true) {
    json_object o;
    {
      std::unique_lock g(lock);
      ready.wait(g, [&] { return !commands.empty(); });
      o = std::move(commands.front());
      commands.pop_front();
    }
    a.command(o);
  }
}
