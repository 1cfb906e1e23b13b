// Whole-file read and write for tests (shared by the test binaries; they have
// ${PROJECT_SOURCE_DIR}/tests on the include path).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mediastore::test {

// The file's bytes; "" when it cannot be read.
inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `data` to `path`, replacing it, creating the parent folders.
inline void spit(const std::filesystem::path& path, const std::string& data) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

}  // namespace mediastore::test
