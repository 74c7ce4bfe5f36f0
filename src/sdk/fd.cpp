#include <holdfast/fd.hpp>

#include <cerrno>

#include <holdfast/error.hpp>

namespace holdfast {

std::string read_bounded(const Fd& fd, std::size_t max_bytes, const std::string& what) {
  std::string out(max_bytes, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw from_errno(what, errno);
    }
    if (n == 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace holdfast
