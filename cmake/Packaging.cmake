# The Debian package (.deb) of holdfast, made by CPack from the install rules:
# holdfastd and the holdfast CLI (src/cli), the config as
# a conffile, the systemd units, the docs, and the maintainer scripts in
# packaging/deb/ (enable the socket unit; purge removes /etc/holdfast only,
# never the state in /var/lib/holdfast).
#
# The install rules use CMAKE_INSTALL_SYSCONFDIR and HOLDFAST_SYSTEMD_UNIT_DIR
# as they were when the tree was configured, so a package needs a build dir
# configured for Debian's layout (packaging/deb/build-deb.sh does all this):
#   cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
#         -DCMAKE_INSTALL_SYSCONFDIR=/etc -DHOLDFAST_SYSTEMD_UNIT_DIR=/lib/systemd/system
#   cmake --build build-deb -j2 && (cd build-deb && cpack -G DEB)
# cpack refuses to make a .deb from a tree configured otherwise (the config
# would land in /usr/etc), rather than produce a wrong package.
#
# Version: PROJECT_VERSION-HOLDFAST_DEB_RELEASE, e.g. 0.1.0-1.

set(HOLDFAST_DEB_RELEASE "1" CACHE STRING "Debian revision of the .deb (0.1.0-<this>)")
set(HOLDFAST_DEB_MAINTAINER "holdfast maintainers <maintainers@users.noreply.r-seed-c870c3c9.example>"
  CACHE STRING "Maintainer field of the .deb")

set(_hf_deb_src ${CMAKE_CURRENT_LIST_DIR}/../packaging/deb)
set(_hf_deb_out ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb)
set(HOLDFAST_DEB_VERSION "${PROJECT_VERSION}-${HOLDFAST_DEB_RELEASE}")

# ---- files the package adds to the project's own install rules
# Documentation, in /usr/share/doc/holdfast. The list is explicit; a document
# not written yet is skipped (and named) rather than failing the configure.
set(_hf_docs README.md docs/architecture.md docs/configuration.md docs/protocol.md docs/operations.md)
foreach(_doc IN LISTS _hf_docs)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${_doc})
    install(FILES ${PROJECT_SOURCE_DIR}/${_doc} DESTINATION ${CMAKE_INSTALL_DOCDIR})
  else()
    message(STATUS "Packaging: ${_doc} does not exist yet; not in the package")
  endif()
endforeach()
install(FILES ${_hf_deb_src}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${_hf_deb_src}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME holdfast)
# Debian wants a changelog.Debian.gz whose top entry is the package version.
configure_file(${_hf_deb_src}/changelog.in ${_hf_deb_out}/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${_hf_deb_out}/changelog.Debian.gz
  COMMAND gzip -9nfk ${_hf_deb_out}/changelog.Debian
  DEPENDS ${_hf_deb_out}/changelog.Debian
  COMMENT "Compressing changelog.Debian")
add_custom_target(holdfast_deb_changelog ALL DEPENDS ${_hf_deb_out}/changelog.Debian.gz)
install(FILES ${_hf_deb_out}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- control.tar: conffiles and maintainer scripts (0644 / 0755, enforced)
# Every file the project installs under /etc is a conffile: dpkg keeps an
# operator's edits across upgrades (asking when both sides changed), leaves
# it on remove and deletes it only on purge.
file(WRITE ${_hf_deb_out}/conffiles "/etc/holdfast/holdfast.yaml\n")
foreach(_script postinst prerm postrm)
  configure_file(${_hf_deb_src}/${_script} ${_hf_deb_out}/${_script} COPYONLY)
endforeach()

# ---- CPack
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "holdfast")
set(CPACK_PACKAGE_VENDOR "holdfast")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Docker volume plugin for NFS and SAN storage")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# Absolute destinations (/etc, /lib/systemd/system) must land in the package
# tree, never on the build machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGE_CONTACT "${HOLDFAST_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_NAME "holdfast")
set(CPACK_DEBIAN_PACKAGE_RELEASE "${HOLDFAST_DEB_RELEASE}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${HOLDFAST_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# The extended description; CPack puts the summary above it and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "holdfastd speaks Docker's volume plugin protocol on
/run/docker/plugins/holdfast.sock and routes each volume to a configured
backend: a local directory (the zero-config default), a subdirectory of an
NFS export, an iSCSI LUN or an LVM logical volume.

The package enables holdfast.socket (socket activation, so Docker may start
first). Configuration: /etc/holdfast/holdfast.yaml. Volume state lives in
/var/lib/holdfast and is never removed by the package, not even on purge.")
# Library dependencies come from dpkg-shlibdeps on the installed binaries
# (holdfastd and holdfast); the rest is declared here.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
# Tools the backends run, each needed only by its backend (local needs none).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nfs-common, open-iscsi, lvm2, thin-provisioning-tools, e2fsprogs, xfsprogs")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io | docker-ce")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${_hf_deb_out}/conffiles;${_hf_deb_out}/postinst;${_hf_deb_out}/prerm;${_hf_deb_out}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE "xz")
set(CPACK_STRIP_FILES ON)

# Checked when cpack runs (it has the generator then): the tree's layout.
set(HOLDFAST_PACKAGING_SYSCONFDIR "${CMAKE_INSTALL_SYSCONFDIR}")
set(HOLDFAST_PACKAGING_UNIT_DIR "${HOLDFAST_SYSTEMD_UNIT_DIR}")
set(HOLDFAST_PACKAGING_PREFIX "${CMAKE_INSTALL_PREFIX}")
configure_file(${_hf_deb_src}/cpack-checks.cmake.in ${_hf_deb_out}/cpack-checks.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${_hf_deb_out}/cpack-checks.cmake)

include(CPack)
