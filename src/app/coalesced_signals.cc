#include "app/coalesced_signals.h"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <csignal>

namespace climits::app {

namespace {

// What the handler may touch: a lock-free atomic and the async handle (uv_async_send is
// async-signal-safe).
std::atomic<unsigned> pending_bits{0};
std::atomic<uv_async_t*> wake{nullptr};
static_assert(std::atomic<unsigned>::is_always_lock_free);

unsigned bit_of(int signal) {
  for (unsigned i = 0; i < std::size(CoalescedSignals::kNumbers); ++i)
    if (CoalescedSignals::kNumbers[i] == signal) return 1u << i;
  return 0;
}

extern "C" void on_delivery(int signal) {
  int saved_errno = errno;
  pending_bits.fetch_or(bit_of(signal));
  if (uv_async_t* async = wake.load()) uv_async_send(async);
  errno = saved_errno;
}

}  // namespace

void CoalescedSignals::start(uv_loop_t* loop, Callback callback) {
  callback_ = std::move(callback);
  uv_async_init(loop, &async_, [](uv_async_t* handle) {
    auto* self = static_cast<CoalescedSignals*>(handle->data);
    unsigned bits = pending_bits.exchange(0);
    for (unsigned i = 0; i < std::size(kNumbers); ++i)
      if (bits & (1u << i)) self->callback_(kNumbers[i]);
  });
  async_.data = this;
  wake.store(&async_);
  struct sigaction action {};
  action.sa_handler = on_delivery;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int number : kNumbers) ::sigaction(number, &action, nullptr);
}

void CoalescedSignals::close() {
  sigset_t late;
  sigemptyset(&late);
  for (int number : kNumbers) sigaddset(&late, number);
  ::pthread_sigmask(SIG_BLOCK, &late, nullptr);
  // The manager has one thread: blocked here, the handler cannot run again.
  wake.store(nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

}  // namespace climits::app
