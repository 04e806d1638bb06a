#pragma once
// A real Manager on the test's private cgroup, with the real helper, driven on a real loop.
// Transitions are recorded with their times so tests can check sequences and delays.
#include <doctest/doctest.h>
#include <uv.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cgroup/placement.h"
#include "config/loader.h"
#include "supervisor/launcher.h"
#include "supervisor/manager.h"
#include "tests/cgroup/test_support.h"

namespace climits::test {

struct Transition {
  std::string program;
  supervisor::State from, to;
  std::chrono::steady_clock::time_point at;
};

class SupervisorHarness {
 public:
  SupervisorHarness() {
    uv_loop_init(&loop_);
    auto opened = cgroup::open_backend(private_layout(), "auto");
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    backend_ = std::move(*opened);
    launcher_ = std::make_unique<supervisor::Launcher>(&loop_, CLIMITS_TEST_HELPER, 1024);
    manager_ = std::make_unique<supervisor::Manager>(&loop_, *backend_, *launcher_);
    manager_->set_observer([this](const supervisor::ProgramRunner& runner, supervisor::State from,
                                  supervisor::State to) {
      transitions.push_back({runner.program().name, from, to, std::chrono::steady_clock::now()});
    });
  }

  ~SupervisorHarness() {
    bool done = false;
    manager_->shutdown([&] { done = true; });
    run_until([&] { return done; }, std::chrono::seconds(20));
    manager_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }

  // Loads `programs:` YAML (the body under programs) and starts the manager with it.
  void start(const std::string& programs_yaml) {
    std::string text = "programs:\n" + programs_yaml;
    auto loaded = config::load_config_text(text, "test.yaml", "/tmp");
    std::string errors;
    for (const auto& e : loaded.errors) errors += e.to_string() + "\n";
    REQUIRE_MESSAGE(loaded.config.has_value(), errors);
    config_ = *loaded.config;
    auto started = manager_->start(config_);
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  }

  // Reloads with a new `programs:` body.
  supervisor::ReloadResult reload(const std::string& programs_yaml) {
    auto loaded = config::load_config_text("programs:\n" + programs_yaml, "test.yaml", "/tmp");
    std::string errors;
    for (const auto& e : loaded.errors) errors += e.to_string() + "\n";
    REQUIRE_MESSAGE(loaded.config.has_value(), errors);
    return manager_->reload(*loaded.config);
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    return run_loop_until(&loop_, done, timeout);
  }

  supervisor::ProgramRunner& runner(const std::string& name) {
    auto* found = manager_->find(name);
    REQUIRE_MESSAGE(found != nullptr, name);
    return *found;
  }
  supervisor::State state(const std::string& name) { return runner(name).state(); }

  bool wait_for_state(const std::string& name, supervisor::State wanted,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return run_until([&] { return state(name) == wanted; }, timeout);
  }

  // The argv of the program's current process, once it is the program and not the helper
  // that execs it (on a slow machine `running` can come before the exec).
  std::vector<std::string> program_argv(
      const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::vector<std::string> argv;
    run_until(
        [&] {
          argv.clear();
          auto pid = runner(name).status().pid;
          if (!pid) return false;
          std::ifstream in("/proc/" + std::to_string(*pid) + "/cmdline");
          std::string word;
          while (std::getline(in, word, '\0')) argv.push_back(word);
          return !argv.empty() && argv.front() != CLIMITS_TEST_HELPER;
        },
        timeout);
    return argv;
  }

  // Times at which `name` entered `to`, in order.
  std::vector<std::chrono::steady_clock::time_point> entries(const std::string& name,
                                                             supervisor::State to) const {
    std::vector<std::chrono::steady_clock::time_point> times;
    for (const auto& t : transitions)
      if (t.program == name && t.to == to) times.push_back(t.at);
    return times;
  }

  supervisor::Manager& manager() { return *manager_; }
  cgroup::Backend& backend() { return *backend_; }
  supervisor::Launcher& launcher() { return *launcher_; }
  uv_loop_t* loop() { return &loop_; }

  std::vector<Transition> transitions;

 private:
  uv_loop_t loop_;
  std::unique_ptr<cgroup::Backend> backend_;
  std::unique_ptr<supervisor::Launcher> launcher_;
  std::unique_ptr<supervisor::Manager> manager_;
  config::Config config_;
};

inline std::string leaky() {
  return CLIMITS_TEST_LEAKY;
}

}  // namespace climits::test
