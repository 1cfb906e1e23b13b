#include "core/codecs.hpp"

#include <libheif/heif.h>

#include <atomic>

namespace mediastore::detail {
namespace {

// -1: no override; 0/1: the pretended answer.
std::atomic<int> g_override{-1};

bool ask_libheif() noexcept {
  // heif_init is reference counted and loads the plugins of libheif >= 1.14;
  // the matching heif_deinit is left out on purpose: the answer is cached for
  // the process and the decoders keep libheif initialised anyway.
  heif_error err = heif_init(nullptr);
  if (err.code != heif_error_Ok) return false;
  return heif_have_encoder_for_format(heif_compression_AV1) != 0;
}

}  // namespace

bool avif_encoder_available() noexcept {
  const int o = g_override.load(std::memory_order_relaxed);
  if (o >= 0) return o == 1;
  static const bool available = ask_libheif();
  return available;
}

void set_avif_encoder_available_for_testing(std::optional<bool> value) noexcept {
  g_override.store(value ? (*value ? 1 : 0) : -1, std::memory_order_relaxed);
}

}  // namespace mediastore::detail
