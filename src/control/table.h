#pragma once
// climits-ctl's human output: the status table (NAME STATE PID UPTIME MEM PEAK LIMIT RESTARTS
// OOM LAST-EXIT) from the programs of a status response, with sizes as 64M and times as 4m10s.
// Pure; a field of the wrong type shows as "?" rather than failing the whole table.
#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "control/protocol.h"

namespace climits::control {

// 12s, 4m10s, 2h5m, 3d4h (whole seconds, the two largest units).
std::string format_uptime(double seconds);

// "exited 3 (4m10s ago)", "oom-killed (12s ago)", or "-" for null.
std::string last_exit_text(const Json& last_exit, std::chrono::system_clock::time_point now);

// The table, a header line and one line per program, columns aligned, no trailing spaces.
std::string format_status_table(const Json& programs, std::chrono::system_clock::time_point now);

// The same table, in two steps: a row per program (from one element of "programs"), then
// the lines. status_reader.h reads rows from a response line without building its tree.
using StatusRow = std::array<std::string, 10>;
StatusRow status_row(const Json& program, std::chrono::system_clock::time_point now);
std::string format_status_rows(const std::vector<StatusRow>& rows);

}  // namespace climits::control
