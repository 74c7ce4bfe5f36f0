// Out-of-line pieces of the Backend contract (include/holdfast/backend.hpp).
#include <holdfast/backend.hpp>

namespace holdfast {

Error Backend::unsupported_verb(std::string_view type, std::string_view verb) {
  return invalid_argument("backend type " + std::string(type) + " has no operator verb \"" + std::string(verb) +
                          "\"");
}

}  // namespace holdfast
