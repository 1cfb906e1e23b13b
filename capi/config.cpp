// The C ABI of configuration: ms_config holds explicit variables over the
// process environment (or not); resolve() turns it into a Config.
#include <cstdlib>
#include <memory>
#include <string>

#include "internal.hpp"

namespace mediastore::capi {

Result<Config> resolve(const ms_config* c) {
  return Config::from_lookup([c](std::string_view name) -> std::optional<std::string> {
    auto it = c->vars.find(std::string(name));
    if (it != c->vars.end()) return it->second;
    if (c->use_env) {
      const char* v = std::getenv(std::string(name).c_str());
      if (v != nullptr) return std::string(v);
    }
    return std::nullopt;
  });
}

}  // namespace mediastore::capi

using namespace mediastore::capi;

namespace {

// The body of a getter over the resolved configuration: *out is cleared
// (value-initialised) first, then `fill(config)` sets it.
template <typename T, typename Fill>
int with_config(T* out, const ms_config* config, Fill&& fill) noexcept {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = T{};
    if (config == nullptr) return invalid("config must not be NULL");
    auto r = resolve(config);
    if (!r.ok()) return fail(r.status());
    fill(*r);
    return MS_OK;
  });
}

}  // namespace

extern "C" {

int ms_config_new(ms_config** out) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = new ms_config();
    return MS_OK;
  });
}

int ms_config_from_env(ms_config** out) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    auto cfg = std::make_unique<ms_config>();
    cfg->use_env = true;
    auto r = resolve(cfg.get());
    if (!r.ok()) return fail(r.status());
    *out = cfg.release();
    return MS_OK;
  });
}

int ms_config_set(ms_config* config, const char* name, const char* value) {
  return guard([&]() -> int {
    if (config == nullptr) return invalid("config must not be NULL");
    int rc = MS_OK;
    std::string_view n, v;
    if (!text_arg(name, "variable name", n, rc)) return rc;
    if (n.empty() || n.size() > 128) return invalid("variable name must be 1..128 characters");
    for (char c : n) {
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
        return invalid("variable name '" + std::string(n) + "' must consist of A-Z, 0-9 and _");
    }
    // A misspelt name would otherwise be ignored and its default used.
    if (!ms::Config::is_variable(n)) return invalid("unknown variable name '" + std::string(n) + "'");
    if (value == nullptr) {
      config->vars[std::string(n)] = std::nullopt;
      return MS_OK;
    }
    if (!text_arg(value, n.data(), v, rc)) return rc;
    config->vars[std::string(n)] = std::string(v);
    return MS_OK;
  });
}

int ms_config_check(const ms_config* config) {
  return guard([&]() -> int {
    if (config == nullptr) return invalid("config must not be NULL");
    auto r = resolve(config);
    return r.ok() ? MS_OK : fail(r.status());
  });
}

int ms_config_describe(char** out, const ms_config* config) {
  return with_config(out, config, [&](const ms::Config& c) { *out = dup_string(c.describe()); });
}

int ms_config_max_upload_size(uint64_t* out, const ms_config* config) {
  return with_config(out, config, [&](const ms::Config& c) { *out = c.max_upload_size; });
}

void ms_config_free(ms_config* config) { delete config; }

}  // extern "C"
