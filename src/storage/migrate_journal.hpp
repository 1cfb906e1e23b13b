// The migration journal (internal): an append-only text file of the keys a
// migration has verified in the destination.
//
//   # mediastore-migrate-journal 1<TAB><scope>
//   V<TAB><size><TAB><source etag><TAB><sha256 hex><TAB><key>
//   ...
//
// Keys cannot contain tabs or newlines (validate_key refuses control
// characters), so the key is simply the rest of the line. A line is written
// with one write() (O_APPEND), so a killed process leaves whole lines; a torn
// last line (power loss) is cut off when the journal is opened again. Entries
// are fsynced every kSyncEvery records or kSyncInterval, and by flush().
// An exclusive flock() keeps two runs from sharing one journal.
//
// Thread-safety: every member may be called from many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "mediastore/status.hpp"
#include "storage/file_util.hpp"

namespace mediastore::detail {

class Journal {
 public:
  struct Entry {
    std::uint64_t size = 0;
    std::string etag;
    std::string sha256;
  };

  static constexpr int kSyncEvery = 256;
  static constexpr std::chrono::milliseconds kSyncInterval{1000};

  // Opens (creating it unless read_only) and loads the journal at path.
  // read_only: a missing file is an empty journal and nothing is ever written.
  // A scope that differs from the one recorded is invalid_argument; a journal
  // locked by another run is conflict; a file that is not a journal is
  // invalid_argument; I/O failures are io_error naming the path.
  static Result<std::unique_ptr<Journal>> open(const std::string& path, const std::string& scope, bool read_only);

  ~Journal();  // flushes

  std::optional<Entry> find(const std::string& key) const;
  // Appends an entry (and makes it visible to find()).
  Status record(const std::string& key, std::uint64_t size, const std::string& etag, const std::string& sha256);
  // fsyncs what was recorded so far.
  Status flush();
  std::size_t size() const;

 private:
  Journal(std::string path, UniqueFd fd, bool read_only) : path_(std::move(path)), fd_(std::move(fd)), ro_(read_only) {}
  Status sync_locked();

  std::string path_;
  UniqueFd fd_;
  bool ro_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  int unsynced_ = 0;
  std::chrono::steady_clock::time_point last_sync_ = std::chrono::steady_clock::now();
};

}  // namespace mediastore::detail
