#include "util/result.h"

#include <cstring>

namespace climits {

Error Error::from_errno(int code, const std::string& what) {
  return Error{code, what + ": " + std::strerror(code)};
}

}  // namespace climits
