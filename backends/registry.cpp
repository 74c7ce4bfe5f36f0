// The one table of backend types. Adding a backend: its folder, its
// add_subdirectory() in backends/CMakeLists.txt, and one line here.
#include <holdfast/backend.hpp>

#include "local/local_backend.hpp"
#include "nfs/nfs_backend.hpp"
#include "iscsi/iscsi_backend.hpp"
#include "lvm/lvm_backend.hpp"

namespace holdfast {

const std::vector<BackendDescriptor>& backend_registry() {
  static const std::vector<BackendDescriptor> registry = {
      {"local", &local::make_backend, "a directory per volume under a base directory on this host"},
      {"nfs", &nfs::make_backend, "a subdirectory per volume on an NFS export, shared by every host (global)"},
      {"iscsi", &iscsi::make_backend, "a LUN per volume from an iSCSI pool, fenced by SCSI-3 reservations (global)"},
      {"lvm", &lvm::make_backend, "a logical volume with its own filesystem per volume (thick or thin) on this host"},
  };
  return registry;
}

const BackendDescriptor* find_backend_type(std::string_view type) {
  for (const auto& d : backend_registry()) {
    if (d.type == type) {
      return &d;
    }
  }
  return nullptr;
}

}  // namespace holdfast
