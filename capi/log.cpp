// The C ABI of logging: the sink callback, the level, and redaction.
#include <string>
#include <vector>

#include "internal.hpp"
#include "mediastore/log.hpp"

using namespace mediastore::capi;

namespace {

bool valid_level(int level) { return level >= MS_LOG_TRACE && level <= MS_LOG_OFF; }

}  // namespace

extern "C" {

int ms_log_set_callback(ms_log_fn fn, int level, void* payload) {
  return guard([&]() -> int {
    if (!valid_level(level)) return invalid("log level " + std::to_string(level) + " is out of range 0..5");
    if (fn == nullptr) {
      ms::set_log_sink(nullptr, static_cast<ms::LogLevel>(level));
      return MS_OK;
    }
    ms::set_log_sink(
        [fn, payload](const ms::LogRecord& r) {
          std::string component(r.component), message(r.message);
          std::vector<ms_log_field> fields;
          fields.reserve(r.fields->size());
          for (const auto& f : *r.fields) fields.push_back({f.name.c_str(), f.value.c_str()});
          ms_log_record rec{static_cast<int>(r.level), component.c_str(), message.c_str(),
                            fields.empty() ? nullptr : fields.data(), fields.size()};
          fn(&rec, payload);
        },
        static_cast<ms::LogLevel>(level));
    return MS_OK;
  });
}

int ms_log_set_level(int level) {
  return guard([&]() -> int {
    if (!valid_level(level)) return invalid("log level " + std::to_string(level) + " is out of range 0..5");
    ms::set_log_level(static_cast<ms::LogLevel>(level));
    return MS_OK;
  });
}

int ms_log_get_level(void) { return static_cast<int>(ms::log_level()); }

const char* ms_log_level_name(int level) {
  if (!valid_level(level)) return "unknown";
  return ms::log_level_name(static_cast<ms::LogLevel>(level));
}

int ms_redact(char** out, const char* text) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    if (text == nullptr) return invalid("text must not be NULL");
    *out = dup_string(ms::redact(text));
    return MS_OK;
  });
}

}  // extern "C"
