/* parbench/plugin.h: the C ABI of a parbench native plugin (one installed header).
 *
 * A plugin is a shared library that exports one function, parbench_plugin(), returning a
 * pointer to a static parbench_plugin_v1 table. bench loads it with `--plugin=PATH.so`
 * (repeatable) and runs it as the family `plugin`, named by the table's `name`, under every
 * executor: `plugin/threads/workers:2/name:example`. Every process worker loads the same path.
 *
 * Rules of the boundary:
 * - Plain C: no C++ exception may leave a plugin function. A failure is reported by returning
 *   non-zero (or NULL from init) after writing one line into `error` (at most `error_size`
 *   bytes, NUL-terminated); bench shows that line as the task's (or benchmark's) error.
 * - `init` is called once per worker (thread or process) and per job; the state it returns is
 *   used by that worker only, one call at a time, then given to `fini`. A plugin that keeps
 *   global state must make it thread-safe itself: the threads executor runs several workers
 *   in one process.
 * - `run` computes task `index` of a batch on `payload` (`size` bytes, maybe 0; read-only, valid
 *   for the call) and stores a value that proves the work was done in `*proof`.
 * - `check` (optional, may be NULL) is called by bench in its own process after the tasks ran,
 *   with a state from `init`: it returns 0 when `proof` is what task `index` must return. With
 *   no `check` bench verifies only that every task succeeded.
 * - `abi_version` must be PARBENCH_PLUGIN_ABI_VERSION as this header defines it; bench refuses
 *   a plugin of another version before anything runs.
 */
#ifndef PARBENCH_PLUGIN_H_
#define PARBENCH_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever the table below changes shape. */
#define PARBENCH_PLUGIN_ABI_VERSION 1

/* The symbol bench looks up. */
#define PARBENCH_PLUGIN_ENTRY "parbench_plugin"

typedef struct parbench_plugin_v1 {
  /* PARBENCH_PLUGIN_ABI_VERSION: checked before any other field is read. */
  uint32_t abi_version;
  /* The benchmark name's `name:` value: letters, digits, '_' and '-', 1 to 64 of them. */
  const char* name;
  /* One line for the manifest ("" allowed). */
  const char* summary;
  /* Builds a worker's state. `config` is "key=value;key=value" text (tasks, payload_bytes).
   * Returns NULL with `error` filled when it cannot. */
  void* (*init)(const char* config, char* error, size_t error_size);
  /* Runs one task; returns 0 with `*proof` set, or non-zero with `error` filled. */
  int (*run)(void* state, uint32_t index, const void* payload, size_t size, uint64_t* proof,
             char* error, size_t error_size);
  /* Optional (NULL): returns 0 when `proof` is the right value for task `index`. */
  int (*check)(void* state, uint32_t index, const void* payload, size_t size, uint64_t proof,
               char* error, size_t error_size);
  /* Frees a state from init (may be NULL: then nothing). */
  void (*fini)(void* state);
} parbench_plugin_v1;

/* What a plugin exports (define it with PARBENCH_PLUGIN_EXPORT). */
typedef const parbench_plugin_v1* (*parbench_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define PARBENCH_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define PARBENCH_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif /* PARBENCH_PLUGIN_H_ */
