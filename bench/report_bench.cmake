# Report benchmark (bench/report_*): include from bench/CMakeLists.txt with
#   include(${CMAKE_CURRENT_SOURCE_DIR}/report_bench.cmake OPTIONAL)
# It builds its database with the synthetic sweeps of reports/fixture.h.
if(NOT SCALELAB_TRAINER_ONLY)
  add_executable(report_bench ${CMAKE_CURRENT_LIST_DIR}/report_bench.cpp)
  target_link_libraries(report_bench PRIVATE scalelab_reports scalelab_report_fixture fmt::fmt)
  target_compile_options(report_bench PRIVATE ${SCALELAB_WARNINGS})
endif()
