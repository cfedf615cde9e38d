// _gearspec: the C++ engine for Python. The friendly API is in gearspec/__init__.py; this module
// exposes packets, blocking actors, the embedded reference server, scenario loading and suite runs.
// Every call that waits on the network releases the GIL.

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <sstream>

#include "harness/engine/concurrent.hpp"
#include "harness/engine/expectation.hpp"
#include "harness/engine/report.hpp"
#include "harness/engine/suite.hpp"
#include "harness/engine/sync_actor.hpp"
#include "harness/explore/explore.hpp"
#include "harness/scenario/loader.hpp"
#include "harness/targets/make_target.hpp"
#include "harness/wire/printer.hpp"
#include "reference-server/server/server_options.hpp"

namespace py = pybind11;
using namespace gearspec;
using ms = std::chrono::milliseconds;

namespace {

py::bytes to_bytes(const std::string& s) {
  return py::bytes(s.data(), s.size());
}

/// Reference server options from keyword arguments: worker_loss="fail" is --worker-loss fail, a
/// flag set to True is given, one set to False is not.
std::vector<std::pair<std::string, std::string>> options_from(const py::dict& options) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto item : options) {
    auto name = py::str(item.first).cast<std::string>();
    for (auto& c : name)
      if (c == '_') c = '-';
    if (py::isinstance<py::bool_>(item.second)) {
      if (item.second.cast<bool>()) out.emplace_back(name, "");
    } else {
      out.emplace_back(name, py::str(item.second).cast<std::string>());
    }
  }
  return out;
}

/// The embedded server's configuration from keyword arguments (ValueError for a bad option).
refsrv::server_config config_from(const py::dict& options) {
  refsrv::server_config config;
  for (const auto& [name, value] : options_from(options)) {
    if (!refsrv::server_option_takes_value(name))
      throw py::value_error("unknown reference server option '" + name + "'");
    if (auto error = refsrv::apply_server_option(config, name, value); !error.empty())
      throw py::value_error(error);
  }
  return config;
}

/// The Python-visible embedded server (a context manager in gearspec/__init__.py).
class reference_server {
 public:
  explicit reference_server(refsrv::server_config config)
      : server_(std::make_unique<refsrv::embedded_server>(std::move(config))) {}
  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  std::string host() const { return server_ ? server_->address() : std::string(); }
  void stop() {
    if (server_) server_->stop();
    server_.reset();
  }

 private:
  std::unique_ptr<refsrv::embedded_server> server_;
};

