// The interop driver for C libgearman (Debian libgearman-dev), the library under php-gearman and the
// `gearman` tool. Clients use the task API with GEARMAN_CLIENT_FREE_TASKS, as long-running
// applications do. Same command line as every driver here (../README.md); prints one JSON object.

#include <libgearman/gearman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int timeout_ms = 15000;

struct observed {
  std::vector<std::pair<unsigned, unsigned>> status;
  std::vector<std::string> data;
  std::vector<std::string> results;  // "\x01null" stands for a failed task
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool wait_for_file(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "%s\n", why.c_str());
  std::exit(1);
}

struct worker_settings {
  std::string runs, updates, release;
};

void* work(gearman_job_st* job, void* context, size_t* result_size, gearman_return_t* ret) {
  auto& settings = *static_cast<worker_settings*>(context);
  std::ofstream(settings.runs, std::ios::app) << "run\n";
  if (settings.updates == "1") {
    gearman_job_send_status(job, 1, 2);
    gearman_job_send_data(job, "part", 4);
  }
  if (settings.release != "-" && !wait_for_file(settings.release)) die("release file never appeared");
  std::string payload(static_cast<const char*>(gearman_job_workload(job)),
                      gearman_job_workload_size(job));
  std::reverse(payload.begin(), payload.end());
  char* result = static_cast<char*>(std::malloc(payload.size() + 1));
  std::memcpy(result, payload.data(), payload.size());
  *result_size = payload.size();
  *ret = GEARMAN_SUCCESS;
  return result;
}

int run_worker(char** argv) {
  const int port = std::atoi(argv[2]);
  const char* fn = argv[3];
  const int jobs = std::atoi(argv[4]);
  worker_settings settings{argv[5], argv[6], argv[7]};
  gearman_worker_st* w = gearman_worker_create(nullptr);
  gearman_worker_add_server(w, "127.0.0.1", static_cast<in_port_t>(port));
  gearman_worker_set_timeout(w, timeout_ms);
  gearman_worker_add_function(w, fn, 0, work, &settings);
  for (int i = 0; i < jobs; ++i) {
    const gearman_return_t ret = gearman_worker_work(w);
    if (ret != GEARMAN_SUCCESS) die(std::string("gearman_worker_work: ") + gearman_worker_error(w));
  }
  gearman_worker_free(w);
  std::printf("{\"jobs\": %d}\n", jobs);
  return 0;
}

observed* seen_of(gearman_task_st* task) {
  return static_cast<observed*>(gearman_task_context(task));
}

gearman_return_t on_status(gearman_task_st* task) {
  seen_of(task)->status.emplace_back(gearman_task_numerator(task), gearman_task_denominator(task));
  return GEARMAN_SUCCESS;
}
gearman_return_t on_data(gearman_task_st* task) {
  seen_of(task)->data.emplace_back(static_cast<const char*>(gearman_task_data(task)),
                                   gearman_task_data_size(task));
  return GEARMAN_SUCCESS;
}
gearman_return_t on_complete(gearman_task_st* task) {
  seen_of(task)->results.emplace_back(static_cast<const char*>(gearman_task_data(task)),
                                      gearman_task_data_size(task));
  return GEARMAN_SUCCESS;
}
gearman_return_t on_fail(gearman_task_st* task) {
  seen_of(task)->results.emplace_back("\x01null");
  return GEARMAN_SUCCESS;
}

void print(const observed& seen, const std::string& kase) {
  auto value = [](const std::string& r) { return r == "\x01null" ? std::string("null") : json_string(r); };
  if (kase == "plain") {
    std::printf("{\"result\": %s}\n", seen.results.empty() ? "null" : value(seen.results[0]).c_str());
    return;
  }
  std::string out = "{\"status\": [";
  for (std::size_t i = 0; i < seen.status.size(); ++i)
    out += (i ? ", [" : "[") + std::to_string(seen.status[i].first) + ", " +
           std::to_string(seen.status[i].second) + "]";
  out += "], \"data\": [";
  for (std::size_t i = 0; i < seen.data.size(); ++i) out += (i ? ", " : "") + json_string(seen.data[i]);
  out += "], \"results\": [";
  for (std::size_t i = 0; i < seen.results.size(); ++i) out += (i ? ", " : "") + value(seen.results[i]);
  std::printf("%s]}\n", out.c_str());
}

int run_client(char** argv) {
  const std::string kase = argv[2];
  const int port = std::atoi(argv[3]);
  const char* fn = argv[4];
  const std::string data = argv[5];
  const char* unique = argv[6];
  gearman_client_st* c = gearman_client_create(nullptr);
  gearman_client_add_server(c, "127.0.0.1", static_cast<in_port_t>(port));
  gearman_client_set_timeout(c, timeout_ms);
  gearman_client_add_options(c, GEARMAN_CLIENT_FREE_TASKS);

  if (kase == "background") {
    const std::string release = argv[7];
    gearman_job_handle_t handle;
    if (gearman_client_do_background(c, fn, unique, data.data(), data.size(), handle) !=
        GEARMAN_SUCCESS)
      die(std::string("gearman_client_do_background: ") + gearman_client_error(c));
    std::string statuses;
    std::string last;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      bool known = false, running = false;
      uint32_t num = 0, den = 0;
      if (gearman_client_job_status(c, handle, &known, &running, &num, &den) != GEARMAN_SUCCESS)
        die(std::string("gearman_client_job_status: ") + gearman_client_error(c));
      const std::string now = std::string("[") + (known ? "true" : "false") + ", " +
                              (running ? "true" : "false") + ", " + std::to_string(num) + ", " +
                              std::to_string(den) + "]";
      if (now != last) statuses += (statuses.empty() ? "" : ", ") + now;
      last = now;
      if (known && running && num == 1 && !exists(release)) std::ofstream{release};
      if (!known) break;
      if (std::chrono::steady_clock::now() > deadline) die("job never finished: " + statuses);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::printf("{\"statuses\": [%s]}\n", statuses.c_str());
    gearman_client_free(c);
    return 0;
  }

  observed seen;
  gearman_client_set_status_fn(c, on_status);
  gearman_client_set_data_fn(c, on_data);
  gearman_client_set_complete_fn(c, on_complete);
  gearman_client_set_fail_fn(c, on_fail);
  const int tasks = kase == "twice" ? 2 : 1;
  for (int i = 0; i < tasks; ++i) {
    gearman_return_t ret;
    if (!gearman_client_add_task(c, nullptr, &seen, fn, unique, data.data(), data.size(), &ret))
      die(std::string("gearman_client_add_task: ") + gearman_client_error(c));
  }
  const gearman_return_t ret = gearman_client_run_tasks(c);
  if (ret != GEARMAN_SUCCESS) {
    print(seen, kase);
    die(std::string("gearman_client_run_tasks: ") + gearman_client_error(c));
  }
  print(seen, kase);
  gearman_client_free(c);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 8 && std::string(argv[1]) == "worker") return run_worker(argv);
  if (argc >= 7 && std::string(argv[1]) == "client") return run_client(argv);
  std::fprintf(stderr,
               "usage: %s worker PORT FN JOBS RUNS_FILE UPDATES RELEASE_FILE\n"
               "       %s client plain|updates|twice|background PORT FN DATA UNIQUE [RELEASE_FILE]\n",
               argv[0], argv[0]);
  return 2;
}
