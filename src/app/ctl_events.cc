// climits-ctl events [--json]: one human line per event of the manager as it happens, or the
// JSON lines as they come with --json, until interrupted or the manager goes away.
#include <cstdio>

#include "app/ctl_streams.h"
#include "control/stream_text.h"

namespace climits::app {

int run_events(const std::string& socket, bool json) {
  auto on_line = [json](const control::Json& event, const std::string& raw) {
    std::string text = json ? raw : control::event_text(event);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
    return LineVerdict::more;
  };
  return follow_stream(
      socket, control::make_request(control::Command::events), [](const control::Json&) {}, on_line,
      "the connection to the manager was lost (it stopped, or dropped this "
      "reader for not keeping up)");
}

}  // namespace climits::app
