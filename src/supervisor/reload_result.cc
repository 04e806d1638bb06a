#include "supervisor/reload_result.h"

namespace climits::supervisor {

std::string ReloadResult::summary() const {
  std::string text = std::to_string(added.size()) + " added, " + std::to_string(removed.size()) +
                     " removed, " + std::to_string(restarted.size()) + " restarted, " +
                     std::to_string(updated.size()) + " updated live, " +
                     std::to_string(unchanged) + " unchanged";
  if (!failed.empty()) text += ", " + std::to_string(failed.size()) + " failed";
  return text;
}

}  // namespace climits::supervisor
