// climits-ctl: the control client. The protocol lands with the [control] issue.
#include <CLI/CLI.hpp>
#include <iostream>

#include "build_info.h"

int main(int argc, char** argv) {
  CLI::App cli{"climits-ctl: control a running climits-manager"};
  cli.set_version_flag("--version", "climits-ctl " CLIMITS_VERSION);
  std::string socket_path = "/run/climits-manager/control.sock";
  cli.add_option("-s,--socket", socket_path, "Control socket of the manager")->capture_default_str();
  std::vector<std::string> words;
  cli.add_option("command", words, "status|start|stop|restart|reload|version [NAME...]");
  CLI11_PARSE(cli, argc, argv);
  std::cerr << "climits-ctl: not implemented yet (the control socket arrives with the [control] "
               "issue)\n";
  return 1;
}
