// What every part of the C ABI uses: argument checks (UTF-8, text, buffers,
// struct versions, ranges) and the allocation of what the library hands out;
// plus the two entry points that belong to no part, ms_version and ms_free.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>

#include "internal.hpp"
#include "mediastore/version.hpp"

namespace mediastore::capi {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

bool text_arg(const char* p, const char* what, std::string_view& out, int& rc) {
  if (p == nullptr) {
    rc = invalid(std::string(what) + " must not be NULL");
    return false;
  }
  std::string_view s(p);
  if (!valid_utf8(s)) {
    rc = invalid(std::string(what) + " is not valid UTF-8");
    return false;
  }
  out = s;
  return true;
}

bool header_arg(const char* p, const char* what, std::string& out, int& rc) {
  std::string_view s;
  if (!text_arg(p, what, s, rc)) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      rc = invalid(std::string(what) + " contains a control character");
      return false;
    }
  }
  out.assign(s);
  return true;
}

bool optional_text_arg(const char* p, const char* what, std::string& out, int& rc) {
  if (p == nullptr) return true;
  std::string_view s;
  if (!text_arg(p, what, s, rc)) return false;
  out.assign(s);
  return true;
}

bool bytes_arg(const void* data, std::size_t len, const char* what, std::string_view& out, int& rc) {
  if (data == nullptr && len > 0) {
    rc = invalid(std::string(what) + " must not be NULL when len > 0");
    return false;
  }
  out = std::string_view(len ? static_cast<const char*>(data) : "", len);
  return true;
}

int version_arg(unsigned int version, unsigned int current, const char* what) {
  if (version == 0 || version > current)
    return invalid(std::string(what) + " " + std::to_string(version) + " is not supported");
  return MS_OK;
}

int range_arg(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* what) {
  if (v < lo || v > hi)
    return invalid(std::string(what) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                   std::to_string(v));
  return MS_OK;
}

char* dup_string(std::string_view s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

void* dup_bytes(std::string_view s) { return dup_string(s); }

void* calloc_or_throw(std::size_t n, std::size_t size) {
  void* p = std::calloc(n == 0 ? 1 : n, size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void free_string_array(char** a, std::size_t n) {
  if (a == nullptr) return;
  for (std::size_t i = 0; i < n; ++i) std::free(a[i]);
  std::free(static_cast<void*>(a));
}

int string_pairs(const char* const* names, const char* const* values, std::size_t n, const char* what,
                 std::map<std::string, std::string>& out) {
  if (n == 0) return MS_OK;
  if (n > kMaxMetadata)
    return invalid(std::string(what) + " count " + std::to_string(n) + " exceeds " + std::to_string(kMaxMetadata));
  if (names == nullptr || values == nullptr)
    return invalid(std::string(what) + " names and values must not be NULL when the count > 0");
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view k, v;
    int rc = MS_OK;
    if (!text_arg(names[i], what, k, rc) || !text_arg(values[i], what, v, rc)) return rc;
    if (k.empty()) return invalid(std::string(what) + " name must not be empty");
    out[std::string(k)] = std::string(v);
  }
  return MS_OK;
}

void fill_pairs(const std::map<std::string, std::string>& in, char*** names, char*** values, std::size_t* count) {
  *names = static_cast<char**>(calloc_or_throw(in.size(), sizeof(char*)));
  *values = static_cast<char**>(calloc_or_throw(in.size(), sizeof(char*)));
  for (const auto& [k, v] : in) {
    (*names)[*count] = dup_string(k);
    (*values)[*count] = nullptr;
    ++*count;
    (*values)[*count - 1] = dup_string(v);
  }
}

std::int64_t to_ms(const SystemTime& t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace mediastore::capi

extern "C" {

const char* ms_version(void) { return mediastore::version(); }

void ms_free(void* ptr) { std::free(ptr); }

}  // extern "C"
