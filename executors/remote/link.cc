#include "executors/remote/link.h"

namespace parbench::remote {

void WriteConfigure(wire::Writer& w, std::string_view workload, std::string_view config) {
  w.Str(workload);
  w.Str(config);
}

void WriteTaskRange(wire::Writer& w, TaskRange range) {
  w.U32(range.first);
  w.U32(range.count);
}

void ReadConfigure(std::span<const std::byte> body, Incoming& in) {
  wire::Reader reader(body);
  in.kind = Incoming::Kind::kConfigure;
  in.workload = reader.Str();
  in.config = reader.Str();
  reader.ExpectEnd();
}

void ReadTaskRange(wire::Reader& reader, Incoming& in) {
  in.kind = Incoming::Kind::kTasks;
  in.range.first = reader.U32();
  in.range.count = reader.U32();
}

}  // namespace parbench::remote
