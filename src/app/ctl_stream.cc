#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "app/ctl_streams.h"

namespace climits::app {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) {
  interrupted = 1;
}

void fail(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "climits-ctl: %s\n", message.c_str());
}

// SIGINT, SIGTERM and SIGHUP end the stream quietly. They stay blocked but while the client
// waits for the next line (Client::next_line), so the flag is always seen.
void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigset_t blocked;
  sigemptyset(&blocked);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
    ::sigaction(signal, &action, nullptr);
    sigaddset(&blocked, signal);
  }
  ::sigprocmask(SIG_BLOCK, &blocked, nullptr);
}

}  // namespace

int follow_stream(
    const std::string& socket, const control::Json& request,
    const std::function<void(const control::Json& first)>& on_start,
    const std::function<LineVerdict(const control::Json& line, const std::string& raw)>& on_line,
    const std::string& lost) {
  catch_interrupts();
  auto client = control::Client::connect(socket);
  if (!client) {
    fail(client.error().message);
    return 1;
  }
  auto first = client->request(request);
  if (!first) {
    if (first.error().code == EINTR) return 0;
    fail(first.error().message);
    return 1;
  }
  if (!(*first)["ok"].get<bool>()) {
    fail((*first)["error"].get<std::string>());
    return 1;
  }
  on_start(*first);
  for (;;) {
    if (!client->line_ready()) std::fflush(stdout);
    auto line = client->next_line(&interrupted);
    if (!line) {
      if (line.error().code == EINTR) return 0;
      fail(line.error().code == ECONNRESET ? lost : line.error().message);
      return 1;
    }
    auto object = control::Json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) {
      fail("the manager sent something that is not a JSON object");
      return 1;
    }
    if (on_line(object, *line) == LineVerdict::complete) {
      std::fflush(stdout);
      return 0;
    }
  }
}

}  // namespace climits::app
