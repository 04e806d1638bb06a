// climits-ctl logs [-f] [-n N] [--stdout|--stderr] NAME...|all: the last lines of the
// programs' output files, then with -f new lines as they come. Lines are prefixed "NAME | "
// when more than one program is shown; one program's stdout and stderr are not told apart
// (as on a terminal).
#include <cstdio>
#include <set>

#include "app/ctl_streams.h"
#include "control/stream_text.h"

namespace climits::app {

int run_logs(const std::string& socket, const std::vector<std::string>& names,
             const control::LogsOptions& options) {
  bool prefixed = false;
  auto on_start = [&prefixed](const control::Json& first) {
    std::set<std::string> programs;
    if (auto sources = first.find("sources"); sources != first.end() && sources->is_array())
      for (const auto& source : *sources)
        if (source.contains("name") && source["name"].is_string())
          programs.insert(source["name"].get<std::string>());
    prefixed = programs.size() > 1;
  };
  auto on_line = [&prefixed](const control::Json& line, const std::string&) {
    if (line.contains("line")) {
      std::string text = control::log_line_text(line, prefixed);
      text += '\n';
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else if (line.contains("skipped")) {
      // On stderr, in its place among the lines: stdout is flushed first.
      std::fflush(stdout);
      std::fprintf(stderr, "climits-ctl: %s\n", control::skipped_text(line).c_str());
    } else if (line.contains("complete")) {
      return LineVerdict::complete;
    }
    // Anything else is from a newer manager, and not for this version to show.
    return LineVerdict::more;
  };
  return follow_stream(socket, control::make_logs_request(names, options), on_start, on_line,
                       options.follow
                           ? "the connection to the manager was lost (it stopped?)"
                           : "the manager closed the connection before the end of the logs");
}

}  // namespace climits::app
