#include "config/loader.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <vector>

#include "config/accounts.h"
#include "config/dependency_rules.h"
#include "config/document.h"
#include "config/key_readers.h"
#include "config/key_rules.h"
#include "config/units.h"
#include "config/yaml_reader.h"
#include "util/file_io.h"

namespace climits::config {

namespace {

// Walks the document's sections: manager:, then defaults: (the base every program starts
// from), then each program; the rules that span keys come last.
class ConfigReader {
 public:
  ConfigReader(std::string file_name, std::string base_dir)
      : r_(file_name), base_dir_(std::move(base_dir)) {
    config_.source_path = std::move(file_name);
  }

  LoadResult read(const YAML::Node& document) {
    Located root{document, document.Mark(), "", document.Mark()};
    if (document.IsNull()) {
      root.at = YAML::Mark();
      root.at.line = root.at.column = 0;
      r_.error(root.at, "(top level)",
               "the file is empty (start with \"version: 1\" and a \"programs:\" mapping)");
      return finish();
    }
    std::optional<Located> version, manager, defaults, programs;
    auto keep = [](std::optional<Located>& slot) {
      return [&slot](const Located& v) { slot = v; };
    };
    if (!document.IsMap()) {
      r_.error(root.at, "(top level)",
               "expected a mapping with version, manager, defaults and programs, found " +
                   describe_node(document));
      return finish();
    }
    r_.read_mapping(root, {{"version", keep(version)},
                           {"manager", keep(manager)},
                           {"defaults", keep(defaults)},
                           {"programs", keep(programs)}});
    if (version) read_version(r_, *version);
    if (manager) read_manager(r_, *manager, base_dir_, config_.manager);
    Program base;
    base.directory = base_dir_;
    if (defaults) {
      KeySources sources;
      read_program(r_, base_dir_, *defaults, base, sources);
      check_backoff(r_, base, sources);
      resolve_accounts(r_, accounts_, base, sources);
    }
    if (programs) {
      read_programs(*programs, base);
    } else {
      r_.error(root.at, "(top level)",
               "missing required key \"programs\" (a mapping of program names to settings)");
    }
    resolve_outputs(r_, config_, locations_, sources_);
    check_dependencies(r_, config_, sources_);
    return finish();
  }

 private:
  void read_programs(const Located& v, const Program& base) {
    r_.read_entries(v, "programs", [&](const std::string& name, const Located& value) {
      if (!is_valid_program_name(name)) {
        std::string length =
            name.size() > 64 ? " (" + std::to_string(name.size()) + " characters)" : "";
        r_.error(value.key_at, v.path,
                 quote(name) + length +
                     " is not a valid program name (use 1 to 64 of the "
                     "characters A-Z a-z 0-9 _ . -, and not \".\" or \"..\")");
        return;
      }
      Program program = base;
      program.name = name;
      KeySources sources;
      bool has_command = read_program(r_, base_dir_, value, program, sources);
      if (!value.node.IsMap()) return;  // reported; nothing more to say about it
      if (!has_command && program.command.empty())
        r_.error(value.key_at, value.path,
                 "missing required key \"command\" (e.g. command: [\"./app\", \"--verbose\"])");
      check_backoff(r_, program, sources);
      resolve_accounts(r_, accounts_, program, sources);
      locations_.push_back(value);
      sources_.push_back(std::move(sources));
      config_.programs.push_back(std::move(program));
    });
  }

  LoadResult finish() {
    LoadResult result;
    result.errors = r_.take_errors();
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const ConfigError& a, const ConfigError& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    if (result.errors.empty()) result.config = std::move(config_);
    return result;
  }

  YamlReader r_;
  std::string base_dir_;
  Config config_;
  AccountLookup accounts_;           // each user and group asked once per load
  std::vector<Located> locations_;   // per program, for errors found after reading
  std::vector<KeySources> sources_;  // per program, likewise
};

}  // namespace

LoadResult load_config_text(std::string_view text, const std::string& file_name,
                            const std::string& base_dir) {
  ParsedDocument parsed = parse_document(text, file_name);
  if (parsed.error) {
    LoadResult failed;
    failed.errors.push_back(std::move(*parsed.error));
    return failed;
  }
  return ConfigReader(file_name, base_dir).read(parsed.document);
}

LoadResult load_config_file(const std::string& path) {
  auto text = read_file(path, kMaxConfigBytes + 1);
  if (!text) {
    LoadResult failed;
    std::string message =
        text.error().code == EFBIG
            ? std::string(kTooLargeMessage)
            : "cannot read the configuration: " + std::string(std::strerror(text.error().code));
    failed.errors.push_back(ConfigError{path, 0, 0, "", message});
    return failed;
  }
  namespace fs = std::filesystem;
  std::string base_dir = fs::absolute(fs::path(path)).parent_path().lexically_normal().string();
  return load_config_text(*text, path, base_dir);
}

}  // namespace climits::config
