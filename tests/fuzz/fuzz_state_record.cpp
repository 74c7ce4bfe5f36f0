// Fuzz target: the volume state file (src/volume/state_store.cpp,
// record_from_json), read for every volume at start-up from
// <state_dir>/volumes/<name>.json.
//
// Contract checked (state_store.hpp): a malformed file throws
// holdfast::Error and nothing else; a record that loads is valid (name,
// mount IDs, absolute mountpoint) and survives a save/load round trip
// unchanged (created_at is stored with whole seconds).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <holdfast/error.hpp>
#include <holdfast/volume.hpp>

#include "fuzz_check.hpp"
#include "volume/state_store.hpp"

using holdfast::fuzz::fuzz_require;

namespace {

holdfast::SystemTime whole_seconds(holdfast::SystemTime t) {
  return std::chrono::time_point_cast<std::chrono::seconds>(t);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  holdfast::fuzz::silence_logging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  holdfast::VolumeRecord record;
  try {
    record = holdfast::record_from_json(std::string(holdfast::fuzz::as_text(data, size)));
  } catch (const holdfast::Error&) {
    return 0;  // malformed: the documented outcome
  }
  holdfast::validate_volume_name(record.name);  // throws (and so crashes) if an invalid name was loaded
  for (const auto& [id, count] : record.mounts) {
    holdfast::validate_mount_id(id);
    fuzz_require(count > 0, "zero mount count loaded");
  }
  fuzz_require(record.mountpoint.empty() || record.mountpoint.front() == '/', "relative mountpoint loaded");

  const holdfast::VolumeRecord again = holdfast::record_from_json(holdfast::record_to_json(record));
  fuzz_require(again.name == record.name, "round trip changed name");
  fuzz_require(again.backend == record.backend, "round trip changed backend");
  fuzz_require(again.options == record.options, "round trip changed options");
  fuzz_require(again.created_at == whole_seconds(record.created_at), "round trip changed created_at");
  fuzz_require(again.created_by == record.created_by, "round trip changed created_by");
  fuzz_require(again.mounts == record.mounts, "round trip changed mounts");
  fuzz_require(again.mountpoint == record.mountpoint, "round trip changed mountpoint");
  fuzz_require(again.backend_data == record.backend_data, "round trip changed backend_data");
  return 0;
}
