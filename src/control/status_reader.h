#pragma once
// climits-ctl status's table read straight from the response line: each program's fields go
// into one small object, reused, and become its row (table.h, status_row) at once, instead
// of parsing the whole response into a tree first. The tree of 1000 programs took about
// 1 MiB of fresh memory, and in the VMs measured every page touched for the first time costs
// 10–40 µs (docs/performance.md, "climits-ctl status"). Pure.
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "control/table.h"

namespace climits::control {

// The rows of a response {"ok": true, "programs": [{...}, ...]}, as format_status_table would
// make them from its parsed "programs". nullopt for anything else (an error response, bytes
// that are not JSON, a shape this reader does not expect): the caller then parses the line as
// usual (parse_response), which says what is wrong.
std::optional<std::vector<StatusRow>> read_status_rows(std::string_view line,
                                                       std::chrono::system_clock::time_point now);

}  // namespace climits::control
