// libparbench_python.so: everything that touches CPython (see modules.h for why it is a module).
//
// One interpreter per process, started on first use and never finalised (a worker thread
// abandoned past the task timeout may still hold the GIL; Py_FinalizeEx would wait for it, and
// process exit frees everything anyway). Right after Py_InitializeFromConfig the starting
// thread gives the GIL up with PyEval_SaveThread, so no thread holds it between tasks: every
// task, on whichever thread runs it (a pool thread, the serial caller, a process worker's main
// thread), takes it with PyGILState_Ensure and gives it back with PyGILState_Release, exactly
// as a ThreadPoolExecutor's threads do. A process worker is this binary exec'd, so it starts
// an interpreter of its own, as a ProcessPoolExecutor's worker does; nothing here forks.
#include <Python.h>  // first, as CPython asks
#include <time.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "workloads/modules.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>  // __lsan_disable: see LeakExempt
#endif

namespace parbench {
namespace {

std::int64_t MonotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Under AddressSanitizer: while it lives, what this thread allocates is exempt from
// LeakSanitizer. The interpreter is never finalised (see the top of this file), so at exit
// everything it and the code it runs still hold (its objects, an extension's OpenSSL contexts)
// would read as leaks in every process that ran Python. Only the interpreter's own work is
// wrapped in it (its start and every call made with the GIL held), so parbench's own leaks are
// still reported. Nothing in other builds.
class LeakExempt {
 public:
#if defined(__SANITIZE_ADDRESS__)
  LeakExempt() { __lsan_disable(); }
  ~LeakExempt() { __lsan_enable(); }
#else
  LeakExempt() = default;
#endif
  LeakExempt(const LeakExempt&) = delete;
  LeakExempt& operator=(const LeakExempt&) = delete;
};

// The interpreter's start, once per process: its error ("" when it started) and its cost.
std::once_flag g_once;
std::string g_start_error;
std::int64_t g_took_ns = 0;  // what the start cost, whenever it happened

std::int64_t Start() {
  std::int64_t took = 0;
  std::call_once(g_once, [&took] {
    [[maybe_unused]] const LeakExempt exempt;
    const std::int64_t t0 = MonotonicNs();
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    // bench owns SIGINT/SIGTERM (it stops and reaps its workers); Python must not take them.
    config.install_signal_handlers = 0;
    config.parse_argv = 0;  // bench's argv is not Python's
    const PyStatus status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
      // Never Py_ExitStatusException(): it would exit the process.
      g_start_error = std::string("cannot start the Python interpreter: ") +
                      (status.err_msg != nullptr ? status.err_msg : "unknown error");
      return;
    }
    // Give the GIL up: from now on every thread takes it per task (PyGILState_Ensure).
    (void)PyEval_SaveThread();
    took = MonotonicNs() - t0;
    g_took_ns = took;
  });
  if (!g_start_error.empty()) throw WorkloadError(g_start_error);
  return took;
}

// Holds the GIL for as long as it lives; works from any thread, including threads Python did
// not create (it makes and drops their thread state).
class Gil {
 public:
  Gil() : state_(PyGILState_Ensure()) {}
  ~Gil() { PyGILState_Release(state_); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  LeakExempt exempt_;  // first: taken before the GIL, given up after it
  PyGILState_STATE state_;
};

// A strong reference, released (under the GIL the caller holds) when it goes.
class Ref {
 public:
  Ref() = default;
  explicit Ref(PyObject* object) : object_(object) {}
  ~Ref() { Py_XDECREF(object_); }
  Ref(Ref&& other) noexcept : object_(other.object_) { other.object_ = nullptr; }
  Ref& operator=(Ref&& other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  [[nodiscard]] PyObject* get() const { return object_; }
  [[nodiscard]] explicit operator bool() const { return object_ != nullptr; }
  PyObject* release() {
    PyObject* out = object_;
    object_ = nullptr;
    return out;
  }

 private:
  PyObject* object_ = nullptr;
};

// The pending Python exception as "TypeName: message" (clears it). Call with the GIL held.
std::string TakeError() {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  if (type == nullptr) return "unknown Python error";
  PyErr_NormalizeException(&type, &value, &traceback);
  const Ref type_ref(type), value_ref(value), traceback_ref(traceback);
  std::string out = PyType_Check(type) ? reinterpret_cast<PyTypeObject*>(type)->tp_name : "error";
  if (value != nullptr) {
    const Ref text(PyObject_Str(value));
    const char* utf8 = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
    if (utf8 != nullptr && *utf8 != '\0') out += std::string(": ") + utf8;
    PyErr_Clear();  // a failing __str__ must not leave an exception behind
  }
  return out;
}

// Throws WorkloadError("`what`: TypeName: message") for the pending exception.
[[noreturn]] void ThrowPython(const std::string& what) {
  throw WorkloadError(what + ": " + TakeError());
}

// Imports `module` with `path` first on sys.path and returns its attribute `function`, which
// must be callable. Call with the GIL held.
Ref FindFunction(const std::string& path, const std::string& module, const std::string& function) {
  const std::string name = module + ":" + function;
  if (!path.empty()) {
    PyObject* sys_path = PySys_GetObject("path");  // borrowed
    const Ref dir(PyUnicode_DecodeFSDefault(path.c_str()));
    if (sys_path == nullptr || !dir) ThrowPython("cannot set sys.path for " + name);
    const int present = PySequence_Contains(sys_path, dir.get());
    if (present < 0) ThrowPython("cannot set sys.path for " + name);
    if (present == 0 && PyList_Insert(sys_path, 0, dir.get()) != 0) {
      ThrowPython("cannot set sys.path for " + name);
    }
  }
  const Ref imported(PyImport_ImportModule(module.c_str()));
  if (!imported) ThrowPython("cannot import " + module);
  Ref callable(PyObject_GetAttrString(imported.get(), function.c_str()));
  if (!callable) ThrowPython(name);
  if (PyCallable_Check(callable.get()) == 0) {
    throw WorkloadError(name + " is a " + Py_TYPE(callable.get())->tp_name + ", not a function");
  }
  return callable;
}

// The article's experiment, verbatim.
constexpr const char* kCpuHeavy =
    "def cpu_heavy(n):\n"
    "    count = 0\n"
    "    for i in range(n):\n"
    "        count += i\n"
    "    return count\n";

// A runner that holds one Python callable (dropped under the GIL).
class CallableRunner : public TaskRunner {
 public:
  ~CallableRunner() override {
    if (callable_) {
      const Gil gil;
      callable_ = Ref();
    }
  }

