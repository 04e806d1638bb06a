#pragma once
// Keeps text that yaml-cpp would mishandle away from it: a file too large, bytes that are not
// UTF-8 text, a stray token the parser never consumes, a bracket or quote left open, a second
// document. What passes is one parsed YAML document; what does not is one located error.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

#include "config/errors.h"

namespace climits::config {

// The message for a file over kMaxConfigBytes (loader.h).
extern const char kTooLargeMessage[];

struct ParsedDocument {
  YAML::Node document;               // null for an empty file
  std::optional<ConfigError> error;  // set when the text is not one readable YAML document
};

// `file_name` is used in the error.
ParsedDocument parse_document(std::string_view text, const std::string& file_name);

}  // namespace climits::config
