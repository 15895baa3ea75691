// io: each task writes a text payload to its own file in a directory the parent made private
// for the job (see common/temp_dir.h); the parent removes it, even after a worker crash.
// Question it answers: do workers overlap waiting on the disk, and what does shipping the
// payload to a process cost?
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "workloads/workload.h"

namespace parbench::io {

// Text of exactly `bytes` bytes: numbered lines, so a short or shuffled file is easy to spot.
[[nodiscard]] std::vector<std::byte> MakeText(std::int64_t bytes);

// MakeText(bytes), built once per process and shared for as long as anyone holds it. Every
// local-payload runner of one process (the serial executor, each thread of a pool) writes from
// this one copy instead of building its own; a parent's shipped payload can be it too.
[[nodiscard]] std::shared_ptr<const std::vector<std::byte>> SharedText(std::int64_t bytes);

// The config of an io job.
//   dir      the job's private directory (it must exist); task i writes FileName(i) in it
//   durable  fdatasync each file before the task ends (else it stays in the page cache)
//   bytes    with local=1, the payload size the worker builds itself
//   local    1: every worker process builds its own payload (one SharedText per process);
//            0: the payload comes with the task
//   keep     1: leave each file in place (tests read them back); else it is unlinked at once
[[nodiscard]] Config MakeConfig(const std::string& dir, bool durable, std::int64_t bytes,
                                bool local);

// The name of task `index`'s file inside the worker's directory.
[[nodiscard]] std::string FileName(std::uint32_t index);

extern const Workload kWorkload;

}  // namespace parbench::io
