# One library per folder; its headers are included as "folder/file.hpp" from
# the source root.
function(trd_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  trd_set_warnings(${name})
endfunction()

function(trd_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()

# item2vec's training loop is bound by its 32-float vector products, which
# AVX2 and FMA do in half the instructions of the x86-64 baseline (SSE2):
# 1.4x faster per stage. The object then runs only on machines with them, so
# it is built that way only when the build machine has them; TRD_HOST_SIMD=OFF
# builds for any x86-64, as does a sanitized build, whose AddressSanitizer
# makes Eigen allocate in its own way (see below).
option(TRD_HOST_SIMD "build item2vec's training loop for the build machine's AVX2 and FMA" ON)
set(TRD_SIMD_OPTIONS "")
if(TRD_HOST_SIMD AND NOT TRD_SANITIZE AND NOT CMAKE_CROSSCOMPILING)
  include(CheckCXXSourceRuns)
  set(CMAKE_REQUIRED_FLAGS "-mavx2 -mfma")
  check_cxx_source_runs("
    int main() { return __builtin_cpu_supports(\"avx2\") && __builtin_cpu_supports(\"fma\") ? 0 : 1; }"
    TRD_HOST_HAS_AVX2_FMA)
  unset(CMAKE_REQUIRED_FLAGS)
  # Eigen aligns its heap blocks and fixed-size members to the widest packet
  # it is compiled for. The other objects' matrices must stay interchangeable
  # with this one's (a matrix allocated here and freed there corrupted the
  # heap), so alignment is capped at SSE's 16 bytes and heap blocks come from
  # plain malloc: Eigen 3.4.0 still offset them by 32 bytes under the cap.
  if(TRD_HOST_HAS_AVX2_FMA)
    set(TRD_SIMD_OPTIONS -mavx2 -mfma -DEIGEN_MAX_ALIGN_BYTES=16 -DEIGEN_MALLOC_ALREADY_ALIGNED=1)
  endif()
endif()
