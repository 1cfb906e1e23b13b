// Media commands: validate (verdict, real type, metadata) and thumbs (the
// service's three thumbnails).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "mediastore/media.hpp"

namespace mediastore::cli {

namespace {

nlohmann::json info_json(const MediaInfo& m) {
  nlohmann::json doc = {{"type", media_type_description(m.type)},
                        {"mime", m.mime},
                        {"kind", media_kind_name(m.kind)},
                        {"bytes", m.byte_size},
                        {"sha256", m.sha256},
                        {"width", m.width},
                        {"height", m.height},
                        {"orientation", m.orientation},
                        {"display_width", m.display_width},
                        {"display_height", m.display_height},
                        {"capture_time", m.capture_time},
                        {"has_gps", m.has_gps},
                        {"relabelled", m.relabelled},
                        {"filename", m.filename},
                        {"note", m.note}};
  if (media_type_is_video(m.type)) {
    nlohmann::json video = nlohmann::json::object();
    for (const auto& [k, v] : media_metadata(m)) video[k] = v;
    doc["video"] = video;
  }
  return doc;
}

void add_validate(CLI::App& app, Context& ctx) {
  struct Args {
    std::string file;
    std::string media_type = "photo";
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("validate", "Check FILE against the upload policy: verdict, real type, metadata");
  cmd->add_option("FILE", a->file, "File to validate")->required();
  cmd->add_option("--media-type", a->media_type, "What the upload claims to be (default: photo)")
      ->check(CLI::IsMember({"photo", "video"}));
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      const Config* config = ctx.config();
      if (!config) return ctx.failure_status;
      const MediaKind kind = a->media_type == "video" ? MediaKind::video : MediaKind::photo;
      const std::string name = std::filesystem::path(a->file).filename().string();
      RefusalReason reason = RefusalReason::none;
      auto r = validate_media_file(a->file, name, kind, ValidationPolicy::from_config(*config), &reason);
      if (!r.ok()) {
        const int status = exit_status_for(r.status().code());
        if (ctx.json) {
          ctx.print_json({{"file", a->file},
                          {"verdict", "refused"},
                          {"reason", refusal_reason_name(reason)},
                          {"code", error_code_name(r.status().code())},
                          {"exit_status", status},
                          {"message", r.status().message()}});
        } else {
          std::cerr << "refused: " << refusal_reason_name(reason) << " (" << error_code_name(r.status().code())
                    << "): " << r.status().message() << "\n";
        }
        return status;
      }
      const MediaInfo& m = *r;
      if (ctx.json) {
        nlohmann::json doc = info_json(m);
        doc["file"] = a->file;
        doc["verdict"] = "accepted";
        ctx.print_json(doc);
        return kExitOk;
      }
      std::cout << "accepted: " << a->file << "\n"
                << "type:     " << media_type_description(m.type) << " (" << m.mime << ")\n"
                << "size:     " << m.byte_size << " bytes\n"
                << "sha256:   " << m.sha256 << "\n";
      if (media_type_is_image(m.type)) {
        std::cout << "pixels:   " << m.width << "x" << m.height << " (shown " << m.display_width << "x"
                  << m.display_height << ", EXIF orientation " << m.orientation << ")\n"
                  << "captured: " << (m.capture_time.empty() ? "unknown" : m.capture_time) << "\n"
                  << "gps:      " << (m.has_gps ? "yes" : "no") << "\n";
      }
      if (media_type_is_video(m.type)) {
        const VideoInfo& v = m.video;
        std::cout << "pixels:   " << m.width << "x" << m.height << " (shown " << m.display_width << "x"
                  << m.display_height << ", rotation " << v.rotation << ")\n"
                  << "video:    " << v.video_codec << (v.profile.empty() ? "" : " " + v.profile) << " "
                  << v.pixel_format << (v.hdr ? " HDR (" + v.color_transfer + ")" : "") << ", "
                  << v.duration_ms / 1000.0 << " s at " << v.frame_rate << " fps\n"
                  << "audio:    " << (v.audio_codec.empty() ? "none" : v.audio_codec) << "\n"
                  << "captured: " << (m.capture_time.empty() ? "unknown" : m.capture_time) << "\n"
                  << "location: " << (m.has_gps ? "yes" : "no") << "\n";
      }
      if (m.relabelled) std::cout << "name:     " << m.filename << " (" << m.note << ")\n";
      return kExitOk;
    };
  });
}

void add_thumbs(CLI::App& app, Context& ctx) {
  struct Args {
    std::string file, outdir;
    int quality = 85;
    bool progressive = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "thumbs", "Write small.jpg, medium.jpg and large.jpg of FILE (an image, or a video's poster frame) into OUTDIR");
  cmd->add_option("FILE", a->file, "Image to thumbnail")->required();
  cmd->add_option("OUTDIR", a->outdir, "Folder for the thumbnails (created if missing)")->required();
  cmd->add_option("--quality", a->quality, "JPEG quality 1..100 (default: 85)")->check(CLI::Range(1, 100));
  cmd->add_flag("--progressive", a->progressive, "Write progressive JPEGs");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      auto specs = default_thumbnail_specs();
      for (auto& s : specs) {
        s.quality = a->quality;
        s.progressive = a->progressive;
      }
      auto thumbs = make_thumbnails_file(a->file, specs);
      if (!thumbs.ok()) return ctx.fail(thumbs.status());
      std::error_code ec;
      std::filesystem::create_directories(a->outdir, ec);
      if (ec) return ctx.fail(Status::IoError("cannot create " + a->outdir + ": " + ec.message()));
      nlohmann::json list = nlohmann::json::array();
      for (const auto& t : *thumbs) {
        const std::string path = (std::filesystem::path(a->outdir) / (t.name + ".jpg")).string();
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(t.jpeg.data(), static_cast<std::streamsize>(t.jpeg.size()));
        out.close();
        if (!out) return ctx.fail(Status::IoError("cannot write " + path));
        list.push_back(
            {{"name", t.name}, {"path", path}, {"width", t.width}, {"height", t.height}, {"bytes", t.jpeg.size()}});
        if (!ctx.json) std::cout << path << " " << t.width << "x" << t.height << " " << t.jpeg.size() << " bytes\n";
      }
      ctx.print_json({{"file", a->file}, {"thumbnails", list}});
      return kExitOk;
    };
  });
}

void register_media(CLI::App& app, Context& ctx) {
  add_validate(app, ctx);
  add_thumbs(app, ctx);
}

const Registration reg(&register_media);

}  // namespace

}  // namespace mediastore::cli
