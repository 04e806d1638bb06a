// Faults the manager must ride out, end to end (issue [hardening], item 3):
//  - a fork bomb inside a program with pids_max (suite "faults": the host's cgroup v1 with its
//    pids hierarchy, and the cgroup v2 VM);
//  - the wall clock jumping while programs wait in backoff (suite "faults-vm": it sets
//    CLOCK_REALTIME, so it runs only inside the test VM and refuses anywhere else).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cgroup/cgroup_files.h"
#include "tests/supervisor/harness.h"
#include "tests/supervisor/log_capture.h"

using namespace climits;
using namespace climits::test;
using supervisor::State;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string program(const std::string& name, const std::string& command,
                    const std::string& extra = "") {
  return "  " + name + ":\n    command: " + command + "\n" + extra +
         "    stdout: {file: \"null\"}\n    stderr: {file: \"null\"}\n";
}

std::string restart(const std::string& backoff, const std::string& limit) {
  return "    restart: {policy: always, backoff: {initial: " + backoff + ", max: " + backoff +
         ", jitter: 0}, limit: " + limit + "}\n";
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// A uv timer on the manager's loop that fires every `period` and remembers the longest gap
// between two firings: how late the loop gets to its timers.
class Ticker {
 public:
  Ticker(uv_loop_t* loop, std::chrono::milliseconds period) : period_(period) {
    timer_ = new uv_timer_t;
    uv_timer_init(loop, timer_);
    timer_->data = this;
    last_ = Clock::now();
    auto count = static_cast<std::uint64_t>(period.count());
    uv_timer_start(
        timer_,
        [](uv_timer_t* t) {
          auto* self = static_cast<Ticker*>(t->data);
          auto now = Clock::now();
          self->longest_gap_ = std::max(self->longest_gap_, now - self->last_);
          self->last_ = now;
          ++self->ticks_;
        },
        count, count);
  }
  ~Ticker() {
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
  std::chrono::milliseconds lateness() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(longest_gap_) - period_;
  }
  int ticks() const { return ticks_; }

 private:
  uv_timer_t* timer_;
  std::chrono::milliseconds period_;
  Clock::time_point last_;
  Clock::duration longest_gap_{0};
  int ticks_ = 0;
};

// The cgroup that holds the program's pids controller: its own on v2, the mirror in the pids
// hierarchy on v1 (the last file a process joins).
std::string pids_dir(SupervisorHarness& h, const std::string& name) {
  if (h.backend().version() == cgroup::Version::v1)
    REQUIRE_MESSAGE(private_layout().pids.has_value(),
                    "the fork bomb test needs the cgroup v1 pids hierarchy mounted");
  std::string procs = h.backend().entry_files(name, {}).back();
  return procs.substr(0, procs.rfind('/'));
}

std::uint64_t pids_current(const std::string& dir) {
  auto value = cgroup::files::read_number(dir + "/pids.current");
  REQUIRE_MESSAGE(value.ok(), dir);
  return *value;
}

std::uint64_t pids_max_events(const std::string& dir) {
  auto value = cgroup::files::read_keyed_counter(dir + "/pids.events", "max");
  REQUIRE_MESSAGE(value.ok(), dir);
  return *value;
}

std::string fork_bomb() {
  return CLIMITS_TEST_FORK_BOMB;
}

// Only the VM of tests/vm/run.sh may have its clock set: its environment says so
// (CLIMITS_IN_VM=1), its kernel runs with cgroup_no_v1=all, and its guest-init left a busybox
// in the guest's own /run. A host would have to fake all three.
bool in_test_vm() {
  if (!in_vm()) return false;
  std::ifstream in("/proc/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), {});
  return cmdline.find("cgroup_no_v1=all") != std::string::npos &&
         cgroup::files::exists("/run/climits-vm/busybox");
}

// Moves CLOCK_REALTIME by `by` and back by as much when destroyed (the time in between is
// kept: only the jump is undone).
class ClockJump {
 public:
  explicit ClockJump(std::chrono::seconds by) : by_(by) { shift(by_); }
  ~ClockJump() { shift(-by_); }

 private:
  static void shift(std::chrono::seconds by) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec += by.count();
    // No throwing here: this also runs in a destructor.
    if (::clock_settime(CLOCK_REALTIME, &now) != 0)
      FAIL_CHECK("clock_settime: " << std::strerror(errno));
  }
  std::chrono::seconds by_;
};

}  // namespace

