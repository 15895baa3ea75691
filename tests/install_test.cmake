# An installed bench works without the build tree: installs into a temporary prefix, moves the
# prefix elsewhere, and runs the installed bench (cpu, api, dot and py_cpu: every module loaded)
# and the installed parbench-tools on its output.
# Usage: cmake -DBUILD_DIR=<build tree> -P install_test.cmake
if(NOT BUILD_DIR)
  message(FATAL_ERROR "install_test.cmake: pass -DBUILD_DIR=<build tree>")
endif()
set(tmp "$ENV{TMPDIR}")
if(NOT tmp)
  set(tmp /tmp)
endif()
string(RANDOM LENGTH 8 suffix)
set(work "${tmp}/parbench-install-test-${suffix}")
file(MAKE_DIRECTORY "${work}")

# Fails the test after removing the work directory.
function(fail what)
  file(REMOVE_RECURSE "${work}")
  message(FATAL_ERROR "${what}")
endfunction()

# Runs a command; fails the test unless it exits 0. Its output lands in `${out_var}`.
function(run out_var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out
                  TIMEOUT 240)
  if(NOT status EQUAL 0)
    fail("`${ARGN}` exited with ${status}:\n${out}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

run(out "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${work}/prefix")
foreach(file bin/bench bin/parbench-tools lib/parbench/libparbench_curl.so
        lib/parbench/libparbench_blas.so lib/parbench/libparbench_python.so
        include/parbench/plugin.h lib/parbench/tools/parbench_tools/cli.py)
  if(NOT EXISTS "${work}/prefix/${file}")
    fail("the install did not place ${file}:\n${out}")
  endif()
endforeach()
# Moved: nothing may depend on the prefix it was installed to, or on the build tree.
file(RENAME "${work}/prefix" "${work}/moved")

run(out "${work}/moved/bin/bench"
    "--benchmark_filter=^(cpu/serial|cpu/threads/workers:2|api/serial|dot/serial/blas_threads:1|py_cpu/serial|py_cpu/processes/workers:2)/"
    --workers=2 --cpu_n=1000 --tasks=2 --dot_n=16 --api_latency_ms=0 --py_n=1000
    --benchmark_min_time=0.01
    --benchmark_out_format=json "--benchmark_out=${work}/run.json")
if(out MATCHES "ERROR OCCURRED" OR NOT out MATCHES "api/serial" OR NOT out MATCHES "dot/serial"
   OR NOT out MATCHES "py_cpu/processes")
  fail("the installed bench did not run cpu, api, dot and py_cpu cleanly:\n${out}")
endif()
# api and dot ran, so their families wrote their libraries' versions, found in the modules.
file(READ "${work}/run.json" run_json)
# Google Benchmark writes NaN for the cv of a counter that is always 0 (the quick profile's
# repetitions give cv rows), which is no JSON: read as null, as the smoke test does.
string(REGEX REPLACE ": (-?nan|NaN)" ": null" run_json "${run_json}")
foreach(key parbench_libcurl_version parbench_openblas_config)
  string(JSON value ERROR_VARIABLE missing GET "${run_json}" context ${key})
  if(missing OR value MATCHES "^unavailable")
    fail("the installed bench did not find its modules (${key}: ${value}${missing}):\n${out}")
  endif()
endforeach()
run(out "${work}/moved/bin/parbench-tools" speedup "${work}/run.json" --format csv)
if(NOT out MATCHES "cpu,threads,2")
  fail("the installed parbench-tools printed no speedup table:\n${out}")
endif()
file(REMOVE_RECURSE "${work}")
