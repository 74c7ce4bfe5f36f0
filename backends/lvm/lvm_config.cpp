#include "lvm_config.hpp"

#include <holdfast/error.hpp>

#include "lvm_names.hpp"

namespace holdfast::lvm {

namespace {

using std::chrono::milliseconds;

std::uint64_t read_size(ConfigReader& config, const std::string& key, std::uint64_t fallback) {
  auto text = config.string(key);
  if (!text) {
    return fallback;
  }
  try {
    return parse_size(*text, key);
  } catch (const Error& e) {
    config.fail(key, e.what());
  }
}

}  // namespace

LvmConfig read_lvm_config(ConfigReader& config) {
  LvmConfig out;
  out.volume_group = config.required_string("volume_group");
  out.thin_pool = config.string("thin_pool", "");
  out.lv_prefix = config.string("lv_prefix", out.lv_prefix);
  try {
    LvNamer namer(out.volume_group, out.lv_prefix);
  } catch (const Error& e) {
    config.fail(is_valid_vg_name(out.volume_group) ? "lv_prefix" : "volume_group", e.what());
  }
  if (!out.thin_pool.empty() && !is_valid_lv_name(out.thin_pool)) {
    config.fail("thin_pool", "\"" + out.thin_pool + "\" is not a valid LVM logical volume name");
  }
  out.fs = *parse_fs(config.choice("fs", "ext4", {"ext4", "xfs"}));
  out.max_size = read_size(config, "max_size", out.max_size);
  if (out.max_size < k_min_size) {
    config.fail("max_size", "must be at least " + format_size(k_min_size));
  }
  out.default_size = read_size(config, "default_size", out.default_size);
  if (out.default_size < k_min_size || out.default_size > out.max_size) {
    config.fail("default_size", format_size(out.default_size) + " is outside [" + format_size(k_min_size) +
                                    ", max_size " + format_size(out.max_size) + "]");
  }
  if (out.fs == FsType::xfs && out.default_size < k_xfs_min_size) {
    config.fail("default_size", "xfs needs at least " + format_size(k_xfs_min_size));
  }
  out.max_copy_size = read_size(config, "max_copy_size", out.max_copy_size);
  out.pool_warning_percent = static_cast<int>(config.integer("pool_warning_percent", 80, 1, 100));
  out.deactivate_on_unmount = config.boolean("deactivate_on_unmount", false);

  ConfigReader mkfs = config.child("mkfs_options");
  for (auto [key, fs] : {std::pair{"ext4", FsType::ext4}, std::pair{"xfs", FsType::xfs}}) {
    std::string text = mkfs.string(key, "");
    try {
      (fs == FsType::ext4 ? out.mkfs_ext4 : out.mkfs_xfs) = parse_mkfs_options(text, fs, false);
    } catch (const Error& e) {
      mkfs.fail(key, e.what());
    }
  }
  mkfs.finish();
  ConfigReader mount = config.child("mount_options");
  out.mount_ext4 = mount.string("ext4", "");
  out.mount_xfs = mount.string("xfs", "");
  for (auto [key, fs] : {std::pair{"ext4", FsType::ext4}, std::pair{"xfs", FsType::xfs}}) {
    try {
      (void)parse_mount_options(fs == FsType::ext4 ? out.mount_ext4 : out.mount_xfs, fs, false);
    } catch (const Error& e) {
      mount.fail(key, e.what());
    }
  }
  mount.finish();

  ConfigReader timeouts = config.child("timeouts");
  const milliseconds one_second{1000};
  const milliseconds one_hour{3'600'000};
  out.timeouts.command = timeouts.duration("command", out.timeouts.command, one_second, one_hour);
  out.timeouts.mkfs = timeouts.duration("mkfs", out.timeouts.mkfs, one_second, one_hour);
  out.timeouts.copy = timeouts.duration("copy", out.timeouts.copy, one_second, one_hour);
  out.timeouts.grow = timeouts.duration("grow", out.timeouts.grow, one_second, one_hour);
  out.timeouts.cleanup = timeouts.duration("cleanup", out.timeouts.cleanup, one_second, one_hour);
  timeouts.finish();

  config.finish();
  return out;
}

}  // namespace holdfast::lvm
