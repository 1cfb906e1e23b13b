// make_storage(): the one place that maps a Config to a backend.
#include <fmt/format.h>

#include "mediastore/storage.hpp"
#include "storage/local_backend.hpp"
#include "storage/s3_backend.hpp"

namespace mediastore {

Result<std::shared_ptr<StorageBackend>> make_storage(const Config& config) {
  switch (config.backend) {
    case BackendKind::local:
      if (config.media_root.empty()) return Status::InvalidArgument("MEDIA_ROOT is empty");
      return std::shared_ptr<StorageBackend>(std::make_shared<detail::LocalStorageBackend>(config));
    case BackendKind::minio:
    case BackendKind::s3: return detail::make_s3_backend(config);
  }
  return Status::InvalidArgument(
      fmt::format("MEDIA_STORAGE_BACKEND has an unknown value {}", static_cast<int>(config.backend)));
}

}  // namespace mediastore
