// The README's demo: real photos through the whole pipeline on the default
// embedded setup (local backend, in-process queue).
//
//   mediastore-demo [OUTPUT_DIR] [PHOTO...]
//
// Without photos it takes real photographs from Debian's wallpaper package
// (/usr/share/backgrounds), makes a copy of one with EXIF orientation 6
// (rotated 90 degrees, as phones write portrait shots) and adds a hostile
// file: HTML named holiday.jpg. It submits them as uploads, runs a worker,
// prints each status transition with its progress, and ends with where the
// originals and thumbnails are, the refused file's reason and the stats.
#include <mediastore/mediastore.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace mediastore;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A JPEG with an EXIF APP1 segment holding only Orientation (big-endian TIFF),
// inserted right after SOI.
std::string with_exif_orientation(const std::string& jpeg, int orientation) {
  std::string tiff = std::string("MM\0\x2a", 4) + std::string("\0\0\0\x08", 4);  // header, IFD0 at 8
  tiff += std::string("\0\x01", 2);                                              // one entry
  tiff += std::string("\x01\x12\0\x03\0\0\0\x01", 8);                            // 0x0112 SHORT count 1
  tiff += static_cast<char>(0);
  tiff += static_cast<char>(orientation);
  tiff += std::string("\0\0", 2);      // value padding
  tiff += std::string("\0\0\0\0", 4);  // no next IFD
  std::string payload = std::string("Exif\0\0", 6) + tiff;
  std::size_t len = payload.size() + 2;
  std::string app1 = "\xFF\xE1";
  app1 += static_cast<char>((len >> 8) & 0xff);
  app1 += static_cast<char>(len & 0xff);
  app1 += payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

std::vector<fs::path> find_photos() {
  std::vector<fs::path> out;
  const fs::path dir = "/usr/share/backgrounds";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (ext == ".jpg" || ext == ".jpeg") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  if (out.size() > 3) out.resize(3);
  return out;
}

std::string describe(const UploadStatus& s) {
  std::string line = upload_state_name(s.state);
  if (s.state == UploadState::processing || s.state == UploadState::pending)
    line += std::string(" (") + upload_stage_name(s.stage) + ", " + std::to_string(s.progress_percentage) + "%)";
  if (s.state == UploadState::retrying) line += " (attempt " + std::to_string(s.attempt) + ": " + s.last_error + ")";
  if (s.state == UploadState::failed) line += std::string(" (") + error_code_name(s.error_code) + ")";
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path out = argc > 1 ? fs::path(argv[1]) : fs::path("demo-output");
  std::vector<fs::path> photos;
  for (int i = 2; i < argc; ++i) photos.emplace_back(argv[i]);
  if (photos.empty()) photos = find_photos();
  if (photos.empty()) {
    std::cerr << "demo: no photos given and none found in /usr/share/backgrounds "
                 "(install lomiri-wallpapers-16.04, or pass photo paths)\n";
    return 2;
  }

  std::error_code ec;
  fs::remove_all(out, ec);
  fs::create_directories(out / "inputs");

  // The inputs: the photos, one EXIF-rotated copy, one hostile file.
  struct Input {
    fs::path path;
    std::string name;
  };
  std::vector<Input> inputs;
  for (const auto& p : photos) inputs.push_back({p, p.filename().string()});
  {
    fs::path rotated = out / "inputs" / "portrait_rotated.jpg";
    write_file(rotated, with_exif_orientation(read_file(photos.front()), 6));
    inputs.push_back({rotated, "portrait_rotated.jpg"});
    fs::path hostile = out / "inputs" / "holiday.jpg";
    write_file(hostile, "<!DOCTYPE html><html><body><script>fetch('/api/keeps/?steal=1')</script></body></html>\n");
    inputs.push_back({hostile, "holiday.jpg"});
  }

  Config config;  // the embedded default: local backend, in-process queue
  config.media_root = (out / "media").string();
  config.media_url = "/media/";
  auto service = UploadService::open(config);
  if (!service.ok()) {
    std::cerr << "demo: " << service.status().to_string() << "\n";
    return 1;
  }
  auto svc = *service;

  std::cout << "libmediastore " << version() << " demo\n"
            << "  storage: local backend, MEDIA_ROOT=" << fs::absolute(config.media_root).string()
            << "\n  queue:   in-process (memory), worker with 2 threads\n\n";

  std::vector<std::pair<std::string, std::string>> ids;  // (id, name)
  for (const auto& in : inputs) {
    UploadRequest req;
    req.source_path = in.path.string();
    req.original_filename = in.name;
    req.content_type = "image/jpeg";
    req.context = {{"keep_id", "1"}, {"caption", "demo: " + in.name}};
    auto id = svc->submit_upload(req);
    if (!id.ok()) {
      std::cerr << "demo: submit " << in.name << ": " << id.status().to_string() << "\n";
      return 1;
    }
    std::cout << "submitted " << in.name << " (" << fs::file_size(in.path) << " bytes) as " << *id << "\n";
    ids.emplace_back(*id, in.name);
  }
  std::cout << "\n";

  Worker worker(svc, {.threads = 2});
  if (auto st = worker.start(); !st.ok()) {
    std::cerr << "demo: worker: " << st.to_string() << "\n";
    return 1;
  }

  // Print every change of state, stage or progress until all have ended.
  std::map<std::string, std::string> last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  for (;;) {
    bool all_done = true;
    for (const auto& [id, name] : ids) {
      auto s = svc->status(id);
      if (!s.ok()) {
        std::cerr << "demo: status " << id << ": " << s.status().to_string() << "\n";
        return 1;
      }
      std::string line = describe(*s);
      if (last[id] != line) {
        std::cout << "  " << name << ": " << line << "\n";
        last[id] = line;
      }
      if (s->state != UploadState::completed && s->state != UploadState::failed) all_done = false;
    }
    if (all_done) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "demo: uploads did not finish within 5 minutes\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  worker.stop();
  worker.wait();

  std::cout << "\nWhere everything went:\n";
  int failures_expected = 0, completed = 0;
  for (const auto& [id, name] : ids) {
    auto s = svc->status(id).value();
    if (s.state == UploadState::completed && s.result) {
      ++completed;
      const auto& r = *s.result;
      auto meta = [&](const char* k) {
        auto it = r.metadata.find(k);
        return it == r.metadata.end() ? std::string() : it->second;
      };
      std::cout << "  " << name << " -> completed\n"
                << "    original  " << r.original.width << "x" << r.original.height << "  " << r.original.bytes
                << " B  " << (fs::path(config.media_root) / r.original.key).string() << "  url " << r.original.url
                << "\n";
      for (const auto& t : r.thumbnails)
        std::cout << "    " << t.name << std::string(t.name.size() < 9 ? 10 - t.name.size() : 1, ' ') << t.width << "x"
                  << t.height << "  " << t.bytes << " B  " << (fs::path(config.media_root) / t.key).string() << "\n";
      std::cout << "    metadata  " << meta("mime") << ", orientation " << meta("orientation") << ", sha256 "
                << meta("sha256").substr(0, 16) << "...\n";
    } else {
      if (name == "holiday.jpg") ++failures_expected;
      std::cout << "  " << name << " -> " << upload_state_name(s.state) << ": " << error_code_name(s.error_code) << ": "
                << s.error_message << "\n";
    }
  }

  if (auto m = svc->metrics(); m.ok()) {
    std::cout << "\nStats: submitted " << m->submitted << ", completed " << m->completed << ", failed " << m->failed
              << ", retried " << m->retried << ", queue depth " << m->queue.ready + m->queue.delayed << ", in flight "
              << m->queue.in_flight << ", mean processing time "
              << (m->time_count ? m->time_sum_seconds / static_cast<double>(m->time_count) * 1000.0 : 0.0) << " ms\n";
  }
  bool ok = completed == static_cast<int>(ids.size()) - 1 && failures_expected == 1;
  std::cout << (ok ? "\nDemo finished: every photo stored with three thumbnails, the hostile file refused.\n"
                   : "\nDemo finished with unexpected results.\n");
  return ok ? 0 : 1;
}
