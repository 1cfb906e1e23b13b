// Placeholder until the S3 client lands: the S3 backend reports unavailable.
#include "storage/s3_backend.hpp"

namespace mediastore::detail {

Result<std::shared_ptr<StorageBackend>> make_s3_backend(const Config& config) {
  return Status::Unavailable(std::string("the S3 backend is not built yet (backend ") +
                             backend_kind_name(config.backend) + ")");
}

}  // namespace mediastore::detail
