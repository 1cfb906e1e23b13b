// The S3 storage backend (MEDIA_STORAGE_BACKEND=minio|s3): adapts s3::Client
// to StorageBackend.
#pragma once

#include <memory>

#include "mediastore/storage.hpp"

namespace mediastore::detail {

// Builds the backend from config.s3; checks the bucket (creating it when
// config.s3.auto_create_bucket) only on first use, not here.
Result<std::shared_ptr<StorageBackend>> make_s3_backend(const Config& config);

}  // namespace mediastore::detail
