# `cmake --install` and the .deb (`make deb`): the binary, its man page, bash completion, the
# example plans, the plan and report schemas and the Grafana dashboard, in GNUInstallDirs places.

install(TARGETS memstrain RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Debian installs man pages gzipped (-n: no name or time stamp, so the package is reproducible).
find_program(MEMSTRAIN_GZIP gzip REQUIRED)
set(MEMSTRAIN_MAN_GZ ${CMAKE_BINARY_DIR}/memstrain.1.gz)
add_custom_command(OUTPUT ${MEMSTRAIN_MAN_GZ}
  COMMAND ${MEMSTRAIN_GZIP} -9n -c ${CMAKE_SOURCE_DIR}/docs/memstrain.1 > ${MEMSTRAIN_MAN_GZ}
  DEPENDS ${CMAKE_SOURCE_DIR}/docs/memstrain.1
  COMMENT "gzip the man page")
set(MEMSTRAIN_README_GZ ${CMAKE_BINARY_DIR}/README.md.gz)
add_custom_command(OUTPUT ${MEMSTRAIN_README_GZ}
  COMMAND ${MEMSTRAIN_GZIP} -9n -c ${CMAKE_SOURCE_DIR}/README.md > ${MEMSTRAIN_README_GZ}
  DEPENDS ${CMAKE_SOURCE_DIR}/README.md
  COMMENT "gzip the README for /usr/share/doc")
add_custom_target(memstrain_man ALL DEPENDS ${MEMSTRAIN_MAN_GZ} ${MEMSTRAIN_README_GZ})
install(FILES ${MEMSTRAIN_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES ${CMAKE_SOURCE_DIR}/completion/memstrain.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME memstrain)

file(GLOB MEMSTRAIN_SHIPPED_PLANS ${CMAKE_SOURCE_DIR}/plans/*.json)
install(FILES ${MEMSTRAIN_SHIPPED_PLANS} DESTINATION ${CMAKE_INSTALL_DATADIR}/memstrain/plans)
install(FILES ${CMAKE_SOURCE_DIR}/docs/plan.schema.json ${CMAKE_SOURCE_DIR}/docs/report.schema.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/memstrain/schemas)
install(FILES ${CMAKE_SOURCE_DIR}/docs/grafana-dashboard.json DESTINATION ${CMAKE_INSTALL_DATADIR}/memstrain/grafana)
install(FILES ${MEMSTRAIN_README_GZ} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# CPack: a .deb whose Depends come from dpkg-shlibdeps (the libraries the binary links), so it
# installs with apt on a plain bookworm.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME memstrain)
set(CPACK_PACKAGE_VENDOR memstrain)
set(CPACK_PACKAGE_CONTACT "memstrain maintainers <memstrain@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memory-pressure chaos experiments for Go services, with a verdict")
set(CPACK_PACKAGE_DESCRIPTION "memstrain runs a plan of stages (baseline, ramp, hold, release) against a Go service
in a cgroup: a stressor applies memory pressure inside, beside or at node level while memstrain
samples the cgroup, the process, the Go runtime and HTTP latency, then judges the plan's checks
and writes report.json, report.html, junit.xml and Prometheus metrics.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "man-db")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, bash-completion")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
