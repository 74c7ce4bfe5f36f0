// Fuzz target: an entry of the nfs backend's journal of unfinished Removes
// (backends/nfs/remove_journal.hpp), read back from the state directory
// after a crash; the directory it names is renamed on the export, so a
// malformed entry must never name anything but the volume's own directory.
//
// Contract checked: a malformed entry throws holdfast::Error and nothing
// else; an accepted entry names a directory of the volume (valid_volume_dir:
// one path component, the name or "name@generation"), and serialising it
// gives an entry that parses back to the same values.
#include <cstddef>
#include <cstdint>
#include <string>

#include <holdfast/error.hpp>

#include "fuzz_check.hpp"
#include "nfs_metadata.hpp"
#include "remove_journal.hpp"

using holdfast::fuzz::fuzz_require;
namespace nfs = holdfast::nfs;

namespace {

// The seeds are entries of volume "db"; the file name is not fuzzed.
constexpr const char* k_name = "db";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = holdfast::fuzz::as_text(data, size);
  nfs::PendingRemove entry;
  try {
    entry = nfs::parse_pending_remove(k_name, text);
  } catch (const holdfast::Error&) {
    return 0;  // malformed: the documented outcome
  }
  fuzz_require(nfs::valid_volume_dir(k_name, entry.dir), "entry naming a foreign directory accepted");
  fuzz_require(entry.dir.find('/') == std::string::npos && entry.dir != "." && entry.dir != "..",
               "entry naming more than one path component accepted");
  const nfs::PendingRemove again = nfs::parse_pending_remove(k_name, nfs::serialize_pending_remove(entry));
  fuzz_require(again.dir == entry.dir && again.pid == entry.pid, "round trip changed the entry");
  return 0;
}
