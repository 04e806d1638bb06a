#include "app/ctl_signal.h"

#include <iostream>

#include "config/units.h"
#include "control/client.h"
#include "control/protocol.h"

namespace climits::ctl {

namespace {

using control::Json;

void fail(const std::string& message) {
  std::cerr << "climits-ctl: " << message << '\n';
}

std::string string_field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "?";
}

}  // namespace

int run_signal(const std::string& socket, int signal, const std::vector<std::string>& names,
               bool all_processes) {
  auto client = control::Client::connect(socket);
  if (!client) {
    fail(client.error().message);
    return 1;
  }
  Json request = control::make_request(control::Command::signal, names);
  // The name without "SIG" ("HUP"), as the protocol's example; a signal without a name
  // ("SIG40") goes as its number.
  std::string name = config::signal_name(signal).substr(3);
  request["signal"] = config::parse_any_signal(name) ? Json(name) : Json(signal);
  request["all_processes"] = all_processes;
  auto response = client->request(request);
  if (!response) {
    fail(response.error().message);
    return 1;
  }
  auto programs = response->find("programs");
  if (programs == response->end() || !programs->is_array()) {
    // Refused as a whole (an unknown name): nothing was sent.
    fail(string_field(*response, "error"));
    return 1;
  }
  std::string sent = string_field(*response, "signal");
  int exit_code = 0;
  for (const auto& program : *programs) {
    std::string program_name = string_field(program, "name");
    if (auto error = program.find("error"); error != program.end() && error->is_string()) {
      fail(program_name + ": not signalled: " + error->get<std::string>());
      exit_code = 1;
      continue;
    }
    std::string pids;
    std::size_t count = 0;
    if (auto list = program.find("pids"); list != program.end() && list->is_array())
      for (const auto& pid : *list)
        if (pid.is_number_integer()) {
          pids += (pids.empty() ? "" : ", ") + std::to_string(pid.get<long long>());
          ++count;
        }
    if (count == 0)
      std::cout << program_name << ": " << sent << " sent to no process (none left)\n";
    else
      std::cout << program_name << ": " << sent << " sent to " << (count == 1 ? "pid " : "pids ")
                << pids << '\n';
  }
  if (exit_code == 0 && !(*response)["ok"].get<bool>()) {
    fail(string_field(*response, "error"));
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace climits::ctl
