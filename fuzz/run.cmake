# Runs one libFuzzer target for a bounded time.
# Usage: cmake -DFUZZER= -DSEEDS= -DWORK= -DSECONDS= [-DDICT=] -P run.cmake
# The seeds are copied into WORK/corpus, where the inputs found on earlier runs are kept too;
# a crashing input is written to WORK/artifacts/ and the run fails.
foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}= is required")
  endif()
endforeach()

file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(COPY ${SEEDS}/ DESTINATION ${WORK}/corpus)

set(args -max_total_time=${SECONDS} -timeout=5 -rss_limit_mb=2048 -max_len=16384
         -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()

file(GLOB before ${WORK}/artifacts/*)
execute_process(COMMAND ${FUZZER} ${args} ${WORK}/corpus RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/artifacts/*)
  if(before)
    list(REMOVE_ITEM found ${before})
  endif()
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproduce with: ${FUZZER} ${found}")
endif()
