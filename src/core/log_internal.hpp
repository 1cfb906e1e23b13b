// Internal logging front end: MS_LOG checks the level before any formatting.
//
//   MS_LOG(info, "s3", "PUT {} -> {}", key, status, {{"key", key}, {"attempt", "2"}});
//
// Field values and the formatted message pass through redact() before they
// reach the host's sink.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "mediastore/log.hpp"

namespace mediastore::detail {

// Delivers one record (already level-checked) to the installed sink.
void log_emit(LogLevel level, std::string_view component, std::string message, std::vector<LogField> fields);

}  // namespace mediastore::detail

// MS_LOGF(level, component, fields, format, args...): fields is a
// std::vector<LogField> initializer ({} for none).
#define MS_LOGF(level, component, fields, ...)                                                                      \
  do {                                                                                                              \
    if (::mediastore::log_enabled(::mediastore::LogLevel::level))                                                   \
      ::mediastore::detail::log_emit(::mediastore::LogLevel::level, component, ::fmt::format(__VA_ARGS__), fields); \
  } while (0)

#define MS_LOG(level, component, ...) MS_LOGF(level, component, std::vector<::mediastore::LogField>{}, __VA_ARGS__)
