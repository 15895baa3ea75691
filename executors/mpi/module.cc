// libparbench_mpi.so: the only code compiled against mpi.h (see MpiModule in workloads/modules.h).
// bench loads it only when it runs under mpirun, so a plain run never loads libmpi.
#include <mpi.h>

#include <climits>
#include <string>

#include "workloads/modules.h"

namespace parbench {
namespace {

// MPI counts are ints: a message of more than INT_MAX bytes is refused, not truncated.
bool Fits(std::uint64_t bytes) { return bytes <= static_cast<std::uint64_t>(INT_MAX); }

int Init(int* rank, int* size) {
  int provided = 0;
  // Only rank 0's main thread (or a worker rank's) ever calls MPI.
  if (const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      rc != MPI_SUCCESS) {
    return rc;
  }
  // A failing call returns its code instead of aborting the job, so bench can say which rank
  // and task it was.
  if (const int rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      rc != MPI_SUCCESS) {
    return rc;
  }
  if (const int rc = MPI_Comm_rank(MPI_COMM_WORLD, rank); rc != MPI_SUCCESS) return rc;
  return MPI_Comm_size(MPI_COMM_WORLD, size);
}

int Finalize() { return MPI_Finalize(); }

void Abort(int status) { MPI_Abort(MPI_COMM_WORLD, status); }

std::string ProcessorName() {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  if (MPI_Get_processor_name(name, &length) != MPI_SUCCESS) return "unknown";
  return {name, static_cast<std::size_t>(length)};
}

std::string LibraryVersion() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string out(text, static_cast<std::size_t>(length));
  const std::size_t cut = out.find_first_of(",\n");  // "Open MPI v4.1.4, package: ..."
  return cut == std::string::npos ? out : out.substr(0, cut);
}

std::string ErrorString(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    return "MPI error " + std::to_string(code);
  }
  return {text, static_cast<std::size_t>(length)};
}

int Isend(const void* data, std::uint64_t bytes, int dest, int tag, void** request) {
  if (!Fits(bytes)) return MPI_ERR_COUNT;
  auto* r = new MPI_Request;
  const int rc = MPI_Isend(data, static_cast<int>(bytes), MPI_BYTE, dest, tag, MPI_COMM_WORLD, r);
  if (rc != MPI_SUCCESS) {
    delete r;
    return rc;
  }
  *request = r;
  return MPI_SUCCESS;
}

int Irecv(void* data, std::uint64_t bytes, int source, int tag, void** request) {
  if (!Fits(bytes)) return MPI_ERR_COUNT;
  auto* r = new MPI_Request;
  const int rc =
      MPI_Irecv(data, static_cast<int>(bytes), MPI_BYTE, source < 0 ? MPI_ANY_SOURCE : source,
                tag < 0 ? MPI_ANY_TAG : tag, MPI_COMM_WORLD, r);
  if (rc != MPI_SUCCESS) {
    delete r;
    return rc;
  }
  *request = r;
  return MPI_SUCCESS;
}

int Test(void** request, int* done, int* tag, std::uint64_t* bytes) {
  auto* r = static_cast<MPI_Request*>(*request);
  MPI_Status status;
  const int rc = MPI_Test(r, done, &status);
  if (rc == MPI_SUCCESS && *done != 0) {
    delete r;
    *request = nullptr;
    if (tag != nullptr) *tag = status.MPI_TAG;
    if (bytes != nullptr) {
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      *bytes = static_cast<std::uint64_t>(count);
    }
  }
  return rc;
}

int Iprobe(int source, int tag, int* found, int* from, int* got_tag, std::uint64_t* bytes) {
  MPI_Status status;
  const int rc = MPI_Iprobe(source < 0 ? MPI_ANY_SOURCE : source, tag < 0 ? MPI_ANY_TAG : tag,
                            MPI_COMM_WORLD, found, &status);
  if (rc != MPI_SUCCESS || *found == 0) return rc;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  *from = status.MPI_SOURCE;
  *got_tag = status.MPI_TAG;
  *bytes = static_cast<std::uint64_t>(count);
  return MPI_SUCCESS;
}

int Recv(void* data, std::uint64_t bytes, int source, int tag, std::uint64_t* received) {
  if (!Fits(bytes)) return MPI_ERR_COUNT;
  MPI_Status status;
  const int rc =
      MPI_Recv(data, static_cast<int>(bytes), MPI_BYTE, source, tag, MPI_COMM_WORLD, &status);
  if (rc == MPI_SUCCESS && received != nullptr) {
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    *received = static_cast<std::uint64_t>(count);
  }
  return rc;
}

int Send(const void* data, std::uint64_t bytes, int dest, int tag) {
  if (!Fits(bytes)) return MPI_ERR_COUNT;
  return MPI_Send(data, static_cast<int>(bytes), MPI_BYTE, dest, tag, MPI_COMM_WORLD);
}

void Forget(void** request) {
  auto* r = static_cast<MPI_Request*>(*request);
  if (r == nullptr) return;
  // A receive can be cancelled; a send to a lost rank is left to MPI (freeing an active request
  // is allowed: it completes, or not, without us).
  MPI_Cancel(r);
  MPI_Request_free(r);
  delete r;
  *request = nullptr;
}

const MpiModule kModule = {
    .abi = kModuleAbi,
    .init = Init,
    .finalize = Finalize,
    .abort = Abort,
    .processor_name = ProcessorName,
    .library_version = LibraryVersion,
    .error_string = ErrorString,
    .isend = Isend,
    .irecv = Irecv,
    .test = Test,
    .iprobe = Iprobe,
    .recv = Recv,
    .send = Send,
    .forget = Forget,
};

}  // namespace
}  // namespace parbench

extern "C" __attribute__((visibility("default"))) const parbench::MpiModule* parbench_mpi_module() {
  return &parbench::kModule;
}
