// The strip_location stage: the original to store without its location
// (Config::strip_location), written into the spool folder.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "upload/service_impl.hpp"
#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {
namespace {

// Size and SHA-256 (lower-case hex) of a file.
Result<std::pair<std::uint64_t, std::string>> hash_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::IoError(fmt::format("cannot read '{}'", path));
  Hasher h;
  std::vector<char> buf(1 << 16);
  std::uint64_t size = 0;
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    h.update(buf.data(), n);
    size += n;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::IoError(fmt::format("cannot read '{}'", path));
  return std::make_pair(size, hex_lower(h.finish()));
}

class StripLocationStage final : public Stage {
 public:
  explicit StripLocationStage(std::string dir)
      : Stage({UploadStage::storing_original, 5, /*retry_transient=*/false}), dir_(std::move(dir)) {}

  bool applies(const UploadWork& work) const override { return work.media.has_value(); }

  Result<StageEnd> run(StageContext& ctx) const override {
    const MediaInfo& mi = *ctx.work.media;
    // In the spool folder: the source may be a staged copy without a name
    // ("/proc/self/fd/<n>"), so nothing can be put beside it.
    const std::string out = dir_ + "/" + ctx.upload.id + ".noloc.tmp";
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    ctx.work.original_scratch.reset(out);  // a leftover of a crashed attempt goes too
    auto r = strip_location_file(ctx.spool_path, out, mi.type);
    if (!r.ok()) {
      // The message names the file already (the spool path became its name);
      // the server's folders stay out of it.
      Status e = user_facing(r.status(), ctx);
      std::string msg = e.message();
      for (auto pos = msg.find(dir_); pos != std::string::npos; pos = msg.find(dir_, pos + 5))
        msg.replace(pos, dir_.size(), "spool");
      return Status(e.code(), fmt::format("removing the location: {}", msg));
    }
    ctx.work.result.metadata["location_stripped"] = *r ? "true" : "false";
    if (!*r) return StageEnd::next;
    auto h = hash_file(out);
    if (!h.ok())
      return Status(h.status().code(),
                    fmt::format("removing the location from {}: cannot read the copy", ctx.upload.original_filename));
    ctx.work.original_path = out;
    ctx.work.original_bytes = h->first;
    ctx.work.original_sha256 = h->second;
    MS_LOGF(info, "upload", upload_field(ctx.upload.id),
            "upload {}: location removed from the original ({} -> {} bytes)", ctx.upload.id, mi.byte_size, h->first);
    return StageEnd::next;
  }

 private:
  std::string dir_;  // where the stripped copy goes: the spool folder
};

}  // namespace

std::unique_ptr<const Stage> make_strip_location_stage(const PipelineSettings& settings) {
  return std::make_unique<StripLocationStage>(settings.config.effective_spool_dir());
}

}  // namespace mediastore::detail
