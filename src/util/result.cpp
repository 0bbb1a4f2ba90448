#include "memstrain/util/result.hpp"

#include <cstring>

namespace memstrain {

Error Error::fromErrno(const std::string& what, int err) { return Error{what + ": " + std::strerror(err), err}; }

}  // namespace memstrain