 protected:
  Ref callable_;
};

// py_cpu: cpu_heavy(n) in pure Python; returns its sum (checked by the parent).
class LoopRunner final : public CallableRunner {
 public:
  explicit LoopRunner(const Config& config) : n_(config.GetInt("n")) {
    if (n_ < 1) throw WorkloadError("py_cpu: n must be at least 1");
    Start();
    const Gil gil;
    const Ref globals(PyDict_New());
    if (!globals ||
        PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) != 0) {
      ThrowPython("py_cpu");
    }
    const Ref defined(PyRun_String(kCpuHeavy, Py_file_input, globals.get(), globals.get()));
    if (!defined) ThrowPython("py_cpu: defining cpu_heavy");
    PyObject* function = PyDict_GetItemString(globals.get(), "cpu_heavy");  // borrowed
    if (function == nullptr) throw WorkloadError("py_cpu: cpu_heavy is not defined");
    Py_INCREF(function);
    callable_ = Ref(function);
  }

  TaskOutput Run(std::uint32_t, std::span<const std::byte>) override {
    const Gil gil;
    const Ref n(PyLong_FromLongLong(n_));
    if (!n) ThrowPython("py_cpu");
    const Ref result(PyObject_CallOneArg(callable_.get(), n.get()));
    if (!result) ThrowPython("py_cpu: cpu_heavy raised");
    const unsigned long long value = PyLong_AsUnsignedLongLongMask(result.get());
    if (PyErr_Occurred() != nullptr) ThrowPython("py_cpu: cpu_heavy's result");
    return {.value = value, .reply = {}};
  }

