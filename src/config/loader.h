#pragma once
// Reads a programs.yaml into a Config, or into every error the file has (never just the
// first). Relative paths are resolved against the folder of the file.
#include <optional>
#include <string>
#include <string_view>

#include "config/errors.h"
#include "config/model.h"

namespace climits::config {

struct LoadResult {
  std::optional<Config> config;  // set only when `errors` is empty
  ConfigErrors errors;
};

// Files larger than this are refused before parsing: a real configuration of thousands of
// programs is a few hundred KiB.
inline constexpr std::size_t kMaxConfigBytes = 16u << 20;

LoadResult load_config_file(const std::string& path);

// `file_name` is used in error messages; relative paths in the file resolve against base_dir.
LoadResult load_config_text(std::string_view text, const std::string& file_name,
                            const std::string& base_dir);

}  // namespace climits::config
