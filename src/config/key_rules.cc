#include "config/key_rules.h"

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "config/units.h"

namespace climits::config {

void check_backoff(YamlReader& r, const Program& p, const KeySources& sources) {
  if (p.restart.backoff.max >= p.restart.backoff.initial) return;
  const auto& at = sources.backoff_max ? sources.backoff_max : sources.backoff_initial;
  if (!at) return;
  r.error(*at, "max (" + format_duration(p.restart.backoff.max) + ") is below initial (" +
                   format_duration(p.restart.backoff.initial) + "); make max at least initial");
}

void resolve_accounts(YamlReader& r, AccountLookup& accounts, Program& p,
                      const KeySources& sources) {
  auto failed = resolve_identity(accounts, p);
  if (!failed) return;
  const auto& at = std::string_view(failed->key) == "user" ? sources.user : sources.group;
  if (at) r.error(*at, failed->message);
}

void resolve_outputs(YamlReader& r, Config& config, const std::vector<Located>& locations,
                     const std::vector<KeySources>& sources) {
  std::map<std::string, std::string> writers;
  for (std::size_t i = 0; i < config.programs.size(); ++i) {
    Program& p = config.programs[i];
    for (auto [out, stream] :
         {std::pair{&p.stdout_output, "stdout"}, std::pair{&p.stderr_output, "stderr"}}) {
      if (out->target != OutputTarget::file) continue;
      if (out->automatic) out->path = config.manager.log_dir + "/" + p.name + "." + stream + ".log";
      std::string who = "programs." + p.name + "." + stream;
      auto [it, inserted] = writers.emplace(out->path, who);
      if (inserted) continue;
      const auto& given = out == &p.stdout_output ? sources[i].stdout_file : sources[i].stderr_file;
      if (given) {
        r.error(*given, quote(out->path) + " is also written by " + it->second +
                            " (give each stream its own file, or use stderr: {file: stdout})");
      } else {
        // Not given by the program: point at its name, and say where the file comes from.
        std::string origin = out->automatic ? "its automatic log file"
                                            : std::string("from defaults.") + stream + ".file";
        r.error(locations[i].key_at, who + ".file",
                quote(out->path) + " (" + origin + ") is also written by " + it->second +
                    " (give each program its own file, e.g. file: auto)");
      }
    }
  }
}

}  // namespace climits::config
