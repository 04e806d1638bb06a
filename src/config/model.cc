#include "config/model.h"

namespace climits::config {

const Program* Config::find(const std::string& name) const {
  for (const auto& program : programs)
    if (program.name == name) return &program;
  return nullptr;
}

}  // namespace climits::config
