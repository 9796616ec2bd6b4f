# Sweep benchmarks (bench/plan_bench, bench/status_bench): included from bench/CMakeLists.txt.
if(NOT SCALELAB_TRAINER_ONLY)
  foreach(name plan_bench status_bench)
    add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp)
    target_link_libraries(${name} PRIVATE scalelab_sweep fmt::fmt)
    target_compile_options(${name} PRIVATE ${SCALELAB_WARNINGS})
  endforeach()
endif()
