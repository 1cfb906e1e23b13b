// Metadata sidecars of the local backend: one file per object under
// .mediastore/meta/, one entry per object version (see write.cpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "storage/local/local.hpp"

namespace mediastore::detail::local {

Fingerprint fingerprint_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

namespace {

// A field of a sidecar line: bytes up to 0x20 (controls, space), from 0x7F
// and '%' as %XX; the empty string as a lone "%".
std::string enc(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F || c == '%') {
      out += fmt::format("%{:02X}", b);
    } else {
      out += c;
    }
  }
  return out.empty() ? "%" : out;  // a lone "%" stands for the empty string
}

// The inverse of enc; false on a malformed escape.
bool dec(std::string_view s, std::string& out) {
  out.clear();
  if (s == "%") return true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const auto hexval = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hexval(s[i + 1]);
    const int lo = hexval(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

std::string serialize(const std::vector<MetaEntry>& entries) {
  std::string out = "mediastore-meta 1\n";
  for (const auto& e : entries) {
    out += fmt::format("entry {} {} {}\n", e.fp.ino, e.fp.size, e.fp.mtime_ns);
    out += "etag " + enc(e.etag) + "\n";
    out += "content-type " + enc(e.content_type) + "\n";
    out += "cache-control " + enc(e.cache_control) + "\n";
    out += "content-disposition " + enc(e.content_disposition) + "\n";
    for (const auto& [k, v] : e.user) out += "meta " + enc(k) + " " + enc(v) + "\n";
  }
  return out;
}

std::vector<MetaEntry> parse(std::string_view text) {
  std::vector<MetaEntry> out;
  std::size_t pos = 0;
  bool header = false;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!header) {
      if (line != "mediastore-meta 1") return {};
      header = true;
      continue;
    }
    std::vector<std::string_view> f;
    std::size_t s = 0;
    while (s <= line.size()) {
      auto sp = line.find(' ', s);
      if (sp == std::string_view::npos) sp = line.size();
      f.push_back(line.substr(s, sp - s));
      s = sp + 1;
    }
    if (f.empty()) continue;
    if (f[0] == "entry" && f.size() == 4) {
      MetaEntry e;
      try {
        e.fp.ino = std::stoull(std::string(f[1]));
        e.fp.size = std::stoull(std::string(f[2]));
        e.fp.mtime_ns = std::stoll(std::string(f[3]));
      } catch (...) {
        return {};
      }
      out.push_back(std::move(e));
      continue;
    }
    if (out.empty()) return {};
    MetaEntry& e = out.back();
    std::string a, b;
    if (f.size() == 2 && dec(f[1], a)) {
      if (f[0] == "etag")
        e.etag = a;
      else if (f[0] == "content-type")
        e.content_type = a;
      else if (f[0] == "cache-control")
        e.cache_control = a;
      else if (f[0] == "content-disposition")
        e.content_disposition = a;
    } else if (f.size() == 3 && f[0] == "meta" && dec(f[1], a) && dec(f[2], b)) {
      e.user[a] = b;
    }
  }
  return out;
}

std::vector<MetaEntry> read_sidecar(int dirfd, const std::string& name) {
  if (dirfd < 0) return {};
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return {};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1 ||
      static_cast<std::size_t>(st.st_size) > kMaxSidecarBytes)
    return {};
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    auto r = pread_some(fd.get(), text.data() + got, text.size() - got, got, "sidecar");
    if (!r.ok() || *r == 0) break;
    got += *r;
  }
  text.resize(got);
  return parse(text);
}

const MetaEntry* find_entry(const std::vector<MetaEntry>& entries, const Fingerprint& fp) {
  for (const auto& e : entries)
    if (e.fp == fp) return &e;
  return nullptr;
}

ObjectInfo info_from(std::string_view key, const struct stat& st, const MetaEntry* e) {
  ObjectInfo info;
  info.key = std::string(key);
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.last_modified = mtime_of(st);
  info.content_type = "application/octet-stream";
  if (e) {
    info.etag = e->etag;
    if (!e->content_type.empty()) info.content_type = e->content_type;
    info.cache_control = e->cache_control;
    info.content_disposition = e->content_disposition;
    info.user_metadata = e->user;
  }
  return info;
}

}  // namespace mediastore::detail::local
