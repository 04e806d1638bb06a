#pragma once
// Small string helpers shared by the config loader, the cgroup backends and the CLI.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace climits {

// Parses a whole string as an unsigned decimal number; nullopt on anything else
// (sign, spaces, trailing text, overflow).
std::optional<std::uint64_t> parse_u64(std::string_view text);

// Splits on ASCII whitespace, dropping empty words.
std::vector<std::string> split_words(std::string_view text);

std::string_view trim(std::string_view text);

// 64M, 1.5G, 512K, 100B: for log lines and tables.
std::string format_bytes(std::uint64_t bytes);

}  // namespace climits
