// Config helpers shared inside the library (not API).
#pragma once

#include <string>

#include "mediastore/config.hpp"

namespace mediastore::detail {

// The spool folder of versions before MEDIA_STATE_DIR ("<MEDIA_ROOT>/.spool",
// which also held the default SQLite queue file) when `config` uses the
// defaults and that folder exists and is not empty; "" otherwise. Callers
// log a warning naming it: its uploads and jobs are not seen at the new place.
std::string legacy_default_spool_dir(const Config& config);

}  // namespace mediastore::detail
