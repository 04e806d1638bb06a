#pragma once
// What the loader tests share: load a text as a file at /etc/app/t.yaml, and read what came
// out, accepted or refused.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"

namespace climits::config::test {

inline LoadResult load(const std::string& text) {
  return load_config_text(text, "t.yaml", "/etc/app");
}

inline std::string errors_of(const LoadResult& result) {
  std::string all;
  for (const auto& e : result.errors) all += e.to_string() + "\n";
  return all;
}

// The error lines of a file that must be refused.
inline std::string refused(const std::string& text) {
  auto result = load(text);
  CHECK_MESSAGE(!result.config.has_value(), "accepted:\n" << text);
  return errors_of(result);
}

inline const Config& accepted(const LoadResult& result) {
  REQUIRE_MESSAGE(result.config.has_value(), errors_of(result));
  return *result.config;
}

inline const Program& only_program(const LoadResult& result) {
  const Config& config = accepted(result);
  REQUIRE(config.programs.size() == 1);
  return config.programs.front();
}

// One program `p` with `settings` (YAML lines indented by four spaces) under it.
inline LoadResult program_with(const std::string& settings) {
  return load("programs:\n  p:\n    command: x\n" + settings);
}

}  // namespace climits::config::test
