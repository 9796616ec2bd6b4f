# Helpers shared by every module's CMakeLists.

set(SCALELAB_WARNINGS -Wall -Wextra -Wno-unused-parameter)

# scalelab_unit_tests(NAME SOURCES... LIBS ...): a doctest binary registered with CTest.
# Test files sit next to the code they test (foo.cpp / foo_test.cpp).
function(scalelab_unit_tests name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT SCALELAB_TESTS OR SCALELAB_TRAINER_ONLY)
    return()
  endif()
  add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/doctest_main.cpp ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} doctest::doctest)
  target_compile_options(${name} PRIVATE ${SCALELAB_WARNINGS})
  target_compile_definitions(${name} PRIVATE SCALELAB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit)
endfunction()
