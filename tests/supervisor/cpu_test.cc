// cpu: on the real kernel through the whole supervisor: a busy program held to its share,
// and a limit added to a running program on reload without a restart.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/supervisor/harness.h"

using namespace climits;
using namespace climits::test;
using namespace std::chrono_literals;

namespace {

// utime + stime of a process, in seconds, from /proc/PID/stat; -1 if it is gone.
double cpu_seconds_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After the command: state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

const char* const kBusy = "    command: [sh, -c, 'while :; do :; done']\n";

}  // namespace

TEST_SUITE("supervision") {
  TEST_CASE("cpu.max 50%: a busy loop gets at most about half a CPU, and is throttled") {
    SupervisorHarness h;
    h.start("  busy:\n" + std::string(kBusy) + "    cpu: {max: 50%}\n    start: {settle: 0s}\n");
    REQUIRE(h.wait_for_state("busy", supervisor::State::running));
    REQUIRE(h.program_argv("busy").front() == "sh");
    pid_t pid = *h.runner("busy").status().pid;
    // A window of 5 s of wall time, measured (not a bound on how long anything takes).
    double cpu_before = cpu_seconds_of(pid);
    auto from = std::chrono::steady_clock::now();
    REQUIRE(h.run_until([&] { return std::chrono::steady_clock::now() - from >= 5s; }, 60s));
    double cpu_after = cpu_seconds_of(pid);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
    REQUIRE(cpu_before >= 0);
    REQUIRE(cpu_after >= 0);
    double share = (cpu_after - cpu_before) / wall;
    MESSAGE("busy loop under cpu.max 50%: " << share << " CPU over " << wall << " s");
    CHECK(share <= 0.55);
    CHECK(share > 0.0);
    // The kernel says it held the program back, and status reports both figures.
    auto status = h.runner("busy").status();
    REQUIRE(status.cpu_seconds.has_value());
    REQUIRE(status.cpu_throttled_seconds.has_value());
    CHECK(*status.cpu_seconds > 0.0);
    CHECK(*status.cpu_throttled_seconds > 0.0);
  }

  TEST_CASE("cpu: added on reload is applied to the running program, without a restart") {
    SupervisorHarness h;
    h.start("  busy:\n" + std::string(kBusy) + "    start: {settle: 0s}\n");
    REQUIRE(h.wait_for_state("busy", supervisor::State::running));
    pid_t pid = *h.runner("busy").status().pid;
    auto before = h.runner("busy").status();
    h.reload("  busy:\n" + std::string(kBusy) + "    cpu: {max: 20%}\n    start: {settle: 0s}\n");
    auto after = h.runner("busy").status();
    CHECK(after.pid == pid);
    CHECK(after.restarts == before.restarts);
    CHECK_FALSE(after.limits_pending.has_value());
    auto detail = h.runner("busy").detail();
    REQUIRE(detail.applied_limits.has_value());
    CHECK(detail.applied_limits->cpu.quota_micros == std::optional<std::uint64_t>{20000});
    // The process is held by the new quota: throttling starts to count.
    CHECK(h.run_until(
        [&] { return h.runner("busy").status().cpu_throttled_seconds.value_or(0) > 0.0; }, 30s));
  }
}  // TEST_SUITE