/// A suite run's target, built from keyword arguments (ValueError for a spec that makes no sense).
std::unique_ptr<engine::target> make_target(const std::vector<std::string>& addresses,
                                            const std::string& spawn, bool persistent,
                                            const py::dict& reference_options,
                                            double timeout_scale) {
  targets::target_spec spec;
  spec.addresses = addresses;
  if (!spawn.empty()) spec.spawn = spawn;
  spec.persistent = persistent;
  spec.reference_options = options_from(reference_options);
  spec.timeout_scale = timeout_scale;
  try {
    return targets::make_target(spec);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

/// Results keep the scenarios they point to alive.
struct suite_run {
  std::vector<scenario::scenario> scenarios;
  std::vector<engine::scenario_result> results;
  std::string target;
  std::string profile;
  engine::capability_report capabilities;
  engine::run_report report() const { return {&results, target, profile, &capabilities, nullptr}; }
};

}  // namespace

PYBIND11_MODULE(_gearspec, m) {
  m.doc() = "gearspec engine (C++); use the gearspec package for the documented API";

  auto scenario_error =
      py::register_exception<scenario::scenario_error>(m, "ScenarioError", PyExc_ValueError);
  (void)scenario_error;
  py::register_exception<engine::expect_error>(m, "ExpectError", PyExc_AssertionError);
  py::register_exception<engine::target_error>(m, "TargetError", PyExc_RuntimeError);

  py::class_<wire::packet>(m, "Packet", "A Gearman packet: name, magic and arguments (bytes).")
      .def_property_readonly("name",
                             [](const wire::packet& p) { return std::string(wire::name(p.cmd)); })
      .def_property_readonly("number", [](const wire::packet& p) { return wire::number(p.cmd); })
      .def_property_readonly("magic",
                             [](const wire::packet& p) {
                               return p.magic == wire::packet_magic::request ? "REQ" : "RES";
                             })
      .def_property_readonly("args",
                             [](const wire::packet& p) {
                               py::list out;
                               for (const auto& a : p.args) out.append(to_bytes(a));
                               return out;
                             })
      .def("__getitem__",
           [](const wire::packet& p, std::size_t i) {
             if (i >= p.args.size())
               throw py::index_error("packet has " + std::to_string(p.args.size()) + " arguments");
             return to_bytes(p.args[i]);
           })
      .def("__len__", [](const wire::packet& p) { return p.args.size(); })
      .def("__eq__", [](const wire::packet& a, const wire::packet& b) { return a == b; })
      .def("__repr__", [](const wire::packet& p) { return wire::to_string(p); });

  py::class_<scenario::matcher>(m, "Matcher",
                                "How one argument is judged: any, exact, regex or prefix.")
      .def_static("any", &scenario::matcher::any)
      .def_static("exact", [](py::bytes v) { return scenario::matcher::exact(std::string(v)); })
      .def_static("regex", [](const std::string& v) { return scenario::matcher::regex(v); })
      .def_static("prefix", [](py::bytes v) { return scenario::matcher::prefix(std::string(v)); })
      .def("matches",
           [](const scenario::matcher& self, py::bytes v) {
             engine::variables vars("script");
             engine::bindings captures;
             return engine::matches(self, std::string(v), vars, captures);
           })
      .def("__repr__", [](const scenario::matcher& self) {
        engine::variables vars("script");
        return engine::describe(self, vars);
      });

  py::class_<wire::admin_response>(m, "AdminResponse", "An answer of the admin text protocol.")
      .def_property_readonly(
          "kind", [](const wire::admin_response& r) { return std::string(wire::name(r.type)); })
      .def_readonly("lines", &wire::admin_response::lines)
      .def_readonly("value", &wire::admin_response::value)
      .def_readonly("error_code", &wire::admin_response::error_code)
      .def_readonly("error_text", &wire::admin_response::error_text)
      .def_property_readonly("raw", [](const wire::admin_response& r) { return to_bytes(r.raw); })
      .def("__repr__", [](const wire::admin_response& r) {
        return "AdminResponse(" + wire::escape_bytes(r.raw, 200) + ")";
      });

  py::class_<engine::sync_actor>(m, "Actor", "One blocking connection; the waits release the GIL.")
      .def(py::init([](const std::string& host, std::uint16_t port, double timeout) {
             return std::make_unique<engine::sync_actor>(host, port,
                                                         ms(static_cast<long>(timeout * 1000)));
           }),
           py::arg("host"), py::arg("port"), py::arg("timeout") = 5.0,
           py::call_guard<py::gil_scoped_release>())
      .def("send", &engine::sync_actor::send, py::arg("name"), py::arg("args"),
           py::call_guard<py::gil_scoped_release>())
      .def("send_raw",
           [](engine::sync_actor& a, py::bytes b) {
             std::string bytes(b);
             py::gil_scoped_release release;
             a.send_raw(bytes);
           })
      .def(
          "receive",
          [](engine::sync_actor& a, double timeout) {
            return a.receive(ms(static_cast<long>(timeout * 1000)));
          },
          py::arg("timeout"), py::call_guard<py::gil_scoped_release>())
      .def(
          "expect",
          [](engine::sync_actor& a, const std::string& name,
             const std::vector<scenario::matcher>& args, double timeout) {
            return a.expect(name, args, ms(static_cast<long>(timeout * 1000)));
          },
          py::arg("name"), py::arg("args"), py::arg("timeout"),
          py::call_guard<py::gil_scoped_release>())
      .def(
          "expect_none",
          [](engine::sync_actor& a, double window) {
            a.expect_none(ms(static_cast<long>(window * 1000)));
          },
          py::call_guard<py::gil_scoped_release>())
      .def(
          "expect_closed",
          [](engine::sync_actor& a, double timeout) {
            a.expect_closed(ms(static_cast<long>(timeout * 1000)));
          },
          py::call_guard<py::gil_scoped_release>())
      .def(
          "admin",
          [](engine::sync_actor& a, const std::string& line, double timeout) {
            return a.admin(line, ms(static_cast<long>(timeout * 1000)));
          },
          py::call_guard<py::gil_scoped_release>())
      .def(
          "wait_until",
          [](engine::sync_actor& a, const std::string& line,
             const std::function<bool(const wire::admin_response&)>& accept, double timeout,
             double interval) {
            return a.wait_until(line, accept, ms(static_cast<long>(timeout * 1000)),
                                ms(static_cast<long>(interval * 1000)));
          },
          py::arg("line"), py::arg("accept"), py::arg("timeout"), py::arg("interval"),
          py::call_guard<py::gil_scoped_release>())
      .def("close", &engine::sync_actor::close)
      .def("kill", &engine::sync_actor::kill)
      .def_property_readonly("closed", &engine::sync_actor::closed);

  py::class_<reference_server>(m, "ReferenceServer",
                               "The embedded reference server on 127.0.0.1 and a free port.")
      .def(py::init([](py::kwargs options) {
        return std::make_unique<reference_server>(config_from(options));
      }))
      .def_property_readonly("host", &reference_server::host)
      .def_property_readonly("port", &reference_server::port)
      .def("stop", &reference_server::stop, py::call_guard<py::gil_scoped_release>());

  py::class_<scenario::scenario>(m, "Scenario", "A loaded YAML scenario.")
      .def_readonly("id", &scenario::scenario::id)
      .def_readonly("title", &scenario::scenario::title)
      .def_readonly("requirements", &scenario::scenario::requirements)
      .def_readonly("level", &scenario::scenario::level)
      .def_readonly("tags", &scenario::scenario::tags)
      .def_readonly("description", &scenario::scenario::description)
      .def_readonly("file", &scenario::scenario::file)
      .def_readonly("servers", &scenario::scenario::servers)
      .def("__repr__", [](const scenario::scenario& s) { return "<Scenario " + s.id + ">"; });
  m.def("load_scenario_file", &scenario::load_scenario_file, py::arg("path"));
  m.def("load_scenario_string", &scenario::load_scenario_string, py::arg("yaml"),
        py::arg("name") = "<string>");
  m.def("find_scenario_files", &scenario::find_scenario_files, py::arg("path"));

  py::class_<scenario::profile>(m, "Profile")
      .def_readonly("implementation", &scenario::profile::implementation)
      .def_readonly("version", &scenario::profile::version)
      .def_readonly("file", &scenario::profile::file);
  m.def("load_profile_file", &scenario::load_profile_file, py::arg("path"));

  py::class_<engine::transcript_entry>(m, "TranscriptEntry")
      .def_readonly("ms", &engine::transcript_entry::at_ms)
      .def_readonly("actor", &engine::transcript_entry::actor)
      .def_property_readonly(
          "direction",
          [](const engine::transcript_entry& e) { return std::string(1, e.direction); })
      .def_readonly("text", &engine::transcript_entry::text)
      .def_readonly("packet", &engine::transcript_entry::packet)
      .def("__repr__",
           [](const engine::transcript_entry& e) { return engine::format_transcript({e}); });

  py::class_<suite_run, std::shared_ptr<suite_run>>(m, "SuiteRun")
      .def_readonly("target", &suite_run::target)
      .def("__len__", [](const suite_run& r) { return r.results.size(); })
      .def("verdict",
           [](const suite_run& r, std::size_t i) {
             return std::string(engine::verdict_name(r.results.at(i).result));
           })
      .def("id", [](const suite_run& r, std::size_t i) { return r.results.at(i).source->id; })
      .def("title", [](const suite_run& r, std::size_t i) { return r.results.at(i).source->title; })
      .def("file", [](const suite_run& r, std::size_t i) { return r.results.at(i).source->file; })
      .def("reason", [](const suite_run& r, std::size_t i) { return r.results.at(i).reason; })
      .def("evidence", [](const suite_run& r, std::size_t i) { return r.results.at(i).evidence; })
      .def("elapsed_ms",
           [](const suite_run& r, std::size_t i) { return r.results.at(i).run.elapsed.count(); })
      .def("mismatch",
           [](const suite_run& r, std::size_t i) -> py::object {
             const auto& m2 = r.results.at(i).run.first;
             if (!m2) return py::none();
             py::dict d;
             d["at"] = m2->mark.str();
             d["step"] = m2->step;
             d["expected"] = m2->expected;
             d["actual"] = m2->actual;
             d["note"] = m2->note;
             return d;
           })
      .def("transcript",
           [](const suite_run& r, std::size_t i) { return r.results.at(i).run.transcript; })
      .def("details",
           [](const suite_run& r, std::size_t i) {
             std::ostringstream out;
             engine::terminal_style style;
             style.verbose = true;
             engine::print_details(out, r.results.at(i), style);
             return out.str();
           })
      .def("variant", [](const suite_run& r, std::size_t i) { return r.results.at(i).variant; })
      .def("level", [](const suite_run& r, std::size_t i) { return r.results.at(i).source->level; })
      .def("blocked_by",
           [](const suite_run& r, std::size_t i) { return r.results.at(i).blocked_by; })
      .def("write_junit",
           [](const suite_run& r, const std::string& path) {
             if (!engine::write_junit(path, r.report()))
               throw py::value_error("cannot write " + path);
           })
      .def("write_json",
           [](const suite_run& r, const std::string& path) {
             if (!engine::write_json(path, r.report()))
               throw py::value_error("cannot write " + path);
           })
      .def("write_html", [](const suite_run& r, const std::string& path) {
        if (!engine::write_html(path, r.report())) throw py::value_error("cannot write " + path);
      });

  py::class_<explore::finding>(
      m, "ExploreFinding", "One distinct kind of divergence (or known variant) found by explore.")
      .def_property_readonly("kind", [](const explore::finding& f) { return f.found.kind; })
      .def_property_readonly("step", [](const explore::finding& f) { return f.found.step; })
      .def_property_readonly("move", [](const explore::finding& f) { return f.found.move; })
      .def_property_readonly("actor", [](const explore::finding& f) { return f.found.actor; })
      .def_property_readonly("seed", [](const explore::finding& f) { return f.shrunk.seed; })
      .def_property_readonly("moves",
                             [](const explore::finding& f) { return f.shrunk.actions.size(); })
      .def_readonly("original_moves", &explore::finding::original_moves)
      .def_readonly("seen", &explore::finding::seen)
      .def_readonly("known_variant", &explore::finding::known_variant)
      .def_readonly("judged_with", &explore::finding::judged_with)
      .def_readonly("yaml", &explore::finding::yaml)
      .def_readonly("yaml_path", &explore::finding::yaml_path)
      .def_readonly("reproduces", &explore::finding::reproduces)
      .def_readonly("reproduction", &explore::finding::reproduction)
      .def("__repr__",
           [](const explore::finding& f) { return "<ExploreFinding " + f.found.kind + ">"; });

  py::class_<explore::explore_report>(m, "ExploreReport")
      .def_readonly("programs", &explore::explore_report::programs)
      .def_readonly("errors", &explore::explore_report::errors)
      .def_readonly("first_error", &explore::explore_report::first_error)
      .def_readonly("divergences", &explore::explore_report::divergences)
      .def_readonly("notes", &explore::explore_report::notes)
      .def_readonly("not_explored", &explore::explore_report::not_explored);

  m.def(
      "explore",
      [](std::vector<std::string> targets, std::string spawn, py::dict reference_options,
         double seconds, std::uint64_t seed, std::size_t length, std::string weights,
         double timeout_scale, std::string out_dir, std::size_t programs, unsigned jobs) {
        auto target = make_target(targets, spawn, false, reference_options, timeout_scale);
        auto reference = make_target({}, "", false, py::dict(), timeout_scale);
        explore::explore_options options;
        options.time_budget = ms(static_cast<long long>(seconds * 1000));
        options.seed = seed;
        options.length = length;
        options.max_programs = programs;
        options.jobs = jobs ? jobs : explore::default_jobs();
        try {
          if (!weights.empty()) options.moves.apply(weights);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        options.run.timeout_scale = timeout_scale;
        options.out_dir = out_dir;
        auto reference_with = [](const std::vector<std::pair<std::string, std::string>>& extra) {
          targets::target_spec spec;
          spec.reference_options = extra;
          return targets::make_target(spec);
        };
        py::gil_scoped_release unlocked;
        return explore::run_explore(*target, *reference, reference_with, options);
      },
      py::arg("targets"), py::arg("spawn"), py::arg("reference_options"), py::arg("seconds"),
      py::arg("seed"), py::arg("length"), py::arg("weights"), py::arg("timeout_scale"),
      py::arg("out_dir"), py::arg("programs"), py::arg("jobs"));

  py::class_<engine::capability_report>(
      m, "Capabilities", "What a capability probe found: present names, missing name -> why.")
      .def_readonly("present", &engine::capability_report::present)
      .def_readonly("missing", &engine::capability_report::missing)
      .def_readonly("probed", &engine::capability_report::probed)
      .def_readonly("request_magic", &engine::capability_report::request_magic)
      .def_property_readonly("grab", [](const engine::capability_report& c) {
        return std::string(wire::name(c.grab));
      });

  m.def(
      "probe_capabilities",
      [](std::vector<std::string> targets, std::string spawn, bool persistent,
         py::dict reference_options, double timeout_scale, unsigned jobs) {
        auto target = make_target(targets, spawn, persistent, reference_options, timeout_scale);
        engine::run_options options;
        options.timeout_scale = timeout_scale;
        py::gil_scoped_release release;
        return engine::probe_capabilities(*target, options, jobs);
      },
      py::arg("targets") = std::vector<std::string>{}, py::arg("spawn") = "",
      py::arg("persistent") = false, py::arg("reference_options") = py::dict(),
      py::arg("timeout_scale") = 1.0, py::arg("jobs") = 2);

  m.def(
      "run_scenarios",
      [](std::vector<scenario::scenario> scenarios, std::vector<std::string> targets,
         std::string spawn, bool persistent, py::dict reference_options,
         std::optional<std::string> profile_path, unsigned jobs, unsigned repeat,
         double timeout_scale, bool probe, std::optional<engine::capability_report> capabilities) {
        auto run = std::make_shared<suite_run>();
        run->scenarios = std::move(scenarios);
        auto target = make_target(targets, spawn, persistent, reference_options, timeout_scale);
        run->target = target->describe();
        std::optional<scenario::profile> profile;
        if (profile_path) profile = scenario::load_profile_file(*profile_path);
        engine::suite_options options;
        options.jobs = jobs;
        options.repeat = repeat;
        options.run.timeout_scale = timeout_scale;
        options.profile = profile ? &*profile : nullptr;
        if (profile) run->profile = profile->implementation + " " + profile->version;
        {
          py::gil_scoped_release release;
          if (capabilities || probe) {
            run->capabilities = capabilities
                                    ? *capabilities
                                    : engine::probe_capabilities(*target, options.run, jobs);
            engine::use_probe_results(run->capabilities, options);
          }
          run->results = engine::run_suite(run->scenarios, *target, options);
        }
        return run;
      },
      py::arg("scenarios"), py::arg("targets") = std::vector<std::string>{}, py::arg("spawn") = "",
      py::arg("persistent") = false, py::arg("reference_options") = py::dict(),
      py::arg("profile") = std::nullopt, py::arg("jobs") = 1, py::arg("repeat") = 1,
      py::arg("timeout_scale") = 1.0, py::arg("probe") = true,
      py::arg("capabilities") = std::nullopt);

  m.def(
      "parallel",
      [](std::vector<py::function> functions, double timeout) {
        // Shared with the threads, which may outlive this call when it times out; Python objects
        // are only touched with the GIL held, also when the last thread drops them.
        struct shared {
          std::vector<py::function> functions;
          std::vector<py::object> results;
        };
        auto state = std::make_shared<shared>();
        state->results.resize(functions.size());
        state->functions = std::move(functions);
        std::vector<std::function<void()>> calls;
        for (std::size_t i = 0; i < state->functions.size(); ++i) {
          calls.emplace_back([state, i]() mutable {
            py::gil_scoped_acquire gil;
            auto keep = std::move(state);
            keep->results[i] = keep->functions[i]();
          });
        }
        std::vector<std::exception_ptr> errors;
        {
          py::gil_scoped_release release;
          errors =
              engine::run_concurrently(std::move(calls), ms(static_cast<long>(timeout * 1000)));
        }
        for (const auto& e : errors)
          if (e) std::rethrow_exception(e);
        py::list out;
        for (auto& r : state->results) out.append(r);
        return out;
      },
      py::arg("functions"), py::arg("timeout"));

  m.def("packet_names", [] {
    std::vector<std::string> names;
    for (std::uint32_t n = wire::first_command_number; n <= wire::last_command_number; ++n)
      names.emplace_back(wire::find_command(n)->name);
    return names;
  });
}
