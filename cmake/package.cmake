# `cpack` (or `cmake --build . --target package`): a Debian package of what cmake/install.cmake
# installs: the programs, the suite and profiles under share/gearspec, the libraries, headers and
# CMake package, and the Python module. Configure with -DCMAKE_INSTALL_PREFIX=/usr for a package
# that installs where Debian expects it (scripts/package.sh does). Runtime dependencies come from
# dpkg-shlibdeps; the Python module is a Recommends, for the interpreter version it was built for.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gearspec)
set(CPACK_PACKAGE_VENDOR "gearspec")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Conformance harness for the Gearman job-server protocol")
set(CPACK_PACKAGE_DESCRIPTION
    "gearspec runs YAML scenarios of Gearman clients, workers and admin connections against a\n"
    "job server and judges every packet: unique keys and attaching to jobs, workers, priorities,\n"
    "background and persistent jobs, the admin protocol. It includes a reference server\n"
    "(gearspec-server), profiles for C gearmand and Perl Gearman::Server, a benchmark, a soak\n"
    "test, gearspec explore (random programs against the target and the reference), and Python\n"
    "bindings.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/gearspec/gearspec")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "gearspec developers <gearspec@invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # gearspec_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The servers it is usually pointed at; the headers the CMake package's consumers compile against;
# the library the installed Perl adapter of `gearspec clients` drives.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "gearman-job-server, gearman-server, libboost-dev, libyaml-cpp-dev, libsqlite3-dev, libgearman-client-perl")
if(GEARSPEC_PYTHON_VERSION)
  list(GET GEARSPEC_PYTHON_VERSION 0 py_major)
  list(GET GEARSPEC_PYTHON_VERSION 1 py_minor)
  math(EXPR py_next "${py_minor} + 1")
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3 (>= ${py_major}.${py_minor}), python3 (<< ${py_major}.${py_next})")
endif()
set(CPACK_STRIP_FILES ON)
include(CPack)
