// Which optional encoders this build's libraries provide (internal). Lives in
// core because Config::validate refuses a thumbnail format that cannot be
// encoded, at configuration time rather than on the first upload.
#pragma once

#include <optional>

namespace mediastore::detail {

// Whether libheif has an AV1 encoder (heif_have_encoder_for_format). Asked
// once per process, then cached. Thread-safe.
bool avif_encoder_available() noexcept;

// Tests: pretend the AV1 encoder is present (true) or missing (false) until
// reset with nullopt. Not for production use; not synchronised with
// concurrent avif_encoder_available() calls of other threads.
void set_avif_encoder_available_for_testing(std::optional<bool> value) noexcept;

}  // namespace mediastore::detail
