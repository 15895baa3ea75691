# Writes OUTPUT with the revision of SOURCE_DIR, rewriting it only when it changed so that an
# unchanged tree does not trigger a rebuild. In order: `git describe` (plus "-dirty") where
# SOURCE_DIR is a git checkout; the commit `git archive` wrote into cmake/revision.txt (an
# export-subst file, see .gitattributes) for a tree unpacked from an archive; $PARBENCH_REVISION
# (a CI cache or a copy without .git can name it); else "unknown", said out loud here and by
# bench at every run, since results without a revision cannot be placed in any history.
# Only SOURCE_DIR's own repository: a tree unpacked inside another checkout is not that one.
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --show-toplevel
                OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE status)
set(rev "")
if(status EQUAL 0 AND top)
  file(REAL_PATH "${top}" top)
  file(REAL_PATH "${SOURCE_DIR}" here)
  if(top STREQUAL here)
    execute_process(COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --abbrev=12
                    OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                    RESULT_VARIABLE status)
  endif()
endif()
set(source "git")
if(NOT status EQUAL 0 OR rev STREQUAL "")
  set(rev "")
  file(READ "${SOURCE_DIR}/cmake/revision.txt" archived)
  string(STRIP "${archived}" archived)
  if(archived MATCHES "^[0-9a-f]+$")  # substituted by git archive (else still $Format:...$)
    string(SUBSTRING "${archived}" 0 12 rev)
    set(source "archive")
  elseif(NOT "$ENV{PARBENCH_REVISION}" STREQUAL "")
    set(rev "$ENV{PARBENCH_REVISION}")
    set(source "PARBENCH_REVISION")
  else()
    set(rev "unknown")
    set(source "none")
    message(WARNING "parbench: the revision is unknown: ${SOURCE_DIR} is not a git checkout and "
                    "not a git archive; set PARBENCH_REVISION=... to record one in the results")
  endif()
endif()
string(CONCAT content "#pragma once\n#define PARBENCH_GIT_REVISION \"${rev}\"\n"
       "#define PARBENCH_REVISION_SOURCE \"${source}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT "${old}" STREQUAL "${content}")
  file(WRITE "${OUTPUT}" "${content}")
endif()
