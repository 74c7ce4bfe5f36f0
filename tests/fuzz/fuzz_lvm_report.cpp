// Fuzz target: parse_lvs_report (backends/lvm/lvm_report.cpp), the reader of
// `lvs --reportformat json` output that every LVM operation trusts.
//
// Contract checked (lvm_report.hpp): malformed output throws holdfast::Error
// (nothing else escapes); a parsed row has a name, and its percentages, when
// present, lie in [0, 100].
#include <cstddef>
#include <cstdint>

#include <holdfast/error.hpp>

#include "fuzz_check.hpp"
#include "lvm_report.hpp"

using holdfast::fuzz::fuzz_require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    for (const auto& lv : holdfast::lvm::parse_lvs_report(holdfast::fuzz::as_text(data, size))) {
      fuzz_require(!lv.name.empty(), "LV without a name accepted");
      for (const auto& percent : {lv.data_percent, lv.metadata_percent}) {
        fuzz_require(!percent || (*percent >= 0.0 && *percent <= 100.0001), "percentage out of [0, 100] accepted");
      }
      for (const auto& tag : lv.tags) {
        fuzz_require(!tag.empty(), "empty tag");
      }
      (void)lv.is_thin_volume();
      (void)lv.is_active();
      (void)lv.is_open();
    }
  } catch (const holdfast::Error&) {
    // Malformed report: the documented outcome.
  }
  return 0;
}
