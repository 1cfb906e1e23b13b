// Logging that the host application owns.
//
// libmediastore never writes to stdout or stderr by itself. The host installs
// a sink and a minimum level; records below the level cost one atomic load
// (no formatting happens). Default: no sink, level warn.
//
// Secrets never reach a sink: the library redacts access keys beyond a short
// prefix, secret keys, session tokens, signatures, presigned query strings
// and Authorization headers before formatting.
//
// Thread-safety: set_log_sink/set_log_level may be called at any time from
// any thread; the sink itself is called from library threads concurrently and
// must be thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mediastore/export.hpp"

namespace mediastore {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

MS_API const char* log_level_name(LogLevel level) noexcept;

// One structured field of a record: ("key", "a/b.jpg"), ("attempt", "2").
struct LogField {
  std::string name;
  std::string value;
};

struct LogRecord {
  LogLevel level;
  std::string_view component;           // "s3", "storage", "media", "queue", "upload", "worker"
  std::string_view message;             // already formatted and redacted
  const std::vector<LogField>* fields;  // never null; may be empty
};

using LogSink = std::function<void(const LogRecord& record)>;

// Installs sink (empty = none) and the minimum level delivered to it.
MS_API void set_log_sink(LogSink sink, LogLevel min_level = LogLevel::warn);
MS_API void set_log_level(LogLevel min_level);
MS_API LogLevel log_level() noexcept;
// True when a record at `level` would reach a sink.
MS_API bool log_enabled(LogLevel level) noexcept;

// A ready-made sink writing "LEVEL component: message key=value..." lines to
// stderr, for command-line programs.
MS_API LogSink stderr_log_sink();

// Redacts secrets inside free text: Authorization header values, signatures
// and credentials in presigned query strings (X-Amz-Signature=...,
// X-Amz-Credential=..., X-Amz-Security-Token=...), "sig=" of local signed
// URLs. Used by the library before any text reaches a sink.
MS_API std::string redact(std::string_view text);

}  // namespace mediastore