 private:
  long long n_;
};

// py: a user's FUNCTION(index, payload); an int is its own proof, bytes their length, None 0.
class CallRunner final : public CallableRunner {
 public:
  explicit CallRunner(const Config& config)
      : name_(config.GetString("module") + ":" + config.GetString("function")) {
    Start();
    const Gil gil;
    callable_ = FindFunction(config.GetString("path", ""), config.GetString("module"),
                             config.GetString("function"));
  }

  TaskOutput Run(std::uint32_t index, std::span<const std::byte> payload) override {
    const Gil gil;
    // A bytes object per task, as a pool's pickled argument would be (a copy of the payload).
    const Ref data(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(payload.data()),
                                             static_cast<Py_ssize_t>(payload.size())));
    const Ref number(PyLong_FromUnsignedLong(index));
    if (!data || !number) ThrowPython(name_);
    PyObject* args[] = {number.get(), data.get()};
    const Ref result(PyObject_Vectorcall(callable_.get(), args, 2, nullptr));
    if (!result) ThrowPython(name_ + " raised");
    if (result.get() == Py_None) return {.value = 0, .reply = {}};
    if (PyBytes_Check(result.get())) {
      return {.value = static_cast<std::uint64_t>(PyBytes_GET_SIZE(result.get())), .reply = {}};
    }
    if (PyLong_Check(result.get())) {
      const unsigned long long value = PyLong_AsUnsignedLongLongMask(result.get());
      if (PyErr_Occurred() != nullptr) ThrowPython(name_ + "'s result");
      return {.value = value, .reply = {}};
    }
    throw WorkloadError(name_ + " returned " + Py_TYPE(result.get())->tp_name +
                        "; it must return an int, bytes or None");
  }

 private:
  std::string name_;
};

// startup/interpreter:python: each task returns how long its process took to start the
// interpreter, in whole microseconds written as ns (so a corrupted value shows), after the
// interpreter has evaluated one expression.
class StartupRunner final : public TaskRunner {
 public:
  explicit StartupRunner(const Config&) {
    (void)Start();
    start_ns_ = std::max<std::int64_t>(g_took_ns / 1000, 1) * 1000;
  }
  TaskOutput Run(std::uint32_t index, std::span<const std::byte>) override {
    const Gil gil;
    const Ref result(
        PyRun_String("1 + 1", Py_eval_input, PyEval_GetBuiltins(), PyEval_GetBuiltins()));
    if (!result) ThrowPython("startup");
    if (PyLong_AsLong(result.get()) != 2) throw WorkloadError("startup: 1 + 1 is not 2");
    (void)index;
    return {.value = static_cast<std::uint64_t>(start_ns_), .reply = {}};
  }

 private:
  std::int64_t start_ns_;
};

constexpr PythonModule kModule = {
    .abi = kModuleAbi,
    .start = Start,
    .make_loop_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<LoopRunner>(config);
    },
    .make_call_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<CallRunner>(config);
    },
    .make_startup_runner = [](const Config& config) -> std::unique_ptr<TaskRunner> {
      return std::make_unique<StartupRunner>(config);
    },
    .check_function =
        [](const std::string& path, const std::string& module, const std::string& function) {
          Start();
          const Gil gil;
          const Ref found = FindFunction(path, module, function);
        },
};

}  // namespace
}  // namespace parbench

extern "C" [[gnu::visibility("default")]] const parbench::PythonModule* parbench_python_module() {
  return &parbench::kModule;
}
