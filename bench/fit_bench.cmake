# Fit benchmarks (bench/fit_*): included from bench/CMakeLists.txt.
if(NOT SCALELAB_TRAINER_ONLY)
  add_executable(fit_approach3 ${CMAKE_CURRENT_LIST_DIR}/fit_approach3.cpp)
  target_link_libraries(fit_approach3 PRIVATE scalelab_fit fmt::fmt)
  target_compile_definitions(fit_approach3 PRIVATE SCALELAB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()
