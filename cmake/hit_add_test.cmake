include(GoogleTest)

# hit_add_test(NAME name SOURCES a.cpp ... LIBS lib ... [LABELS l ...] [SERIAL])
# One GoogleTest executable, registered with CTest test by test. Every test gets a CTest
# timeout as a last-resort watchdog; concurrency tests arm their own, tighter watchdog.
# SERIAL: the tests measure time against a schedule, so they run alone, not beside others
# on the 2 cores (ctest -j2 would otherwise starve them).
function(hit_add_test)
  cmake_parse_arguments(T "SERIAL" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  hit_set_warnings(${T_NAME})
  set(serial FALSE)
  if(T_SERIAL)
    set(serial TRUE)
  endif()
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}" RUN_SERIAL ${serial})
endfunction()
