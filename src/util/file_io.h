#pragma once
// Whole-file reads and writes with errno-carrying errors. cgroup knobs and /proc files are
// small, so one read() or write() per call is the whole conversation with the kernel.
#include <cstddef>
#include <string>

#include "util/result.h"

namespace climits {

// Reads at most max_bytes; a larger file is an error (EFBIG) rather than a partial read.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes = 1 << 20);

// Writes `text` in one write(2) to an existing file (O_WRONLY, no O_CREAT, no O_TRUNC),
// the way cgroup knobs must be written.
Result<void> write_file(const std::string& path, const std::string& text);

}  // namespace climits
