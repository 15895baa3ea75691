// TempDir: a private directory made with mkdtemp, removed with its contents on destruction.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "common/cleanup.h"

namespace parbench {

class TempDir {
 public:
  // Creates `parent`/`prefix`XXXXXX; throws std::runtime_error naming `parent` and the cause.
  explicit TempDir(const std::string& parent, const std::string& prefix = "parbench-") {
    std::string templ = parent + "/" + prefix + "XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      throw std::runtime_error("cannot create a directory in " + parent + ": " +
                               std::strerror(errno));
    }
    path_ = templ;
    cleanup::AddDirectory(path_);  // removed even if bench is interrupted
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    cleanup::RemoveDirectory(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace parbench
