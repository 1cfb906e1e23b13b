// Version of libmediastore.
#pragma once

#include "mediastore/export.hpp"

#define MEDIASTORE_VERSION_MAJOR 0
#define MEDIASTORE_VERSION_MINOR 1
#define MEDIASTORE_VERSION_PATCH 0

namespace mediastore {
// "0.1.0"; static storage.
MS_API const char* version() noexcept;
}  // namespace mediastore