TEST_SUITE("faults") {
  TEST_CASE(
      "a fork bomb is held by pids_max; the loop, the timers and the other programs carry on") {
    LogCapture log;
    INFO("manager log:\n" << log.text());
    SupervisorHarness h;
    // Every copy retries a failed fork after 10 ms: hundreds of failed forks a second, with two
    // real cores for everyone. In the VM a fork, even a failed one, costs 2-5 ms of its one
    // emulated CPU: at 10 ms (or 100) the copies took all of it and the loop, like any process,
    // waited its turn for up to a second: no manager code can help that, a cpu.weight could (the
    // manager sets none). 500 ms there still fails a hundred forks a second.
    const std::string retry_ms = in_vm() ? "500" : "10";
    h.start(
        program("bomb", "[\"" + fork_bomb() + "\", \"" + retry_ms + "\"]",
                "    pids_max: 32\n    memory: {max: 64M}\n    start: {settle: 100ms}\n"
                "    stop: {signal: TERM, timeout: 1s}\n" +
                    restart("1s", "{burst: 5, interval: 60s}")) +
        program("steady", "[\"sleep\", \"1000\"]", "    start: {settle: 100ms}\n") +
        program("flapper", "[\"sleep\", \"0.2\"]",
                "    start: {settle: 50ms}\n" + restart("200ms", "{burst: 1000, interval: 60s}")));
    REQUIRE(h.wait_for_state("bomb", State::running));
    REQUIRE(h.wait_for_state("steady", State::running));
    const std::string dir = pids_dir(h, "bomb");
    REQUIRE(h.run_until([&] { return pids_current(dir) == 32 && pids_max_events(dir) > 0; }, 20s));
    auto steady_pid = h.runner("steady").status().pid;
    REQUIRE(steady_pid.has_value());
    auto bomb_pid = h.runner("bomb").status().pid;
    std::uint64_t failed_before = pids_max_events(dir);
    std::size_t bomb_lines_before = log.lines_with("bomb").size();
    std::size_t flapper_backoffs_before = h.entries("flapper", State::backoff).size();

    // Two seconds (and two restarts of the neighbour) under the bomb: the limit holds at every
    // look, the loop's timers fire on time, status answers at once, the flapping neighbour is
    // restarted after its backoff.
    std::uint64_t highest = 0;
    Clock::duration slowest_status{0};
    std::chrono::milliseconds lateness{0};
    int ticks = 0;
    {
      Ticker ticker(h.loop(), 20ms);
      auto phase_start = Clock::now();
      auto last_look = phase_start - 1s;
      std::size_t starts_before = h.entries("flapper", State::starting).size();
      REQUIRE(h.run_until(
          [&] {
            auto now = Clock::now();
            if (now - last_look >= 100ms) {
              last_look = now;
              highest = std::max(highest, pids_current(dir));
              auto all = h.manager().status();
              slowest_status = std::max(slowest_status, Clock::now() - now);
              CHECK(all.size() == 3);
            }
            return now - phase_start >= 2s &&
                   h.entries("flapper", State::starting).size() >= starts_before + 2;
          },
          20s));
      lateness = ticker.lateness();
      ticks = ticker.ticks();
    }
    CHECK(highest <= 32);
    std::uint64_t failed_forks = pids_max_events(dir);
    CHECK(failed_forks > failed_before);  // still forking into the limit
    // The loop kept turning: its timers fired and status answered (every look above). How
    // late and how slow is the machine's as much as ours: reported, measured in bench/, not
    // asserted (a loaded CI host or the VM's one emulated CPU would make any bound flaky).
    CHECK(ticks >= 10);  // of 100 at 20 ms in 2 s: only a loop that stalls fails this
    MESSAGE(
        "ticker: " << ticks << " ticks, " << lateness.count() << " ms late at most; slowest "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(slowest_status).count()
                   << " ms for status");
    CHECK(h.state("bomb") == State::running);  // the limit makes forks fail, nothing more
    CHECK(h.runner("bomb").status().pid == bomb_pid);
    CHECK(h.state("steady") == State::running);
    CHECK(h.runner("steady").status().pid == steady_pid);
    auto backoffs = h.entries("flapper", State::backoff);
    auto starts = h.entries("flapper", State::starting);
    CHECK(backoffs.size() >= flapper_backoffs_before + 2);
    for (std::size_t i = flapper_backoffs_before; i < backoffs.size() && i + 1 < starts.size();
         ++i) {
      CAPTURE(i);
      // The runner brings the loop's time up to date before it arms the timer, so the handling
      // of the exit is not taken off the backoff (a few ms for the stamps' own order).
      CHECK(ms(starts[i + 1] - backoffs[i]) >= 195);
      CHECK(starts[i + 1] - backoffs[i] <= 200ms + 5s);  // only a lost timer fails this
    }
    // No log line per failed fork (hundreds above): the pids limit is reported once, when the
    // run ends.
    CHECK(log.lines_with("bomb").size() <= bomb_lines_before + 1);
    CHECK(log.lines_with("pids limit").empty());

    // Stop: SIGTERM is ignored by every copy, so after stop.timeout the whole cgroup is killed
    // at once (cgroup.kill on v2; SIGKILL until empty on v1), forks in flight included.
    uv_update_time(h.loop());  // timers count from the loop's time: make it now
    auto asked = Clock::now();
    h.runner("bomb").stop("test");
    REQUIRE(h.wait_for_state("bomb", State::stopped, 10s));
    auto took = h.entries("bomb", State::stopped).back() - asked;
    CHECK(took >= 1s);  // never killed before its stop timeout
    CHECK(h.runner("bomb").status().last_exit->signal == SIGKILL);
    auto reports = log.lines_with("bomb: its pids limit (32) refused ");
    CHECK(reports.size() == 1);
    CHECK(h.backend().processes("bomb")->empty());
    CHECK(cgroup::files::read_pids(dir + "/cgroup.procs")->empty());
    // Not pids.current: the killed copies were orphans, and each one leaves that count only
    // when PID 1 reaps it (about 2 s on the test host). Listed or not is what removal needs.
    CHECK(h.state("steady") == State::running);

    // Removed from the configuration: its cgroup (both, on v1) goes away.
    auto reloaded = h.reload(
        program("steady", "[\"sleep\", \"1000\"]", "    start: {settle: 100ms}\n") +
        program("flapper", "[\"sleep\", \"0.2\"]",
                "    start: {settle: 50ms}\n" + restart("200ms", "{burst: 1000, interval: 60s}")));
    CHECK(reloaded.removed == std::vector<std::string>{"bomb"});
    CHECK(reloaded.unchanged == 2);
    const std::string memory_dir = h.backend().path_of("bomb");
    REQUIRE(h.run_until(
        [&] { return !cgroup::files::exists(dir) && !cgroup::files::exists(memory_dir); }, 5s));
    CHECK(log.lines_with("bomb: removed").size() == 1);
    CHECK(h.runner("steady").status().pid == steady_pid);
    // The whole story of the bomb in the log: started, running, stopping, killed, stopped,
    // removed; a handful of lines, not one per fork.
    CHECK(log.lines_with("bomb").size() <= 8);
    MESSAGE("fork bomb: " << failed_forks << " failed forks; loop lateness " << lateness.count()
                          << " ms; slowest status " << ms(slowest_status) << " ms; stop took "
                          << ms(took) << " ms");
  }

}  // TEST_SUITE

