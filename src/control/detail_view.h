#pragma once
// climits-ctl's detail view of one program (`climits-ctl status NAME`): `key: value` lines in
// groups (the program, memory, limits desired and applied, output, history), from the object
// a status of one name returns (status_detail.h). Pure; a field missing or of the wrong type
// shows as "?" rather than failing the view.
#include <chrono>
#include <string>

#include "control/protocol.h"

namespace climits::control {

std::string format_detail_view(const Json& program, std::chrono::system_clock::time_point now);

}  // namespace climits::control
