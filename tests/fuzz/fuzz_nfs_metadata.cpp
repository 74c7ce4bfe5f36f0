// Fuzz target: the NFS volume record kept on the export
// (backends/nfs/nfs_metadata.cpp, parse_metadata), written by any host that
// shares the export: the least trusted file holdfast reads.
//
// Contract checked (nfs_metadata.hpp): a malformed record throws
// holdfast::Error and nothing else; an accepted record names the expected
// volume, its directory is the volume's own (a single path component that
// is the name or "name@generation", never another volume's or one outside
// the base path), and serialising it gives a record that parses back to the
// same values (created_at with whole seconds). A record read from the trash
// (any name) obeys the same rules.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <holdfast/error.hpp>

#include "fuzz_check.hpp"
#include "nfs_metadata.hpp"

using holdfast::fuzz::fuzz_require;
namespace nfs = holdfast::nfs;

namespace {

// The seeds are records of volume "db"; the file name is not fuzzed.
constexpr const char* k_expected_name = "db";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = holdfast::fuzz::as_text(data, size);
  // The record file name is read from a directory listing on the export too.
  const std::string from_file_name = nfs::ExportLayout::name_of_record(text);
  if (!from_file_name.empty()) {
    holdfast::validate_volume_name(from_file_name);
  }
  fuzz_require(!nfs::file_name_safe(text).empty(), "file_name_safe returned an empty name");

  nfs::VolumeMetadata metadata;
  try {
    metadata = nfs::parse_metadata(text, k_expected_name);
  } catch (const holdfast::Error&) {
    return 0;  // malformed: the documented outcome
  }
  fuzz_require(metadata.name == k_expected_name, "record for another volume accepted");
  fuzz_require(nfs::valid_volume_dir(metadata.name, metadata.dir), "record with a foreign directory accepted");
  fuzz_require(metadata.dir.find('/') == std::string::npos && metadata.dir != "." && metadata.dir != "..",
               "record with a directory that is not one path component accepted");
  fuzz_require(nfs::parse_metadata_any_name(text).dir == metadata.dir, "the two parsers disagree");
  fuzz_require(!metadata.created_by.empty(), "record without created_by accepted");

  const nfs::VolumeMetadata again = nfs::parse_metadata(nfs::serialize_metadata(metadata), k_expected_name);
  fuzz_require(again.options == metadata.options, "round trip changed options");
  fuzz_require(again.dir == metadata.dir, "round trip changed dir");
  fuzz_require(again.created_by == metadata.created_by, "round trip changed created_by");
  fuzz_require(again.created_at == std::chrono::time_point_cast<std::chrono::seconds>(metadata.created_at),
               "round trip changed created_at");
  (void)nfs::compact_timestamp(metadata.created_at);
  return 0;
}
