#include "app/check_command.h"

#include "config/loader.h"

namespace climits::app {

int run_check(const std::string& config_path, std::ostream& out, std::ostream& err) {
  auto loaded = config::load_config_file(config_path);
  for (const auto& error : loaded.errors) err << error.to_string() << '\n';
  if (!loaded.config) {
    err << config_path << ": " << loaded.errors.size()
        << (loaded.errors.size() == 1 ? " error" : " errors") << ", configuration not valid\n";
    return kExitConfigError;
  }
  const auto& programs = loaded.config->programs;
  out << config_path << ": configuration OK, " << programs.size()
      << (programs.size() == 1 ? " program" : " programs") << '\n';
  return kExitOk;
}

}  // namespace climits::app
