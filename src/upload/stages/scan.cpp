// The scan stage: the spooled file through the virus scanner (clamd) before
// any other stage reads it or stores anything.
#include <fmt/format.h>

#include "mediastore/scan.hpp"
#include "upload/stages/pipeline.hpp"

namespace mediastore::detail {
namespace {

// A small share: clamd scans a photo in tens of milliseconds.
constexpr int kShare = 10;

class ScanStage final : public Stage {
 public:
  ScanStage(std::shared_ptr<Scanner> scanner, UnscannedPolicy unscanned)
      : Stage({UploadStage::scanning, kShare, /*retry_transient=*/true}),
        scanner_(std::move(scanner)),
        unscanned_(unscanned) {}

  Result<StageEnd> run(StageContext& ctx) const override {
    const std::string& name = ctx.upload.original_filename;
    auto r = scanner_->scan_file(ctx.spool_path);
    if (!r.ok()) {
      const Status& e = r.status();
      // clamd down, too slow or answering garbage: transient, so the driver
      // retries with backoff; the upload is never accepted unscanned. The
      // message names clamd and its address, not the spool.
      if (e.transient()) return e.with_context(fmt::format("scanning {}", name));
      const Status shown = user_facing(e, ctx);
      if (shown.is(ErrorCode::not_found)) return shown;
      return Status(shown.code(), fmt::format("scanning {}: {}", name, shown.message()));
    }
    auto& md = ctx.work.result.metadata;
    switch (r->verdict) {
      case ScanVerdict::clean: md["scan"] = "clean"; return StageEnd::next;
      case ScanVerdict::infected:
        ctx.work.refusal = RefusalReason::malware;
        return Status(refusal_reason_code(RefusalReason::malware),
                      fmt::format("{} contains malware: {} (found by {})", name, r->signature, scanner_->describe()));
      case ScanVerdict::unscanned:
        if (unscanned_ == UnscannedPolicy::refuse) {
          ctx.work.refusal = RefusalReason::unscanned;
          return Status(refusal_reason_code(RefusalReason::unscanned),
                        fmt::format("{} was not scanned in full, so it is refused: {}", name, r->reason));
        }
        md["scan"] = "unscanned";  // MEDIA_SCAN_UNSCANNED=accept
        return StageEnd::next;
    }
    return Status::Internal("unknown scan verdict");
  }

 private:
  std::shared_ptr<Scanner> scanner_;
  UnscannedPolicy unscanned_;
};

}  // namespace

Result<std::unique_ptr<const Stage>> make_scan_stage(const PipelineSettings& settings) {
  std::shared_ptr<Scanner> scanner = settings.options.scanner;
  if (!scanner) {
    if (settings.config.scan.mode == ScanMode::off) return std::unique_ptr<const Stage>();
    auto clamd = ClamdScanner::open(settings.config.scan);
    if (!clamd.ok()) return clamd.status();
    scanner = std::move(clamd).value();
  }
  return std::unique_ptr<const Stage>(std::make_unique<ScanStage>(std::move(scanner), settings.config.scan.unscanned));
}

}  // namespace mediastore::detail
