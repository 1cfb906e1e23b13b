#include "mediastore/log.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "core/log_internal.hpp"

namespace mediastore {

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::warn)};
std::atomic<bool> g_has_sink{false};
std::shared_mutex g_mutex;
std::shared_ptr<LogSink> g_sink;  // guarded by g_mutex

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '%' || c == '-' ||
         c == '_' || c == '.' || c == '/' || c == '+' || c == '=' || c == '~';
}

// Replaces the value following each occurrence of `marker` (up to the next
// non-token character) with "REDACTED".
void redact_after(std::string& s, std::string_view marker, bool case_insensitive, bool to_end_of_line) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t at = std::string::npos;
    if (case_insensitive) {
      for (std::size_t i = pos; i + marker.size() <= s.size(); ++i) {
        bool match = true;
        for (std::size_t j = 0; j < marker.size(); ++j) {
          char a = s[i + j], b = marker[j];
          if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
          if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
          if (a != b) {
            match = false;
            break;
          }
        }
        if (match) {
          at = i;
          break;
        }
      }
    } else {
      at = s.find(marker, pos);
    }
    if (at == std::string::npos) return;
    std::size_t start = at + marker.size();
    std::size_t end = start;
    if (to_end_of_line) {
      while (end < s.size() && s[end] != '\n' && s[end] != '\r') ++end;
    } else {
      while (end < s.size() && is_token_char(s[end]) && s[end] != '&') ++end;
    }
    s.replace(start, end - start, "REDACTED");
    pos = start + 8;
  }
}

}  // namespace

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "unknown";
}

void set_log_sink(LogSink sink, LogLevel min_level) {
  std::unique_lock lock(g_mutex);
  g_sink = sink ? std::make_shared<LogSink>(std::move(sink)) : nullptr;
  g_has_sink.store(g_sink != nullptr, std::memory_order_release);
  g_level.store(static_cast<int>(min_level), std::memory_order_release);
}

void set_log_level(LogLevel min_level) { g_level.store(static_cast<int>(min_level), std::memory_order_release); }

LogLevel log_level() noexcept { return static_cast<LogLevel>(g_level.load(std::memory_order_acquire)); }

bool log_enabled(LogLevel level) noexcept {
  return g_has_sink.load(std::memory_order_relaxed) && level != LogLevel::off &&
         static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string redact(std::string_view text) {
  std::string s(text);
  redact_after(s, "Authorization: ", true, true);
  redact_after(s, "X-Amz-Signature=", true, false);
  redact_after(s, "X-Amz-Credential=", true, false);
  redact_after(s, "X-Amz-Security-Token=", true, false);
  redact_after(s, "x-amz-security-token: ", true, true);
  redact_after(s, "Signature=", false, false);
  redact_after(s, "sig=", false, false);
  return s;
}

LogSink stderr_log_sink() {
  return [](const LogRecord& r) {
    std::string line = fmt::format("{} {}: {}", log_level_name(r.level), r.component, r.message);
    for (const auto& f : *r.fields) line += fmt::format(" {}={}", f.name, f.value);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

namespace detail {

void log_emit(LogLevel level, std::string_view component, std::string message, std::vector<LogField> fields) {
  std::shared_ptr<LogSink> sink;
  {
    std::shared_lock lock(g_mutex);
    sink = g_sink;
  }
  if (!sink) return;
  std::string safe = redact(message);
  for (auto& f : fields) f.value = redact(f.value);
  LogRecord rec{level, component, safe, &fields};
  try {
    (*sink)(rec);
  } catch (...) {
    // A throwing sink must not break the library's operation.
  }
}

}  // namespace detail
}  // namespace mediastore
