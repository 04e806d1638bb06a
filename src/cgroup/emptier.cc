#include "cgroup/emptier.h"

#include <algorithm>
#include <cerrno>

namespace climits::cgroup {

namespace {
// Most processes are gone within a millisecond of SIGKILL; one that is not may be frozen or
// stuck in the kernel for long, and is looked at ten times a second from then on.
constexpr std::chrono::milliseconds kLongestPause{100};

// Out of descriptors or memory for a moment: the cgroup is not known to be empty, so the
// emptying goes on rather than letting the program restart beside its leftovers.
bool passing_shortage(const Error& error) {
  return error.code == EMFILE || error.code == ENFILE || error.code == ENOMEM ||
         error.code == EAGAIN || error.code == EINTR;
}
}  // namespace

Emptier::Emptier(uv_loop_t* loop, Backend& backend, std::string program, Slow on_slow)
    : backend_(backend),
      program_(std::move(program)),
      on_slow_(std::move(on_slow)),
      timer_(loop, [this] { step(); }) {}

void Emptier::empty(pid_t spare, Done done) {
  begin(spare, false, std::move(done));
}

void Emptier::remove(Done done) {
  begin(0, true, std::move(done));
}

void Emptier::begin(pid_t spare, bool remove, Done done) {
  done_ = std::move(done);
  spare_ = spare;
  remove_ = remove;
  round_ = 0;
  told_slow_ = false;
  started_ = std::chrono::steady_clock::now();
  timer_.stop();
  step();
}

void Emptier::cancel() {
  timer_.stop();
  done_ = nullptr;
}

void Emptier::step() {
  if (!done_) return;
  auto listed = backend_.kill_pass(program_, spare_);
  if (!listed && !passing_shortage(listed.error())) return finish(listed.error());
  std::size_t still = listed ? *listed : 1;
  if (listed && still == 0 && remove_) {
    auto removed = backend_.remove_empty(program_);
    // EBUSY: a killed process is still leaving, or one joined since the pass.
    if (removed || removed.error().code != EBUSY) return finish(removed);
  } else if (listed && still == 0) {
    return finish(success());
  }
  if (!told_slow_ && std::chrono::steady_clock::now() - started_ >= kKillPatience) {
    told_slow_ = true;
    if (on_slow_) on_slow_(still);
  }
  auto pause = std::min(std::chrono::milliseconds(1 << std::min(round_, 7)), kLongestPause);
  ++round_;
  timer_.start(pause);
}

void Emptier::finish(Result<void> outcome) {
  timer_.stop();
  auto done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome));
}

}  // namespace climits::cgroup
