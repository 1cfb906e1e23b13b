// StorageBackend's direct-upload defaults: backends that cannot sign upload
// requests (the local backend) answer not_supported and say what to use.
#include <fmt/format.h>

#include "mediastore/storage.hpp"
#include "storage/key.hpp"

namespace mediastore {

namespace {

Status direct_not_supported(const StorageBackend& backend, std::string_view key) {
  return Status::NotSupported(
      fmt::format("the {} backend has no direct uploads (no signed upload URLs) for key '{}': send the bytes through "
                  "submit_upload (mediastore upload FILE, POST /api/keeps/upload/ of mediastore serve), or the "
                  "resumable (tus) endpoint of "
                  "mediastore serve once it exists; direct uploads need MEDIA_STORAGE_BACKEND=minio or s3",
                  backend.name(), detail::escape_for_message(key)));
}

}  // namespace

Result<DirectUploadPlan> StorageBackend::begin_direct_upload(std::string_view key, const DirectUploadSpec&) {
  return direct_not_supported(*this, key);
}

Result<ObjectInfo> StorageBackend::complete_direct_upload(const DirectUploadPlan& plan,
                                                          const std::vector<UploadedPart>&) {
  return direct_not_supported(*this, plan.key);
}

Status StorageBackend::abort_direct_upload(const DirectUploadPlan& plan) {
  return direct_not_supported(*this, plan.key);
}

}  // namespace mediastore
