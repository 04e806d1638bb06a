#pragma once
// A configuration error with its location: printed as "FILE:LINE:COL: dotted.path: message".
#include <string>
#include <vector>

namespace climits::config {

struct ConfigError {
  std::string file;
  int line = 0;      // 1-based; 0 when the error is about the file as a whole (e.g. unreadable)
  int column = 0;    // 1-based
  std::string path;  // dotted key path, e.g. programs.web.memory.max
  std::string message;

  std::string to_string() const;
};

using ConfigErrors = std::vector<ConfigError>;

}  // namespace climits::config
