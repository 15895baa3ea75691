/* The example parbench plugin: an empty task, the native twin of the built-in `overhead` task,
 * so a plugin's dispatch can be held against bench's own. Build it against parbench/plugin.h,
 * load it with `bench --plugin=libparbench_example_plugin.so`; it runs as
 * plugin/SERIAL-THREADS-PROCESSES.../name:example.
 *
 * Each task proves it ran by returning a value only task `index` gives, which check() (run by
 * bench in its own process) recomputes. */
#include <parbench/plugin.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef EXAMPLE_ABI_VERSION /* the tests build a copy with another version, to be refused */
#define EXAMPLE_ABI_VERSION PARBENCH_PLUGIN_ABI_VERSION
#endif

typedef struct {
  uint64_t salt; /* per-worker state: a real plugin keeps its buffers, handles, ... here */
} example_state;

static uint64_t proof_of(const example_state* state, uint32_t index) {
  return ((uint64_t)index + 1u) * state->salt;
}

static void* example_init(const char* config, char* error, size_t error_size) {
  (void)config; /* "path=...;name=example;tasks=N;payload_bytes=0": unused here */
  example_state* state = malloc(sizeof *state);
  if (state == NULL) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  state->salt = 0x9E3779B97F4A7C15u;
  return state;
}

static int example_run(void* state, uint32_t index, const void* payload, size_t size,
                       uint64_t* proof, char* error, size_t error_size) {
  (void)payload;
  (void)size;
  (void)error;
  (void)error_size;
  *proof = proof_of(state, index);
  return 0;
}

static int example_check(void* state, uint32_t index, const void* payload, size_t size,
                         uint64_t proof, char* error, size_t error_size) {
  (void)payload;
  (void)size;
  if (proof == proof_of(state, index)) return 0;
  snprintf(error, error_size, "expected %llu", (unsigned long long)proof_of(state, index));
  return 1;
}

static void example_fini(void* state) { free(state); }

static const parbench_plugin_v1 kExample = {
    .abi_version = EXAMPLE_ABI_VERSION,
    .name = "example",
    .summary = "an empty task (the native twin of overhead)",
    .init = example_init,
    .run = example_run,
    .check = example_check,
    .fini = example_fini,
};

PARBENCH_PLUGIN_EXPORT const parbench_plugin_v1* parbench_plugin(void) { return &kExample; }
