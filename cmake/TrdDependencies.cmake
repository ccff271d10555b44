# Every library the project uses is found here, once, so a missing one stops the
# configure step with the Debian package that provides it.

function(trd_require found package_name debian_package)
  if(NOT ${found})
    message(FATAL_ERROR
      "trd needs ${package_name}; install it with scripts/install-deps.sh "
      "(Debian package: ${debian_package}).")
  endif()
endfunction()

find_package(Eigen3 3.3 NO_MODULE QUIET)
trd_require(Eigen3_FOUND "Eigen 3" libeigen3-dev)

find_package(Boost 1.71 QUIET COMPONENTS program_options)
trd_require(Boost_FOUND "Boost.Program_options" libboost-program-options-dev)

find_package(HDF5 QUIET COMPONENTS C CXX)
trd_require(HDF5_FOUND "the HDF5 C++ API" libhdf5-dev)

find_package(ZLIB QUIET)
trd_require(ZLIB_FOUND "zlib" zlib1g-dev)

find_package(nlohmann_json 3 QUIET)
trd_require(nlohmann_json_FOUND "nlohmann JSON" nlohmann-json3-dev)

find_package(Torch QUIET)
trd_require(Torch_FOUND "LibTorch" libtorch-dev)
# Debian's LibTorch has c10d's Gloo backend built in; its headers include
# Gloo's, which come apart (agents/replica_group.cpp, trd train --world-size).
find_path(GLOO_INCLUDE_DIR gloo/config.h)
trd_require(GLOO_INCLUDE_DIR "the Gloo headers (c10d's Gloo backend)" libgloo-dev)

find_package(Threads REQUIRED)

# The Python package and the interop tests need the Debian interpreter that
# python3-numpy, python3-h5py and pybind11-dev serve, not whatever python3
# comes first on PATH.
find_program(TRD_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(TRD_PYTHON python3)
option(TRD_BUILD_PYTHON "build the Python package (python/) when pybind11 is found" ON)
if(TRD_BUILD_PYTHON)
  set(Python_EXECUTABLE "${TRD_PYTHON}" CACHE FILEPATH "the interpreter the package is built for")
  set(PYBIND11_FINDPYTHON ON)
  find_package(pybind11 2.6 CONFIG QUIET)
  if(NOT pybind11_FOUND)
    message(STATUS "trd: pybind11 not found (Debian package pybind11-dev): no Python package")
  endif()
endif()

if(BUILD_TESTING)
  find_package(Catch2 2 QUIET)
  trd_require(Catch2_FOUND "Catch2 v2" catch2)
  execute_process(COMMAND "${TRD_PYTHON}" -c "import h5py, numpy"
                  RESULT_VARIABLE h5py_missing OUTPUT_QUIET ERROR_QUIET)
  if(h5py_missing EQUAL 0)
    set(h5py_found TRUE)
  endif()
  trd_require(h5py_found "h5py for ${TRD_PYTHON} (the interop tests' second client)" python3-h5py)
endif()
