#pragma once
// The `status` response of many programs written straight into its line: the same bytes as
// to_line(status_response(programs)) (protocol.h), without a JSON tree of a dozen nodes and
// their allocations per program. Building and printing that tree was a quarter of the
// manager's time for a status of 1000 programs once the cgroup files were kept open
// (docs/performance.md, "climits-ctl status"); tests/unit/control_test.cc checks the bytes
// against status_response.
#include <string>
#include <vector>

#include "supervisor/status.h"

namespace climits::control {

std::string status_line(const std::vector<supervisor::ProgramStatus>& programs);

}  // namespace climits::control
