# Sanitized builds (docs/reliability.md, "Sanitizers").
#   S3REC_SANITIZE=ON or address,undefined : AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer
#   S3REC_SANITIZE=thread                  : ThreadSanitizer
# Every target (library, CLI, tests, benchmarks) is built with the same flags, and every executable
# that links s3rec_lib gets sanitizers/defaults.cpp: the runtime options and suppression files are
# compiled in, so a sanitized binary behaves the same under ctest, mpirun or by hand.
set(S3REC_SANITIZE "" CACHE STRING "sanitizers for every target: ON (= address,undefined), a comma list, or thread")

if(S3REC_SANITIZE)
  string(TOLOWER "${S3REC_SANITIZE}" _san)
  if(_san STREQUAL "on")
    set(_san "address,undefined")
  endif()
  string(REPLACE "," ";" _san_list "${_san}")
  foreach(s ${_san_list})
    if(NOT s MATCHES "^(address|undefined|leak|thread)$")
      message(FATAL_ERROR "S3REC_SANITIZE: unknown sanitizer '${s}' (use address, undefined, leak or thread)")
    endif()
  endforeach()
  if("thread" IN_LIST _san_list AND ("address" IN_LIST _san_list OR "leak" IN_LIST _san_list))
    message(FATAL_ERROR "S3REC_SANITIZE: thread cannot be combined with address or leak")
  endif()

  # line tables are enough for reports with file:line, and much cheaper to build than full -g
  set(_san_flags "-fsanitize=${_san}" -fno-omit-frame-pointer)
  add_compile_options($<IF:$<CXX_COMPILER_ID:Clang>,-gline-tables-only,-g1>)
  if("undefined" IN_LIST _san_list)
    # float -> int conversions out of range are undefined too, but not in GCC's 'undefined' group;
    # no recovery: the first report aborts the process, so the test that triggered it fails
    list(APPEND _san_flags -fsanitize=float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow)
  endif()
  # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized warnings (here: inside
  # libstdc++'s <regex>); the plain build keeps the warning
  add_compile_options(${_san_flags} $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  add_link_options(${_san_flags})
  message(STATUS "sanitizers: ${_san}")

  add_library(s3rec_sanitizer_defaults INTERFACE)
  target_sources(s3rec_sanitizer_defaults INTERFACE ${CMAKE_SOURCE_DIR}/sanitizers/defaults.cpp)
  target_compile_definitions(s3rec_sanitizer_defaults INTERFACE
    S3REC_SANITIZER_DIR="${CMAKE_SOURCE_DIR}/sanitizers")
endif()
