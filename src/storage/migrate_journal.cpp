// The migration journal: see migrate_journal.hpp.
#include "storage/migrate_journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "core/log_internal.hpp"

namespace mediastore::detail {

namespace {

constexpr std::string_view kMagic = "# mediastore-migrate-journal 1";

std::string clean_scope(std::string_view scope) {
  std::string out(scope);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

// Splits "V\tsize\tetag\tsha\tkey"; false if malformed.
bool parse_entry(std::string_view line, std::string& key, Journal::Entry& e) {
  if (line.size() < 2 || line[0] != 'V' || line[1] != '\t') return false;
  line.remove_prefix(2);
  std::string_view fields[3];
  for (auto& f : fields) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos) return false;
    f = line.substr(0, tab);
    line.remove_prefix(tab + 1);
  }
  if (line.empty() || fields[0].empty()) return false;
  const auto r = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), e.size);
  if (r.ec != std::errc() || r.ptr != fields[0].data() + fields[0].size()) return false;
  if (fields[2].size() != 64) return false;
  e.etag = std::string(fields[1]);
  e.sha256 = std::string(fields[2]);
  key = std::string(line);
  return true;
}

Result<std::string> read_all(int fd, const std::string& path) {
  std::string data;
  char buf[1 << 16];
  std::uint64_t off = 0;
  while (true) {
    auto n = pread_some(fd, buf, sizeof buf, off, fmt::format("cannot read migration journal '{}'", path));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    data.append(buf, *n);
    off += *n;
  }
  return data;
}

void fsync_parent(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::open(const std::string& path, const std::string& scope, bool read_only) {
  const std::string want_scope = clean_scope(scope);
  UniqueFd fd(
      ::open(path.c_str(), read_only ? (O_RDONLY | O_CLOEXEC) : (O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC), 0644));
  if (!fd.valid()) {
    if (read_only && errno == ENOENT) return std::unique_ptr<Journal>(new Journal(path, UniqueFd(), true));
    return errno_status(errno, fmt::format("cannot open migration journal '{}'", path));
  }
  if (!read_only && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Status::Conflict(fmt::format("migration journal '{}' is in use by another run", path));
    return errno_status(errno, fmt::format("cannot lock migration journal '{}'", path));
  }
  auto data = read_all(fd.get(), path);
  if (!data.ok()) return data.status();
  std::unique_ptr<Journal> j(new Journal(path, std::move(fd), read_only));

  if (data->empty()) {
    if (!read_only) {
      const std::string header = fmt::format("{}\t{}\n", kMagic, want_scope);
      MS_RETURN_IF_ERROR(write_all(j->fd_.get(), header.data(), header.size(),
                                   fmt::format("cannot write migration journal '{}'", path)));
      if (::fsync(j->fd_.get()) != 0)
        return errno_status(errno, fmt::format("cannot flush migration journal '{}'", path));
      fsync_parent(path);
    }
    return j;
  }

  std::string_view text(*data);
  const auto first_nl = text.find('\n');
  const std::string_view header = text.substr(0, first_nl);
  if (header.substr(0, kMagic.size()) != kMagic || (header.size() > kMagic.size() && header[kMagic.size()] != '\t'))
    return Status::InvalidArgument(fmt::format("'{}' is not a mediastore migration journal", path));
  const std::string_view have_scope = header.size() > kMagic.size() ? header.substr(kMagic.size() + 1) : "";
  if (!want_scope.empty() && !have_scope.empty() && have_scope != want_scope)
    return Status::InvalidArgument(
        fmt::format("migration journal '{}' belongs to another migration ({}), not this one ({})", path,
                    std::string(have_scope), want_scope));
  if (first_nl == std::string_view::npos) return j;

  // A torn last line (power loss during a write) is cut off so that the next
  // append starts on a line of its own.
  const auto last_nl = text.rfind('\n');
  if (last_nl + 1 != text.size()) {
    MS_LOG(warn, "migrate", "migration journal '{}': dropping a partial last line", path);
    if (!read_only && ::ftruncate(j->fd_.get(), static_cast<off_t>(last_nl + 1)) != 0)
      return errno_status(errno, fmt::format("cannot repair migration journal '{}'", path));
    text = text.substr(0, last_nl + 1);
  }
  std::size_t bad = 0;
  std::size_t pos = first_nl + 1;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    std::string key;
    Entry e;
    if (parse_entry(line, key, e))
      j->entries_[std::move(key)] = std::move(e);
    else
      ++bad;
  }
  if (bad > 0) MS_LOG(warn, "migrate", "migration journal '{}': ignored {} malformed lines", path, bad);
  MS_LOG(info, "migrate", "migration journal '{}': {} verified keys", path, j->entries_.size());
  return j;
}

Journal::~Journal() {
  std::lock_guard<std::mutex> lock(mu_);
  // A destructor cannot return the failure: log it. The lines not flushed
  // are verified again by the next run.
  Status st = sync_locked();
  if (!st.ok()) MS_LOG(warn, "migrate", "migration journal: {}", st.to_string());
}

std::optional<Journal::Entry> Journal::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::size_t Journal::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

Status Journal::record(const std::string& key, std::uint64_t size, const std::string& etag, const std::string& sha256) {
  if (key.find_first_of("\t\n") != std::string::npos || etag.find_first_of("\t\n") != std::string::npos)
    return Status::InvalidArgument(fmt::format("migration journal: key '{}' or its etag holds a tab or newline", key));
  std::lock_guard<std::mutex> lock(mu_);
  if (ro_) return Status::Internal(fmt::format("migration journal '{}' is open read-only", path_));
  const std::string line = fmt::format("V\t{}\t{}\t{}\t{}\n", size, etag, sha256, key);
  MS_RETURN_IF_ERROR(
      write_all(fd_.get(), line.data(), line.size(), fmt::format("cannot write migration journal '{}'", path_)));
  entries_[key] = Entry{size, etag, sha256};
  ++unsynced_;
  if (unsynced_ >= kSyncEvery || std::chrono::steady_clock::now() - last_sync_ >= kSyncInterval) return sync_locked();
  return Status::Ok();
}

Status Journal::flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return sync_locked();
}

Status Journal::sync_locked() {
  if (ro_ || !fd_.valid() || unsynced_ == 0) return Status::Ok();
  if (::fdatasync(fd_.get()) != 0)
    return errno_status(errno, fmt::format("cannot flush migration journal '{}'", path_));
  unsynced_ = 0;
  last_sync_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

}  // namespace mediastore::detail