TEST_SUITE("faults-vm") {
  // Backoff and the start limit are measured on the loop's monotonic clock (uv_now): a jump of
  // the wall clock must move neither. Three programs live through the jump:
  //  - `waits` is in a 2 s backoff: it restarts after about 2 s, not an hour later nor at once;
  //  - `limited` (burst 3 in 60 s) has a restart on the books: it gives up after exactly three,
  //    as a forward jump must not age its history out of the window;
  //  - `expiring` (burst 2 in 1.55 s; backoffs of 50 ms, then 1.5 s) has its two first restarts
  //    inside the window when the clock jumps: by its next exit the first has left the window,
  //    so it never gives up, which it would if a backward jump kept both inside for an hour.
  TEST_CASE("a wall clock jump during backoff changes neither the delay nor the start limit") {
    REQUIRE_MESSAGE(in_test_vm(),
                    "refusing to set the system clock outside the test VM (run it through "
                    "tests/vm/run.sh, see tests/CMakeLists.txt)");
    std::chrono::seconds jump{0};
    SUBCASE("forward by an hour") {
      jump = 1h;
    }
    SUBCASE("back by an hour") {
      jump = -1h;
    }
    CAPTURE(jump.count());
    SupervisorHarness h;
    const std::string fail = "[\"false\"]";
    const std::string settle = "    start: {settle: 50ms}\n";
    h.start(program("waits", fail, settle + restart("2s", "{burst: 100, interval: 60s}")) +
            program("limited", fail, settle + restart("300ms", "{burst: 3, interval: 60s}")) +
            program("expiring", fail,
                    settle + "    restart: {policy: always, backoff: {initial: 50ms, max: 1500ms, "
                             "factor: 30, jitter: 0}, limit: {burst: 2, interval: 1550ms}}\n"));
    REQUIRE(h.run_until(
        [&] {
          return h.state("waits") == State::backoff && h.state("expiring") == State::backoff &&
                 h.entries("expiring", State::backoff).size() == 2 &&
                 !h.entries("limited", State::backoff).empty() &&
                 h.state("limited") != State::fatal;
        },
        10s));
    REQUIRE(h.entries("waits", State::backoff).size() == 1);
    auto wall_before = std::chrono::system_clock::now();
    auto steady_before = Clock::now();
    ClockJump moved(jump);
    auto wall_moved =
        (std::chrono::system_clock::now() - wall_before) - (Clock::now() - steady_before);
    CHECK(std::chrono::abs(wall_moved - jump) < 10s);  // the jump (an hour) really happened

    REQUIRE(h.run_until([&] { return h.entries("waits", State::starting).size() >= 2; }, 10s));
    auto waited = h.entries("waits", State::starting)[1] - h.entries("waits", State::backoff)[0];
    // It may be short by the time the exit took to handle (libuv counts a timer from the loop's
    // time, taken when it woke for the exit).
    CHECK(ms(waited) >= 1800);
    CHECK(ms(waited) <= 2000 + 20000);  // seconds, not the hour the clock moved
    MESSAGE("clock moved by " << jump.count() << " s: restarted after " << ms(waited) << " ms");

    REQUIRE(h.wait_for_state("limited", State::fatal, 10s));
    CHECK(h.entries("limited", State::starting).size() == 4);  // the first start and 3 restarts

    REQUIRE(h.run_until(
        [&] {
          return h.entries("expiring", State::backoff).size() >= 3 ||
                 h.state("expiring") == State::fatal;
        },
        10s));
    CHECK(h.state("expiring") != State::fatal);
  }

}  // TEST_SUITE
