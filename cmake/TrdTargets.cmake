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
